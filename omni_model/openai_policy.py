"""A `Policy` backed by an OpenAI-compatible `/v1/completions` server (vLLM, llama.cpp, Ollama...).

Spoken over plain httpx so no `openai` package is needed; pass your own `httpx.Client`
(proxies, auth, a MockTransport in tests) or let the policy make one. Each prompt's n
samples are asked for in ONE request; servers that refuse `n` or return fewer choices (Ollama
does) get n single-sample requests with distinct seeds instead.

Spec form: `openai:<base_url>#<model>`, e.g. `openai:http://127.0.0.1:8000/v1#my-model`. The
endpoint is `<base_url>/completions` when base_url ends in `/v1`, else `<base_url>/v1/completions`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import httpx

from omni_model.errors import ServerError, UnsupportedError
from omni_model.types import Completion, FinishReason, TextOnly, TextSink

DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=5.0)


class OpenAIPolicy(TextOnly):
    """Remote completions behind the `Policy` protocol: text only, whole answers (no streaming);
    `logits_processor` is not supported. The local tokenizer, if given, counts tokens exactly."""

    streams = False
    batch_by_length = False  # the server batches as it likes

    def __init__(
        self, base_url: str, model: str, client: httpx.Client | None = None, api_key: str | None = None,
        *, context_length: int = 8192, tokenizer: Any = None,
    ) -> None:
        base = base_url.rstrip("/")
        self.url = f"{base}/completions" if base.endswith("/v1") else f"{base}/v1/completions"
        self.model_name = model
        self.spec = f"openai:{base}#{model}"
        self.context_length = context_length
        # Remote models have no local weights; these exist so callers can treat policies alike.
        self.model = None
        self.device = None
        self.tokenizer = tokenizer
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=DEFAULT_TIMEOUT)
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> OpenAIPolicy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def count_tokens(self, text: str) -> int:
        """Exact with a local tokenizer, else a rough 4-characters-per-token estimate."""
        if self.tokenizer is not None:
            return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        return math.ceil(len(text) / 4)

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        if self.tokenizer is None or not getattr(self.tokenizer, "chat_template", None):
            raise UnsupportedError(
                f"{self.spec}: no local tokenizer with a chat template; pass tokenizer= to OpenAIPolicy"
            )
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def generate(
        self, prompts: list[str], *, n: int = 1, temperature: float = 0.8, top_p: float = 1.0,
        max_new_tokens: int = 128, stop: list[str] | None = None, seed: int | None = None,
        logits_processor: Any = None, on_text: TextSink | None = None,
        media: Sequence[Sequence[Any] | None] | None = None,
    ) -> list[list[Completion]]:
        self._no_media(media)
        if logits_processor is not None:
            raise UnsupportedError(
                f"{self.spec}: logits processors (constrained decoding) need a local model; "
                "a remote server cannot run them"
            )
        if isinstance(prompts, str):
            raise TypeError("prompts must be a list of strings, not a single string")
        if n < 1 or max_new_tokens < 1:
            raise ValueError(f"n and max_new_tokens must be >= 1 (got n={n}, max_new_tokens={max_new_tokens})")
        stop = [s for s in (stop or []) if s]
        return [self._sample(p, n, temperature, top_p, max_new_tokens, stop, seed) for p in prompts]

    def _sample(self, prompt: str, n: int, temperature: float, top_p: float, max_new_tokens: int,
                stop: list[str], seed: int | None) -> list[Completion]:
        body: dict[str, Any] = {
            "model": self.model_name, "prompt": prompt, "temperature": temperature, "top_p": top_p,
            "max_tokens": max_new_tokens, "logprobs": 1,
        }
        if stop:
            body["stop"] = stop
        if seed is not None:
            body["seed"] = seed
        if n > 1:
            try:
                choices = self._post({**body, "n": n})
            except ServerError as e:
                # 4xx: the server rejected the request shape (likely `n`); anything else is fatal.
                if e.status is None or not 400 <= e.status < 500:
                    raise
                choices = []
            if len(choices) >= n:
                return [self._completion(c, stop) for c in choices[:n]]
            base = seed if seed is not None else random.randrange(2**31)
            choices = [self._post({**body, "seed": base + j})[0] for j in range(n)]
            return [self._completion(c, stop) for c in choices]
        return [self._completion(self._post(body)[0], stop)]

    def _post(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            resp = self._client.post(self.url, json=body, headers=self._headers)
        except httpx.TimeoutException as e:
            raise ServerError(f"{self.url} timed out: {e}", url=self.url) from e
        except httpx.HTTPError as e:
            raise ServerError(f"cannot reach {self.url}: {type(e).__name__}: {e}", url=self.url) from e
        if resp.status_code >= 400:
            raise ServerError(
                f"{self.url} answered HTTP {resp.status_code}: {resp.text[:300]!r}",
                url=self.url, status=resp.status_code,
            )
        try:
            data = resp.json()
        except ValueError as e:
            raise ServerError(f"{self.url} answered non-JSON: {resp.text[:200]!r}", url=self.url) from e
        choices = data.get("choices") if isinstance(data, dict) else None
        if (not isinstance(choices, list) or not choices
                or not all(isinstance(c, dict) and isinstance(c.get("text"), str) for c in choices)):
            raise ServerError(
                f"{self.url} answered JSON without a list of completion choices: {str(data)[:200]!r}",
                url=self.url,
            )
        return choices

    def _completion(self, choice: dict[str, Any], stop: list[str]) -> Completion:
        text = choice["text"]
        cut = min((k for k in (text.find(s) for s in stop) if k >= 0), default=-1)
        if cut >= 0:  # some servers echo the stop string; the contract is to exclude it
            text = text[:cut]
        lp = choice.get("logprobs") if isinstance(choice.get("logprobs"), dict) else {}
        raw = lp.get("token_logprobs") if isinstance(lp.get("token_logprobs"), list) else []
        token_logprobs = [float(x) if isinstance(x, (int, float)) else float("nan") for x in raw]
        tokens = len(token_logprobs) or self.count_tokens(choice["text"])
        return Completion(text, token_logprobs, _finish_reason(choice, stop, cut >= 0), tokens)


def _finish_reason(choice: dict[str, Any], stop: list[str], cut: bool) -> FinishReason:
    if cut:  # a stop string in the text wins, as it does for local models
        return "stop"
    if choice.get("finish_reason") == "length":
        return "length"
    # OpenAI's "stop" covers both EOS and a stop string. vLLM names the match in stop_reason,
    # SGLang in matched_stop; without either, "stop" is only unambiguous when no strings were sent.
    matched = choice.get("stop_reason", choice.get("matched_stop"))
    if isinstance(matched, str) and matched in stop:
        return "stop"
    if not stop or "stop_reason" in choice or "matched_stop" in choice:
        return "eos"
    return "stop"

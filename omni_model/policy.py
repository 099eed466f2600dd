"""The local policy runtime: batched sampling with stop strings and log-probs.

`TransformersPolicy` runs a local causal LM behind the `Policy` protocol (`omni_model.types`,
re-exported here with `Completion`): all prompts x n samples go through ONE `model.generate`
call with left padding, an attention mask and the KV cache. `omni_model.load.load_policy(spec)`
picks the class a spec names.

Notes for logits processors (e.g. `omni_model.constrained`): rows are laid out prompt-major
(row i*n + j is sample j of prompt i), and because of left padding every row's prompt ends at
the same column, so at the first call `input_ids.shape[1]` is the prompt length of all rows;
the tokens generated so far are `input_ids[:, prompt_len:]`. Greedy decoding (temperature 0)
samples each prompt ONCE (n identical copies are returned), so the batch then has one row per
prompt. Rows that already finished keep receiving the pad token; their scores are ignored.

    python -m omni_model.generate_cmd --prompt "Hello"   # try it from the shell
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omni_model.errors import ModelLoadError, PromptTooLongError
from omni_model.loading import apply_adapter
from omni_model.loading import load_tokenizer as _load_tokenizer
from omni_model.spec import parse_spec, resolve_model_dir
from omni_model.types import Completion, FinishReason, Policy, TextOnly, TextSink

__all__ = ["Completion", "FinishReason", "Policy", "TransformersPolicy", "per_prompt"]


def _load_model(folder: Path, torch_dtype: Any, attn: str) -> Any:
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch_dtype, attn_implementation=attn)
    except Exception as e:  # corrupt safetensors, bad config, missing weights all surface here
        raise ModelLoadError(f"could not load model from {folder}: {type(e).__name__}: {e}") from e


class TransformersPolicy(TextOnly):
    """A local causal LM behind the `Policy` protocol: text only (its omni and image-text-to-text
    subclasses see and hear), streams, and on a CPU asks for prompts grouped by length."""

    streams = True  # generate(on_text=...) reports each row's text as it is decoded

    def __init__(self, model: Any, tokenizer: Any, *, spec: str = "<in-memory>") -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.spec = spec
        self.device = next(model.parameters()).device
        config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        self.context_length = int(getattr(config, "max_position_embeddings", None) or 2048)
        self._eos_ids = self._collect_eos_ids()
        pad = tokenizer.pad_token_id
        self._pad_id = pad if pad is not None else (self._eos_ids[0] if self._eos_ids else 0)
        # On a CPU, prompts of different lengths cost more together than apart: left padding adds
        # tokens and the padding mask takes SDPA off its fast causal path (8 prompts of 700-1800
        # tokens: 56 s batched vs 33 s one by one; 8 equal ones: 37 s either way). Callers that can
        # group their prompts by length read this (the agent does); samples of one prompt always
        # share a call, which is where batching pays on any device.
        self.batch_by_length = self.device.type == "cpu"

    @classmethod
    def from_spec(cls, spec: str, *, device: str | None = None, dtype: str | None = None) -> TransformersPolicy:
        from omni_model.device import (configure_threads, maybe_compile, pick_attn_implementation, pick_device,
                                       pick_dtype)

        configure_threads()
        dev = pick_device(device)
        torch_dtype = pick_dtype(dev, dtype)
        attn = pick_attn_implementation(dev)
        info = parse_spec(spec)
        folder = resolve_model_dir(spec)
        if info.kind == "peft_dir":
            model, tokenizer = cls._load_peft(folder, torch_dtype, attn)
        else:
            model, tokenizer = _load_model(folder, torch_dtype, attn), _load_tokenizer(folder)
        return cls(maybe_compile(model.to(dev)), tokenizer, spec=spec)

    @staticmethod
    def _load_peft(adapter_dir: Path, torch_dtype: Any, attn: str) -> tuple[Any, Any]:
        import json

        try:
            base_spec = json.loads((adapter_dir / "adapter_config.json").read_text())["base_model_name_or_path"]
        except (OSError, ValueError, KeyError) as e:
            raise ModelLoadError(f"{adapter_dir}/adapter_config.json has no readable base_model_name_or_path") from e
        if parse_spec(base_spec).kind == "peft_dir":
            raise ModelLoadError(f"adapter {adapter_dir} names another adapter ({base_spec}) as its base")
        base_dir = resolve_model_dir(base_spec)
        base = _load_model(base_dir, torch_dtype, attn)
        try:
            # Merged: the policy is an inference runtime, and merged LoRA costs nothing per token.
            model = apply_adapter(base, adapter_dir)
        except Exception as e:
            raise ModelLoadError(f"could not apply adapter {adapter_dir} to {base_spec}: {type(e).__name__}: {e}") from e
        return model, _load_tokenizer(adapter_dir, base_dir)

    def _collect_eos_ids(self) -> list[int]:
        ids: list[int] = []
        gen_eos = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        for value in (gen_eos, self.tokenizer.eos_token_id):
            for v in value if isinstance(value, list) else [value]:
                if v is not None and v not in ids:
                    ids.append(int(v))
        return ids

    def count_tokens(self, text: str) -> int:
        return len(self._encode(text))

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        if not getattr(self.tokenizer, "chat_template", None):
            raise ValueError(f"the tokenizer of {self.spec} has no chat template")
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def _encode(self, text: str) -> list[int]:
        # A rendered chat template already starts with BOS; adding another would shift the model.
        bos = self.tokenizer.bos_token
        add_special = not (bos and text.startswith(bos))
        return list(self.tokenizer(text, add_special_tokens=add_special)["input_ids"])

    def generate(
        self, prompts: list[str], *, n: int = 1, temperature: float = 0.8, top_p: float = 1.0,
        max_new_tokens: int = 128, stop: list[str] | None = None, seed: int | None = None,
        logits_processor: Any = None, on_text: TextSink | None = None,
        media: Sequence[Sequence[Any] | None] | None = None,
    ) -> list[list[Completion]]:
        """n completions for each prompt, from one batched `model.generate` call.

        ``on_text(prompt_index, sample_index, text_so_far)``, when given, is called as tokens
        arrive (from the thread running ``generate``), for live display; greedy decoding streams
        sample 0 only."""
        self._no_media(media)
        if isinstance(prompts, str):
            raise TypeError("prompts must be a list of strings, not a single string")
        if n < 1 or max_new_tokens < 1:
            raise ValueError(f"n and max_new_tokens must be >= 1 (got n={n}, max_new_tokens={max_new_tokens})")
        if temperature < 0 or not 0 < top_p <= 1:
            raise ValueError(f"need temperature >= 0 and 0 < top_p <= 1 (got {temperature}, {top_p})")
        if not prompts:
            return []
        stop = [s for s in (stop or []) if s]
        encoded = [self._encode(p) for p in prompts]
        for ids in encoded:
            if len(ids) + max_new_tokens > self.context_length:
                raise PromptTooLongError(len(ids), max_new_tokens, self.context_length)
        greedy = temperature == 0
        # Greedy samples are identical, so decode each prompt once and copy the result n times.
        reps = 1 if greedy else n
        rows = [ids for ids in encoded for _ in range(reps)]
        streamer = _TextStreamer(self.tokenizer, reps, on_text) if on_text is not None else None
        outs = self._generate_rows(rows, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                                   stop=stop, seed=seed, logits_processor=logits_processor, streamer=streamer)
        return per_prompt(outs, len(prompts), reps, n)

    def _generate_rows(
        self, rows: list[list[int]], *, temperature: float, top_p: float, max_new_tokens: int,
        stop: list[str], seed: int | None, logits_processor: Any, streamer: Any = None,
        embed: Any = None, extra_inputs: dict | None = None,
    ) -> list[Completion]:
        """``embed(input_ids)``, when given, makes the prefill's input embeddings (the omni model
        writes its media there); generation then continues from the token ids as usual.
        ``extra_inputs`` go to ``generate`` as they are (an image-text-to-text model's pixels)."""
        import torch
        from transformers import LogitsProcessorList, StoppingCriteriaList

        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), self._pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            input_ids[i, width - len(r):] = torch.tensor(r, dtype=torch.long)
            attention[i, width - len(r):] = 1
        recorder = _LogprobRecorder()
        processors = LogitsProcessorList([recorder])
        if logits_processor is not None:
            processors.extend(logits_processor if isinstance(logits_processor, list) else [logits_processor])
        criteria = StoppingCriteriaList()
        stopper = None
        if stop:
            stopper = _StopStrings(self.tokenizer, stop, width)
            criteria.append(stopper)
        sampling: dict[str, Any] = {"do_sample": False}
        if temperature > 0:
            sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": 0}
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            if seed is not None:
                torch.manual_seed(seed)
            with torch.inference_mode():
                extra = {"inputs_embeds": embed(input_ids.to(self.device))} if embed is not None else {}
                extra.update(extra_inputs or {})
                out = self.model.generate(
                    input_ids=input_ids.to(self.device), attention_mask=attention.to(self.device), **extra,
                    max_new_tokens=max_new_tokens, logits_processor=processors, stopping_criteria=criteria,
                    eos_token_id=self._eos_ids or None, pad_token_id=self._pad_id, use_cache=True,
                    return_dict_in_generate=True, streamer=streamer, **sampling,
                )
        sequences = out.sequences[:, width:].cpu()
        logprobs = recorder.finish(out.sequences)
        return [self._completion(sequences[i].tolist(), logprobs[i], stop,
                                 stopper.stopped_at.get(i) if stopper else None) for i in range(len(rows))]

    def _completion(self, ids: list[int], logprobs: list[float], stop: list[str], stopped_at: int | None) -> Completion:
        eos_at = next((k for k, t in enumerate(ids) if t in self._eos_ids), None)
        # A row that stopped on a stop string is padded afterwards (often with EOS, which
        # doubles as pad); only what was sampled up to the stop counts.
        end = len(ids)
        if stopped_at is not None:
            end = stopped_at
        if eos_at is not None and eos_at < end:
            end, hit_eos = eos_at + 1, True
        else:
            hit_eos = False
        body = ids[: end - 1] if hit_eos else ids[:end]
        text = self.tokenizer.decode(body, skip_special_tokens=False)
        cut = min((k for k in (text.find(s) for s in stop) if k >= 0), default=-1)
        reason: FinishReason
        if cut >= 0:
            text, reason = text[:cut], "stop"
        else:
            reason = "eos" if hit_eos else "length"
        return Completion(text=text, token_logprobs=logprobs[:end], finish_reason=reason, tokens=end)


def per_prompt(outs: list[Completion], prompts: int, reps: int, n: int) -> list[list[Completion]]:
    """Rows back to n completions per prompt; greedy rows (reps=1) are copied n times."""
    result = []
    for i in range(prompts):
        group = outs[i * reps:(i + 1) * reps]
        result.append(group if reps == n else [_copy(group[0]) for _ in range(n)])
    return result


def _copy(c: Completion) -> Completion:
    return Completion(c.text, list(c.token_logprobs), c.finish_reason, c.tokens)


class _TextStreamer:
    """transformers' streamer interface for a whole batch: decodes each row's new tokens as they
    come and reports ``(prompt, sample, text so far)``. (transformers' own TextStreamer takes one row.)"""

    def __init__(self, tokenizer: Any, reps: int, on_text: Any) -> None:
        self.tokenizer, self.reps, self.on_text = tokenizer, reps, on_text
        self._rows: list[list[int]] | None = None
        self._texts: list[str] = []
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if not self._prompt_seen:  # generate() first hands over the prompt ids
            self._prompt_seen = True
            return
        ids = value.reshape(-1).tolist()
        if self._rows is None:
            self._rows, self._texts = [[] for _ in ids], ["" for _ in ids]
        for row, token in enumerate(ids):
            self._rows[row].append(token)
            text = self.tokenizer.decode(self._rows[row], skip_special_tokens=True)
            # A character split across byte-level tokens decodes as U+FFFD until it is whole.
            if text != self._texts[row] and not text.endswith("\ufffd"):
                self._texts[row] = text
                self.on_text(row // self.reps, row % self.reps, text)

    def end(self) -> None:
        # Generation is over: a character still split is not going to be completed.
        for row, ids in enumerate(self._rows or []):
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            if text != self._texts[row]:
                self._texts[row] = text
                self.on_text(row // self.reps, row % self.reps, text)


class _LogprobRecorder:
    """Collects each sampled token's log-prob from the raw logits without storing every step.

    Placed first among the logits processors, so it sees the model's logits before temperature,
    top-p or constraints. At step t the token sampled at step t-1 is the last column of
    `input_ids`, so only one step's log-softmax is ever kept (instead of steps x rows x vocab).
    """

    def __init__(self) -> None:
        self._prev: Any = None
        self._cols: list[Any] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        if self._prev is not None:
            self._cols.append(self._prev.gather(1, input_ids[:, -1:]).squeeze(1))
        self._prev = torch.log_softmax(scores.float(), dim=-1)
        return scores

    def finish(self, sequences: Any) -> list[list[float]]:
        import torch

        if self._prev is not None:
            self._cols.append(self._prev.gather(1, sequences[:, -1:].to(self._prev.device)).squeeze(1))
            self._prev = None
        if not self._cols:
            return [[] for _ in range(sequences.shape[0])]
        return torch.stack(self._cols, dim=1).cpu().tolist()


class _StopStrings:
    """Stops each row once its generated text contains a stop string; records where.

    Decodes only a tail window long enough to hold the longest stop string, since every
    earlier window was already checked at an earlier step.
    """

    def __init__(self, tokenizer: Any, stop: list[str], prompt_len: int) -> None:
        self.tokenizer = tokenizer
        self.stop = stop
        self.prompt_len = prompt_len
        self.window = max(len(s) for s in stop) + 8
        self.stopped_at: dict[int, int] = {}

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        generated = input_ids.shape[1] - self.prompt_len
        start = max(self.prompt_len, input_ids.shape[1] - self.window)
        for i in range(input_ids.shape[0]):
            if i in self.stopped_at:
                done[i] = True
                continue
            tail = self.tokenizer.decode(input_ids[i, start:].tolist(), skip_special_tokens=False)
            if any(s in tail for s in self.stop):
                self.stopped_at[i] = generated
                done[i] = True
        return done

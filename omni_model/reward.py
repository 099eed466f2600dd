"""The reward model: a one-label sequence-classification head on the policy's backbones.

``load_reward_model(spec)`` accepts what ``omni_model.spec`` accepts (``smollm2-135m``, a
``.gguf`` file, a local HF folder) plus the checkpoints ``training/`` writes: a full folder, or
a PEFT adapter folder (``adapter_config.json``) whose base spec is loaded first and whose
trained head comes back through ``modules_to_save``. A backbone without a trained head gets a
head initialised from a fixed seed, so an untrained RM still scores reproducibly.

Every score reads ``prompts.reward_text(question, quotes, answer)``, the same string training
uses. Texts longer than ``max_length`` tokens lose the tails of quote extracts (never the
question or the answer); if even that does not fit, ``PromptTooLongError``.

Answers to one question over the same quotes (best-of-n's candidates, the two sides of most
comparison pairs) share their prompt: ``score_batch`` reads that prefix (question and quotes)
once, then each answer's tokens on top of its cached keys and values, expanded per answer, so
n candidates cost one prompt plus n answers instead of n prompts plus n answers. The scores equal
the plain path's (``share_prefix=False``) to float rounding.

    rm = load_reward_model("smollm2-135m")
    rm.score_batch([(question, quotes, answer_a), (question, quotes, answer_b)])
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from browser_env.text.observation import Quote
from omni_model.errors import ModelLoadError, UnknownSpecError
from omni_model.loading import apply_adapter
from omni_model.loading import load_tokenizer as _load_tokenizer
from omni_model.prompts import reward_text
from omni_model.spec import parse_spec, resolve_model_dir

HEAD_SEED = 0  # an untrained head is drawn from this seed, so two loads score alike
DEFAULT_MAX_LENGTH = 2048  # tokens; longer texts lose quote-extract tails (CPU cost grows fast)

RewardItem = tuple[str, Sequence[Quote], str]


class TransformersRewardModel:
    """A local sequence-classification model behind the ``RewardModel`` protocol (``omni_model.types``):
    scores (question, quotes, answer) triples; higher means a better answer."""

    def __init__(self, model: Any, tokenizer: Any, *, spec: str = "<in-memory>", max_length: int | None = None,
                 share_prefix: bool = True) -> None:
        self.model = model.eval()
        self.share_prefix = share_prefix
        self.tokenizer = tokenizer
        self.spec = spec
        self.device = next(model.parameters()).device
        config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        self.context_length = int(getattr(config, "max_position_embeddings", None) or DEFAULT_MAX_LENGTH)
        self.max_length = min(max_length or DEFAULT_MAX_LENGTH, self.context_length)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        if tokenizer.pad_token_id is None:
            raise ModelLoadError(f"the tokenizer of {spec} has neither a pad nor an EOS token to pad batches with")
        model.config.pad_token_id = tokenizer.pad_token_id

    def text(self, question: str, quotes: Sequence[Quote], answer: str) -> str:
        """The exact string scored for this triple (after any extract truncation)."""
        return reward_text(question, list(quotes), answer, tokenizer=self.tokenizer, max_tokens=self.max_length)

    def score(self, question: str, quotes: Sequence[Quote], answer: str) -> float:
        return self.score_batch([(question, quotes, answer)], batch_size=1)[0]

    def score_batch(self, items: Sequence[RewardItem], batch_size: int = 8, *,
                    share_prefix: bool | None = None) -> list[float]:
        """Scores in input order. Answers sharing a prompt are scored on its cached prefix (see the
        module docstring); the rest are batched by length so padding stays small."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        texts = [self.text(q, qs, a) for q, qs, a in items]
        encoded = [self._encode(t) for t in texts]
        scores: list[float] = [0.0] * len(encoded)
        plain = list(range(len(encoded)))
        if self.share_prefix if share_prefix is None else share_prefix:
            plain = self._score_shared(items, texts, encoded, scores, batch_size)
        order = sorted(plain, key=lambda i: len(encoded[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            for i, s in zip(chunk, self._forward([encoded[i] for i in chunk]), strict=True):
                scores[i] = s
        return scores

    def _score_shared(self, items: Sequence[RewardItem], texts: list[str], encoded: list[list[int]],
                      scores: list[float], batch_size: int) -> list[int]:
        """Score every group of 2+ answers with one prompt on its shared prefix, into ``scores``;
        returns the indices left for the plain path."""
        groups: dict[str, list[int]] = {}
        plain: list[int] = []
        for i, ((_, _, answer), text) in enumerate(zip(items, texts, strict=True)):
            answer = answer.strip()
            # The prefix is the text before the answer, after any quote truncation: answers whose
            # truncation differs land in different groups.
            if answer and text.endswith(answer):
                groups.setdefault(text[:len(text) - len(answer)], []).append(i)
            else:
                plain.append(i)
        for prefix, members in groups.items():
            prefix_ids = self._encode(prefix) if len(members) > 1 else []
            n = len(prefix_ids)
            # Tokens must not merge across the prefix/answer boundary, or the split would change
            # what the model reads; such answers take the plain path.
            ok = [i for i in members if n and len(encoded[i]) > n and encoded[i][:n] == prefix_ids]
            plain += [i for i in members if i not in ok]
            if len(ok) < 2:
                plain += ok
                continue
            cache = self._prefix_cache(prefix_ids)
            ok.sort(key=lambda i: len(encoded[i]))
            for start in range(0, len(ok), batch_size):
                chunk = ok[start:start + batch_size]
                for i, s in zip(chunk, self._forward_on_prefix(cache, n, [encoded[i][n:] for i in chunk]),
                                strict=True):
                    scores[i] = s
        return plain

    def _prefix_cache(self, prefix_ids: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Each layer's (keys, values) for the prefix, batch size 1."""
        ids = torch.tensor([prefix_ids], dtype=torch.long, device=self.device)
        with torch.inference_mode():
            out = self.model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=True)
        return [(layer.keys, layer.values) for layer in out.past_key_values.layers]

    def _forward_on_prefix(self, prefix: list[tuple[torch.Tensor, torch.Tensor]], n_prefix: int,
                           rows: list[list[int]]) -> list[float]:
        from transformers import DynamicCache

        b, width = len(rows), max(len(r) for r in rows)
        ids = torch.full((b, width), self.tokenizer.pad_token_id, dtype=torch.long)
        attention = torch.zeros((b, n_prefix + width), dtype=torch.long)
        attention[:, :n_prefix] = 1
        for i, r in enumerate(rows):
            ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)  # right padding, as in _forward
            attention[i, n_prefix:n_prefix + len(r)] = 1
        # A fresh cache per chunk: a forward pass appends to it. expand() copies nothing; the
        # concatenation inside the attention makes each row's copy.
        cache = DynamicCache(ddp_cache_data=[(k.expand(b, -1, -1, -1), v.expand(b, -1, -1, -1)) for k, v in prefix])
        with torch.inference_mode():
            logits = self.model(input_ids=ids.to(self.device), attention_mask=attention.to(self.device),
                                past_key_values=cache, use_cache=True).logits
        return logits[:, 0].float().cpu().tolist()

    def _encode(self, text: str) -> list[int]:
        # Quotes and answers are untrusted text: a literal "<|im_end|>" in them must stay
        # characters, or it would read as the pad token and move the pooled position.
        return list(self.tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"])

    def _forward(self, rows: list[list[int]]) -> list[float]:
        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            # Right padding: the classifier pools the last token that is not the pad token.
            ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)
            attention[i, :len(r)] = 1
        with torch.inference_mode():
            logits = self.model(input_ids=ids.to(self.device), attention_mask=attention.to(self.device)).logits
        return logits[:, 0].float().cpu().tolist()

    def save(self, folder: str | Path) -> Path:
        """Write a full checkpoint that ``load_reward_model(folder)`` reads back."""
        folder = Path(folder)
        self.model.save_pretrained(str(folder))
        self.tokenizer.save_pretrained(str(folder))
        return folder


def _load_classifier(folder: Path, torch_dtype: Any, *, head_from_adapter: bool = False) -> Any:
    """The backbone with a one-label head. ``head_from_adapter``: an adapter about to be applied
    carries the trained head, so transformers' report that the base has none would only mislead."""
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    if not (folder / "config.json").is_file():
        raise ModelLoadError(f"{folder} has no config.json: not a model folder")
    verbosity = hf_logging.get_verbosity()
    if head_from_adapter:
        hf_logging.set_verbosity_error()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(HEAD_SEED)
            return AutoModelForSequenceClassification.from_pretrained(str(folder), num_labels=1, dtype=torch_dtype)
    except Exception as e:  # corrupt safetensors, bad config, missing weights all surface here
        raise ModelLoadError(f"could not load a reward model from {folder}: {type(e).__name__}: {e}") from e
    finally:
        hf_logging.set_verbosity(verbosity)


def _load_adapter(adapter_dir: Path, torch_dtype: Any) -> tuple[Any, Any]:
    try:
        base_spec = json.loads((adapter_dir / "adapter_config.json").read_text())["base_model_name_or_path"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelLoadError(f"{adapter_dir}/adapter_config.json has no readable base_model_name_or_path") from e
    if not base_spec or parse_spec(base_spec).kind in ("peft_dir", "openai"):
        raise ModelLoadError(f"adapter {adapter_dir} names {base_spec!r} as its base, which is not a backbone")
    base_dir = resolve_model_dir(base_spec)
    base = _load_classifier(base_dir, torch_dtype, head_from_adapter=True)
    try:
        model = apply_adapter(base, adapter_dir)
    except Exception as e:
        raise ModelLoadError(f"could not apply adapter {adapter_dir} to {base_spec}: {type(e).__name__}: {e}") from e
    return model, _load_tokenizer(adapter_dir, base_dir)


def load_reward_model(spec: str, *, device: str | None = None, dtype: str | None = None,
                      max_length: int | None = None) -> TransformersRewardModel:
    """Load a reward model from a backbone spec or a trained RM folder; raises ModelLoadError."""
    from omni_model.device import configure_threads, pick_device, pick_dtype

    info = parse_spec(spec)
    if info.kind == "openai":
        raise UnknownSpecError(f"{spec!r} names a remote server; a reward model needs local weights")
    configure_threads()
    dev = pick_device(device)
    torch_dtype = pick_dtype(dev, dtype)
    folder = resolve_model_dir(spec)
    if info.kind == "peft_dir":
        model, tokenizer = _load_adapter(folder, torch_dtype)
    else:
        model, tokenizer = _load_classifier(folder, torch_dtype), _load_tokenizer(folder)
    return TransformersRewardModel(model.to(dev), tokenizer, spec=spec, max_length=max_length)

"""The two model seams: what the agent may ask of a ``Policy`` and of a ``RewardModel``.

Every capability a caller acts on is declared here and set by every policy class (the local
``TransformersPolicy`` and its omni and image-text-to-text kinds, ``OpenAIPolicy``,
``ScriptedPolicy``), so callers read attributes instead of probing with ``getattr`` or
``inspect``. ``TextOnly`` holds the answers of a policy that neither sees nor hears.

Light on purpose (no torch, no transformers): the agent imports it for its types.

    policy.tokenizer is not None   # local tokens: constrained decoding, exact prompt budgets
    policy.accepts_media           # generate(media=...) and prepare_image take pictures
    policy.hearings                # ways it writes speech down itself; () : the agent's Whisper does
    policy.streams                 # generate(on_text=...) reports text as it is written
    policy.batch_by_length         # prompts of unequal length cost more together (a CPU)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from browser_env.text.observation import Quote
from omni_model.errors import UnsupportedError

FinishReason = Literal["stop", "length", "eos"]
Hearing = Literal["whisper", "lm"]  # who writes speech down: Whisper's decoder, or the language model itself
TextSink = Callable[[int, int, str], None]  # (prompt index, sample index, text so far)


@dataclass
class Completion:
    """One sampled continuation.

    `tokens` counts every token the model sampled for it, including the EOS token or the
    tokens that spelled a stop string; `token_logprobs` has one entry per such token: the
    log-probability under the model's own distribution (temperature 1, before top-p and
    before any logits processor), taken from the raw logits. `text` excludes EOS and is cut
    before the first stop string.
    """

    text: str
    token_logprobs: list[float]
    finish_reason: FinishReason
    tokens: int

    @property
    def logprob(self) -> float:
        return float(sum(self.token_logprobs))


@runtime_checkable
class Policy(Protocol):
    """A language model that browses and answers: batched sampling plus the capabilities below."""

    spec: str  # what loaded it (``omni_model.spec``), for messages and reports
    context_length: int  # tokens a prompt and its completion may take together
    # The local tokenizer, or None (a remote or scripted policy). With one, the agent decodes under
    # logits processors (command grammar, extractive answers) and cuts prompts to exact budgets.
    tokenizer: Any | None
    accepts_media: bool  # generate(media=...) and prepare_image take pictures (and, if it hears, speech)
    image_tokens: int  # context positions one picture fills (0 for a policy that does not see)
    hearings: tuple[Hearing, ...]  # the ways transcribe can write speech down; () : it does not hear
    streams: bool  # generate calls on_text as text arrives; otherwise on_text is never called
    batch_by_length: bool  # prompts of unequal length cost more in one call than apart: group them

    def generate(
        self, prompts: list[str], *, n: int = 1, temperature: float = 0.8, top_p: float = 1.0,
        max_new_tokens: int = 128, stop: list[str] | None = None, seed: int | None = None,
        logits_processor: Any = None, on_text: TextSink | None = None,
        media: Sequence[Sequence[Any] | None] | None = None,
    ) -> list[list[Completion]]:
        """``n`` completions per prompt. A policy that cannot run ``logits_processor`` or take
        ``media`` raises ``UnsupportedError``; ``media[i]`` lists prompt i's items in marker order."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str: ...

    def prepare_image(self, item: Any) -> Any:
        """A picture (path, bytes, PIL image) as this policy takes it, checked once up front."""
        ...

    def transcribe(self, audio: Any, *, hearing: Hearing | None = None, max_new_tokens: int = 64) -> str:
        """What is said in ``audio``, written down the ``hearing`` way (None: the policy's default)."""
        ...


class TextOnly:
    """What a policy that reads and writes only text says to pictures and speech: no."""

    spec: str
    accepts_media: bool = False
    image_tokens: int = 0
    hearings: tuple[Hearing, ...] = ()

    def prepare_image(self, item: Any) -> Any:
        raise UnsupportedError(f"the policy {self.spec} reads text only and cannot take pictures")

    def transcribe(self, audio: Any, *, hearing: Hearing | None = None, max_new_tokens: int = 64) -> str:
        raise UnsupportedError(f"the policy {self.spec} has no audio encoder: it cannot hear")

    def _no_media(self, media: Sequence[Sequence[Any] | None] | None) -> None:
        """For ``generate``: media given to a text policy is the caller's bug, not something to drop."""
        if media is not None and any(media):
            raise UnsupportedError(f"the policy {self.spec} reads text only and cannot take media")


@runtime_checkable
class RewardModel(Protocol):
    """Scores ``(question, quotes, answer)`` triples; higher is a better answer (best-of-n picks the top)."""

    def score_batch(self, items: Sequence[tuple[str, Sequence[Quote], str]], batch_size: int = 8) -> list[float]:
        """Scores in input order."""
        ...

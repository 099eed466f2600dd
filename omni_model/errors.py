"""The exceptions omni_model raises when the world (a file, a server, a prompt) is at fault.

Bugs raise ordinary Python exceptions; these say "your input or your server is wrong" and
always wrap the underlying cause (`raise ModelLoadError(...) from e`).
"""

from __future__ import annotations


class OmniModelError(Exception):
    """Base class for every error omni_model raises on bad input or a failing backend."""


class UnknownSpecError(OmniModelError, ValueError):
    """A model spec that is neither a known name, a path, an `openai:` URL nor a Hub id."""


class ModelLoadError(OmniModelError):
    """A model or tokenizer could not be loaded: missing file, corrupt weights, offline Hub."""


class ServerError(OmniModelError):
    """An OpenAI-compatible server was unreachable, failed, or answered in an unexpected shape."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None):
        super().__init__(message)
        self.url = url
        self.status = status


class PromptTooLongError(OmniModelError, ValueError):
    """A prompt does not fit in the context window together with the requested new tokens."""

    def __init__(self, prompt_tokens: int, max_new_tokens: int, context_length: int):
        super().__init__(
            f"prompt is {prompt_tokens} tokens; with max_new_tokens={max_new_tokens} it needs "
            f"{prompt_tokens + max_new_tokens} but the context length is {context_length} "
            f"(at most {context_length - max_new_tokens} prompt tokens fit)"
        )
        self.prompt_tokens = prompt_tokens
        self.max_new_tokens = max_new_tokens
        self.context_length = context_length


class UnsupportedError(OmniModelError):
    """A feature the chosen backend cannot provide (e.g. a logits processor on a remote server)."""

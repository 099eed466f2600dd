"""The last line every benchmark prints: its figures as ``key=value`` pairs, floats rounded."""

from __future__ import annotations


def last_line(keys: dict[str, object], digits: int = 2) -> str:
    return " ".join(f"{k}={v:.{digits}f}" if isinstance(v, float) else f"{k}={v}" for k, v in keys.items())

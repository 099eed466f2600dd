"""Device, dtype, attention kernel and CPU thread choices for local models.

Defaults follow measurements on the 2-core CPU boxes this project targets (see
/work/shared/notes/platform.md): fp32 on CPU (bf16 prefill is 2.5x slower there), bf16 on
CUDA. Torch threads: on machines with at most 2 cores we default to ONE thread, because the
agent always shares the CPU with Chromium and two spinning OpenMP threads collapse decoding
speed (21 -> 4 tok/s) under contention, while one thread loses only ~35% when alone.
Override with `WEBQA_TORCH_THREADS=<n>`.
"""

from __future__ import annotations

import importlib.util
import os

# OpenMP reads this once at library load; set it before torch is imported anywhere we can.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

_DTYPES = {
    "fp32": torch.float32, "float32": torch.float32,
    "bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
    "fp16": torch.float16, "float16": torch.float16, "half": torch.float16,
}
_threads_configured = False


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """`device` if given (validated), else CUDA when available, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as e:
        raise ValueError(f"unknown device {device!r}: {e}") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available on this machine")
    return dev


def pick_dtype(device: torch.device, dtype: str | torch.dtype | None = None) -> torch.dtype:
    """`dtype` if given ('fp32', 'bf16', 'fp16' or a torch.dtype), else bf16 on CUDA, fp32 elsewhere."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype is None or dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    try:
        return _DTYPES[dtype.lower()]
    except KeyError as e:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {sorted(_DTYPES)}") from e


def pick_attn_implementation(device: torch.device) -> str:
    """flash_attention_2 on CUDA when the package is installed, else PyTorch SDPA."""
    if device.type == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def default_num_threads() -> int:
    env = os.environ.get("WEBQA_TORCH_THREADS")
    if env:
        try:
            n = int(env)
        except ValueError as e:
            raise ValueError(f"WEBQA_TORCH_THREADS must be a positive integer, got {env!r}") from e
        if n < 1:
            raise ValueError(f"WEBQA_TORCH_THREADS must be a positive integer, got {env!r}")
        return n
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    # Leave one core to the browser on small machines; large machines keep torch's own choice.
    return 1 if cores <= 2 else max(1, min(cores - 1, torch.get_num_threads()))


def configure_threads(num_threads: int | None = None) -> int:
    """Set torch's intra-op thread count (once per process unless given explicitly); returns it."""
    global _threads_configured
    if num_threads is None and _threads_configured:
        return torch.get_num_threads()
    n = num_threads if num_threads is not None else default_num_threads()
    torch.set_num_threads(n)
    _threads_configured = True
    return n


def maybe_compile(model: torch.nn.Module) -> torch.nn.Module:
    """``torch.compile`` the model's forward when ``WEBQA_TORCH_COMPILE=1`` (worth it on a GPU for
    long runs; the first calls pay the compilation). Shapes vary with every batch, hence dynamic."""
    if os.environ.get("WEBQA_TORCH_COMPILE", "").lower() in ("1", "true", "yes"):
        model.forward = torch.compile(model.forward, dynamic=True)
    return model

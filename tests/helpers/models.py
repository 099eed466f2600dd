"""Tiny models for tests: a byte-level BPE tokenizer, random Llamas built from one config, media files.

    tok = make_tiny_tokenizer()
    policy = TransformersPolicy(tiny_llama(tok), tok)
    folder = save_tiny_llama(tmp_path / "lm", tok, max_positions=2048)

Every tiny Llama has the same shape (hidden 32, two layers, four heads); tests vary only what
they need (context length, seed, head, extra vocabulary). transformers, torch, numpy and PIL
are imported inside the builders, so importing this module costs nothing.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any, Literal

from browser_env.text.grammar import help_text

CHATML = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
CORPUS = [
    help_text(),
    "Search why is the sky blue\nClicked on link 12\nQuote: the quick brown fox\nScrolled down 2\nEnd: Answer\n",
    "The quick brown fox jumps over the lazy dog. Rayleigh scattering makes the sky blue [1].\n\n",
    "Question Quotes Past actions Title Scrollbar Text Next action Answer page text data instructions",
]


def make_tiny_tokenizer(*, chat: bool = True, vocab_size: int = 700):
    """A real fast tokenizer (byte-level BPE, like SmolLM2's) small enough to train per test."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 5, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|im_end|>",
                                   bos_token="<|endoftext|>")
    if chat:
        fast.chat_template = CHATML
    return fast


def tiny_llama_config(tokenizer: Any, *, max_positions: int = 512, extra_vocab: int = 0, **overrides: Any) -> Any:
    """The one tiny Llama shape, sized to ``tokenizer`` (plus ``extra_vocab`` ids it never writes)."""
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=len(tokenizer) + extra_vocab, hidden_size=32, intermediate_size=64,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       max_position_embeddings=max_positions, pad_token_id=tokenizer.pad_token_id,
                       eos_token_id=tokenizer.eos_token_id, **overrides)


def tiny_llama(tokenizer: Any, *, seed: int = 0, head: Literal["causal", "classifier"] = "causal",
               **config: Any) -> Any:
    """A random tiny Llama, the same weights for the same seed and config."""
    import torch
    from transformers import LlamaForCausalLM, LlamaForSequenceClassification

    cfg = tiny_llama_config(tokenizer, **config)
    torch.manual_seed(seed)
    return (LlamaForCausalLM if head == "causal" else LlamaForSequenceClassification)(cfg)


def save_tiny_llama(folder: str | Path, tokenizer: Any | None = None, **kw: Any) -> str | Path:
    """``tiny_llama`` saved as a Hugging Face folder with its tokenizer (``make_tiny_tokenizer`` by default)."""
    tokenizer = tokenizer if tokenizer is not None else make_tiny_tokenizer()
    tiny_llama(tokenizer, **kw).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def write_wav(path, seconds=0.5, rate=22050, freq=440.0):
    """A mono 16-bit PCM sine tone."""
    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def write_png(path, colour=(255, 0, 0), size=(40, 24)):
    """A solid-colour RGB picture."""
    from PIL import Image

    Image.new("RGB", size, colour).save(path)
    return path


def tiny_policy(tokenizer: Any, extra_vocab: int = 0) -> Any:
    """A ``TransformersPolicy`` over ``tiny_llama`` (seed 0), in memory."""
    from omni_model.policy import TransformersPolicy

    return TransformersPolicy(tiny_llama(tokenizer, extra_vocab=extra_vocab), tokenizer)


def write_ct2(path, variables: dict) -> None:
    """A CTranslate2 model file (``model.bin``, version 6) holding ``variables`` (name -> numpy array)."""
    import struct

    import numpy as np

    def string(s):
        b = s.encode() + b"\0"
        return struct.pack("<H", len(b)) + b

    out = struct.pack("<I", 6) + string("WhisperSpec") + struct.pack("<II", 1, len(variables))
    for name, arr in variables.items():
        arr = np.ascontiguousarray(arr)
        dtype = {np.dtype(np.float16): 4, np.dtype(np.float32): 0, np.dtype(np.int16): 2}[arr.dtype]
        out += string(name) + struct.pack("<B", arr.ndim) + struct.pack("<" + "I" * arr.ndim, *arr.shape)
        out += struct.pack("<BI", dtype, arr.nbytes) + arr.tobytes()
    path.write_bytes(out + struct.pack("<I", 0))

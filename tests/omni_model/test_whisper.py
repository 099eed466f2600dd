"""Whisper's decoder: CT2 weights load into ours, the 30 s window is padded as Whisper's feature
extractor pads it, and the embedded Whisper tiny.en writes down a question spoken by espeak-ng."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import torch

from omni_model.errors import ModelLoadError
from omni_model.media import log_mel
from omni_model.omni import OmniConfig
from omni_model.whisper import WINDOW_FRAMES, WhisperDecoder, WhisperTranscriber, load_ct2_decoder
from tests.helpers.models import save_tiny_llama, write_ct2, write_wav

NAMES = (("self_norm", "self_attention/layer_norm"), ("qkv", "self_attention/linear_0"),
         ("self_out", "self_attention/linear_1"), ("cross_norm", "attention/layer_norm"),
         ("q", "attention/linear_0"), ("kv", "attention/linear_1"), ("cross_out", "attention/linear_2"),
         ("ffn_norm", "ffn/layer_norm"), ("ffn_in", "ffn/linear_0"), ("ffn_out", "ffn/linear_1"))


def test_ct2_decoder_weights_load_into_ours(tmp_path):
    torch.manual_seed(0)
    ref = WhisperDecoder(vocab=50, dim=32, layers=2, heads=2, max_positions=16)
    state = ref.state_dict()
    variables = {"decoder/embeddings/weight": state["embed.weight"], "decoder/num_heads": np.array(2, np.int16),
                 "decoder/position_encodings/encodings": state["positions"],
                 "decoder/layer_norm/gamma": state["norm.weight"], "decoder/layer_norm/beta": state["norm.bias"]}
    for i in range(2):
        for ours, theirs in NAMES:
            norm = theirs.endswith("layer_norm")
            variables[f"decoder/layer_{i}/{theirs}/{'gamma' if norm else 'weight'}"] = state[f"blocks.{i}.{ours}.weight"]
            variables[f"decoder/layer_{i}/{theirs}/{'beta' if norm else 'bias'}"] = state[f"blocks.{i}.{ours}.bias"]
    variables = {k: v if isinstance(v, np.ndarray) else v.numpy().astype(np.float16) for k, v in variables.items()}
    write_ct2(tmp_path / "model.bin", variables)
    dec = load_ct2_decoder(tmp_path)
    ref.half().float()  # compare against the same fp16 rounding the file holds
    tokens, enc = torch.tensor([[1, 7, 3]]), torch.randn(1, 10, 32)
    torch.testing.assert_close(dec(tokens, dec.cross_keys(enc)), ref(tokens, ref.cross_keys(enc)))
    assert dec(tokens, dec.cross_keys(enc)).shape == (1, 50)  # the last position's logits over the vocabulary


def test_a_model_without_a_decoder_is_refused(tmp_path):
    write_ct2(tmp_path / "model.bin", {"encoder/conv1/weight": np.zeros((4, 80, 3), np.float16)})
    with pytest.raises(ModelLoadError, match="Whisper decoder"):
        load_ct2_decoder(tmp_path)


def test_the_window_is_padded_as_whisper_pads_it():
    from transformers import WhisperFeatureExtractor

    rng = np.random.default_rng(0)
    samples = (0.1 * rng.standard_normal(16_000 * 2)).astype(np.float32)
    full = WhisperFeatureExtractor()(samples, sampling_rate=16_000, return_tensors="np")["input_features"][0]
    clip = log_mel(samples)
    np.testing.assert_allclose(clip.window.numpy(), full, atol=1e-6)  # kept whole by the feature extractor
    window = WhisperTranscriber.window(clip.mel)  # rebuilt from the clip's frames alone
    assert window.shape == (80, WINDOW_FRAMES)
    edge = clip.mel.shape[-1]  # the two frames whose STFT windows straddle the clip's end differ
    np.testing.assert_allclose(window[:, :edge].numpy(), full[:, :edge], atol=1e-6)
    np.testing.assert_allclose(window[:, edge + 2:].numpy(), full[:, edge + 2:], atol=1e-5)


def test_hearing_is_checked_and_a_scratch_encoder_hears_with_the_lm():
    assert OmniConfig().hears_with_whisper
    assert not OmniConfig(audio_encoder="scratch").hears_with_whisper
    assert not OmniConfig(hearing="lm").hears_with_whisper
    with pytest.raises(ValueError, match="hearing"):
        OmniConfig(hearing="ears")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt install espeak-ng)")
def test_the_embedded_whisper_writes_down_spoken_questions(tmp_path):
    from omni_model.media import synthesize_speech
    from omni_model.whisper import default_transcriber

    whisper = default_transcriber()
    for k, question in enumerate(["Why is the sky blue?", "How do vaccines train the immune system?"]):
        heard = whisper.transcribe(synthesize_speech(question, tmp_path / f"q{k}.wav", words_per_minute=130))
        said = _words(question)
        assert sum(w in _words(heard) for w in said) >= len(said) - 1, (question, heard)


def test_silence_and_a_bare_tone_are_not_heard_as_words(tmp_path):
    from omni_model.whisper import default_transcriber

    whisper = default_transcriber()
    assert whisper.transcribe((16_000, np.zeros(32_000, dtype=np.float32))) == ""
    assert whisper.transcribe(write_wav(tmp_path / "tone.wav", seconds=2.0)) == ""


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt install espeak-ng)")
def test_an_omni_model_hears_through_its_own_frozen_whisper_encoder(tmp_path):
    from omni_model.media import synthesize_speech
    from omni_model.omni_policy import OmniPolicy

    lm = save_tiny_llama(tmp_path / "lm", max_positions=2048)
    config = OmniConfig(lm_spec=str(lm), train_audio_encoder=False, image_size=32, image_patch=8, image_dim=16,
                        image_layers=1, image_heads=2, image_grid=2)
    policy = OmniPolicy.fresh(str(lm), config, device="cpu")
    assert policy.whisper.encoder is policy.omni.encoders["audio"]  # one encoder, shared by both ways to hear
    wav = synthesize_speech("How do vaccines train the immune system?", tmp_path / "q.wav", words_per_minute=130)
    assert "vaccines train the immune system" in policy.transcribe(wav).lower()
    policy.config.hearing = "lm"  # the tiny random LM writes something, through the projected features
    assert isinstance(policy.transcribe(wav, max_new_tokens=4), str)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt install espeak-ng)")
def test_a_beam_of_one_is_greedy_decoding(tmp_path):
    from omni_model.media import load_audio, synthesize_speech
    from omni_model.whisper import default_transcriber

    whisper = default_transcriber()
    wav = synthesize_speech("Why do cats purr when they are happy?", tmp_path / "q.wav")
    cross = whisper.decoder.cross_keys(whisper.encoder(load_audio(wav).window[None]))
    tokens = list(whisper.prompt)
    with torch.no_grad():
        for step in range(40):  # the plain greedy loop, written out
            logits = whisper.decoder(torch.tensor([tokens]), cross)[0]
            logits[whisper._suppress] = float("-inf")
            if step == 0:
                logits[whisper._suppress_begin] = float("-inf")
            if int(logits.argmax()) == whisper.eot:
                break
            tokens.append(int(logits.argmax()))
    greedy = whisper.tokenizer.decode(tokens[len(whisper.prompt):], skip_special_tokens=True).strip()
    assert whisper.transcribe(wav, beam_size=1, max_new_tokens=40) == greedy
    assert "cats" in whisper.transcribe(wav).lower()  # the default beam of 5

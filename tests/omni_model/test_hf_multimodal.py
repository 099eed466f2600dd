"""Hugging Face multimodal checkpoints through ``load_policy``: tiny random-init Qwen2-VL, Qwen2.5-VL and
Qwen2.5-Omni folders, built and saved locally, loaded without torchvision."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omni_model import load_policy
from omni_model.media import Audio, MediaError, load_audio
from omni_model.omni import AUDIO_MARK, IMAGE_MARK
from tests.helpers.models import make_tiny_tokenizer, write_png, write_wav

TEXT = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            max_position_embeddings=2048, rope_parameters={"rope_type": "default", "mrope_section": [1, 1, 2],
                                                           "rope_theta": 10000.0})
QWEN_VL_TOKENS = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
OMNI_TOKENS = {"image_token": "<|IMAGE|>", "audio_token": "<|AUDIO|>", "video_token": "<|VIDEO|>",
               "vision_bos_token": "<|vision_bos|>", "vision_eos_token": "<|vision_eos|>",
               "audio_bos_token": "<|audio_bos|>", "audio_eos_token": "<|audio_eos|>"}


def _image_processor():
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    # At most 56x56 pixels: 4x4 patches of 14, 4 image positions after the 2x2 merge.
    return Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=56 * 56, patch_size=14, merge_size=2,
                                    temporal_patch_size=2)


def _text_config(tok):
    return dict(TEXT, vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                pad_token_id=tok.pad_token_id)


def build_qwen_vl(folder, family: str):
    """A Qwen2-VL or Qwen2.5-VL folder laid out as on the Hub: weights, tokenizer, preprocessor_config.json."""
    import transformers

    tok = make_tiny_tokenizer()
    tok.add_special_tokens({"additional_special_tokens": QWEN_VL_TOKENS})
    ids = dict(zip(("vision_start_token_id", "vision_end_token_id", "image_token_id", "video_token_id"),
                   tok.convert_tokens_to_ids(QWEN_VL_TOKENS)))
    vision = dict(depth=2, hidden_size=32, num_heads=2, patch_size=14, spatial_merge_size=2, temporal_patch_size=2)
    if family == "qwen2_vl":
        config_cls, model_cls = transformers.Qwen2VLConfig, transformers.Qwen2VLForConditionalGeneration
        vision["embed_dim"] = 16
    else:
        config_cls, model_cls = transformers.Qwen2_5_VLConfig, transformers.Qwen2_5_VLForConditionalGeneration
        vision.update(hidden_size=16, intermediate_size=32, out_hidden_size=32, window_size=56,
                      fullatt_block_indexes=[1])
    torch.manual_seed(0)
    model_cls(config_cls(text_config=_text_config(tok), vision_config=vision, **ids)).save_pretrained(folder)
    tok.save_pretrained(folder)
    _image_processor().save_pretrained(folder)
    return folder


def omni_tokenizer():
    from transformers import PreTrainedTokenizerFast

    base = make_tiny_tokenizer()
    base.add_special_tokens({"additional_special_tokens": list(OMNI_TOKENS.values())})
    # Named, as Qwen2.5-Omni's tokenizer names them: its processor reads tokenizer.image_token and the like.
    return PreTrainedTokenizerFast(tokenizer_object=base.backend_tokenizer, bos_token=base.bos_token,
                                   eos_token=base.eos_token, pad_token=base.pad_token,
                                   chat_template=base.chat_template, model_specific_special_tokens=OMNI_TOKENS)


def build_omni(folder):
    """A Qwen2.5-Omni folder: thinker weights under ``thinker.`` plus a stray talker tensor, and its processor."""
    from safetensors.torch import load_file, save_file
    from transformers import (Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration, Qwen2_5OmniProcessor,
                              WhisperFeatureExtractor)

    from omni_model.hf_multimodal import _without_video

    tok = omni_tokenizer()
    token_id = tok.convert_tokens_to_ids
    thinker = dict(
        text_config=_text_config(tok),
        vision_config=dict(depth=2, hidden_size=16, intermediate_size=32, num_heads=2, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2, window_size=56, out_hidden_size=32,
                           fullatt_block_indexes=[1]),
        audio_config=dict(num_mel_bins=128, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=32,
                          d_model=16, output_dim=32, n_window=100, max_source_positions=1500),
        audio_token_index=token_id("<|AUDIO|>"), image_token_index=token_id("<|IMAGE|>"),
        video_token_index=token_id("<|VIDEO|>"), audio_start_token_id=token_id("<|audio_bos|>"),
        audio_end_token_id=token_id("<|audio_eos|>"), vision_start_token_id=token_id("<|vision_bos|>"),
        vision_end_token_id=token_id("<|vision_eos|>"))
    torch.manual_seed(0)
    Qwen2_5OmniForConditionalGeneration(Qwen2_5OmniConfig(thinker_config=thinker, enable_audio_output=False)) \
        .save_pretrained(folder)
    weights = load_file(str(folder / "model.safetensors"))
    weights["talker.model.embed_tokens.weight"] = torch.zeros(4, 4)  # a real checkpoint also holds the talker
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    # The processor class itself needs a video processor (torchvision) to be built, hence the one without.
    processor = _without_video(Qwen2_5OmniProcessor)(image_processor=_image_processor(),
                                                     feature_extractor=WhisperFeatureExtractor(feature_size=128),
                                                     tokenizer=tok)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("media")
    return {"red": write_png(d / "red.png"), "blue": write_png(d / "blue.png", (0, 0, 255), size=(60, 60)),
            "tone": write_wav(d / "tone.wav"), "low": write_wav(d / "low.wav", freq=120.0, rate=16000)}


@pytest.fixture(scope="module", params=["qwen2_vl", "qwen2_5_vl"])
def vl_policy(request, tmp_path_factory):
    return load_policy(str(build_qwen_vl(tmp_path_factory.mktemp(request.param), request.param)), device="cpu")


@pytest.fixture(scope="module")
def omni_policy(tmp_path_factory):
    return load_policy(str(build_omni(tmp_path_factory.mktemp("omni"))), device="cpu")


def first_logprob(policy, prompt, items):
    return policy.generate([prompt], media=[items], max_new_tokens=1, temperature=0)[0][0].token_logprobs[0]


def test_qwen_vl_folder_loads_without_torchvision_and_sees(vl_policy, media):
    from omni_model.hf_multimodal import HFMultimodalPolicy
    from omni_model.hf_omni import HFOmniPolicy

    assert isinstance(vl_policy, HFMultimodalPolicy) and not isinstance(vl_policy, HFOmniPolicy)
    assert vl_policy.placeholders[IMAGE_MARK] == "<|vision_start|><|image_pad|><|vision_end|>"
    assert not hasattr(vl_policy.processor, "video_processor")
    # A 1280x800 screenshot shrinks to 28x56 pixels under max_pixels: 2x4 patches, 2 after the 2x2 merge,
    # plus the start and end tokens.
    assert vl_policy.config.image_tokens == 2 + 2
    text = vl_policy.generate(["Question: why?"], max_new_tokens=3, temperature=0)
    assert text[0][0].tokens >= 1
    prompt = f"Look {IMAGE_MARK} now, then"
    red, blue = first_logprob(vl_policy, prompt, [media["red"]]), first_logprob(vl_policy, prompt, [media["blue"]])
    assert red != pytest.approx(blue, abs=1e-6)  # it sees the picture
    with pytest.raises(MediaError, match="not speech"):
        vl_policy.generate([prompt], media=[[load_audio(media["tone"])]], max_new_tokens=2, temperature=0)
    assert vl_policy.hearings == ()  # it does not hear: the agent asks Whisper instead


def test_qwen_vl_mixed_batch_matches_single_prompts(vl_policy, media):
    prompt = f"Look {IMAGE_MARK} now, then"
    out = vl_policy.generate([prompt, "a plain one that is a little longer than the other"],
                             media=[[media["red"]], None], n=2, max_new_tokens=3, temperature=0.5, seed=0)
    assert len(out) == 2 and all(len(group) == 2 for group in out)
    greedy = vl_policy.generate(["Question: why is the sky blue today?", prompt], media=[None, [media["red"]]],
                                max_new_tokens=1, temperature=0)
    # Left padding moves the picture's row; its M-RoPE positions and token types must move with it.
    assert greedy[1][0].token_logprobs[0] == pytest.approx(first_logprob(vl_policy, prompt, [media["red"]]), abs=1e-4)
    with pytest.raises(ValueError, match="markers"):
        vl_policy.generate([prompt], media=[[media["red"], media["blue"]]])


def test_qwen_omni_folder_loads_the_thinker_that_sees_and_hears(omni_policy, media):
    from safetensors.torch import load_file
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    from omni_model.hf_omni import HFOmniPolicy

    assert isinstance(omni_policy, HFOmniPolicy)
    assert isinstance(omni_policy.model, Qwen2_5OmniThinkerForConditionalGeneration)
    saved = load_file(f"{omni_policy.spec}/model.safetensors")  # the thinker's weights, not a fresh init
    assert torch.equal(omni_policy.model.lm_head.weight, saved["thinker.lm_head.weight"])
    assert torch.equal(omni_policy.model.model.audio_tower.conv1.weight, saved["thinker.audio_tower.conv1.weight"])
    assert omni_policy.placeholders == {IMAGE_MARK: "<|vision_bos|><|IMAGE|><|vision_eos|>",
                                        AUDIO_MARK: "<|audio_bos|><|AUDIO|><|audio_eos|>"}
    assert omni_policy.generate(["Question: why?"], max_new_tokens=3, temperature=0)[0][0].tokens >= 1
    seen = f"Look {IMAGE_MARK} now, then"
    assert first_logprob(omni_policy, seen, [media["red"]]) != pytest.approx(
        first_logprob(omni_policy, seen, [media["blue"]]), abs=1e-6)
    heard = f"Question: {AUDIO_MARK}\nAnswer:"
    tone = first_logprob(omni_policy, heard, [media["tone"]])
    assert tone != pytest.approx(first_logprob(omni_policy, heard, [media["low"]]), abs=1e-6)
    # A WAV path, the same clip as (rate, samples) and as an Audio from media.load_audio read the same.
    samples = (0.3 * np.sin(2 * np.pi * 440.0 * (np.arange(11025) / 22050)) * 32767).astype(np.int16)
    assert first_logprob(omni_policy, heard, [(22050, samples)]) == pytest.approx(tone, abs=1e-4)
    assert first_logprob(omni_policy, heard, [load_audio(media["tone"])]) == pytest.approx(tone, abs=1e-5)


def test_qwen_omni_batches_media_and_transcribes(omni_policy, media):
    both = f"Look {IMAGE_MARK} and hear {AUDIO_MARK}, then"
    out = omni_policy.generate([both, "a plain one"], media=[[media["red"], media["tone"]], None], n=2,
                               max_new_tokens=3, temperature=0.5, seed=0)
    assert len(out) == 2 and all(len(group) == 2 for group in out)
    heard = f"Question: {AUDIO_MARK}\nAnswer:"
    greedy = omni_policy.generate(["Question: why is the sky blue today, and at night?", heard],
                                  media=[None, [media["low"]]], max_new_tokens=1, temperature=0)
    assert greedy[1][0].token_logprobs[0] == pytest.approx(first_logprob(omni_policy, heard, [media["low"]]), abs=1e-4)
    assert isinstance(omni_policy.transcribe(media["tone"], max_new_tokens=4), str)
    assert isinstance(omni_policy.transcribe((16000, np.zeros(8000, dtype=np.float32)), max_new_tokens=2), str)
    with pytest.raises(MediaError, match="only log-mel"):
        omni_policy.transcribe(Audio(torch.zeros(80, 50)))
    with pytest.raises(MediaError, match="at most"):
        omni_policy.transcribe((16000, np.zeros(16000 * 31, dtype=np.float32)))


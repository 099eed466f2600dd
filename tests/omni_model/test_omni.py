"""The omni model on tiny configurations: mixed batches, gradients into every encoder, save/load, generation."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from omni_model import load_policy
from omni_model.encoders import WhisperEncoder, load_ct2_encoder, read_ct2_variables
from omni_model.errors import ModelLoadError
from omni_model.media import MediaError, load_audio, load_image, read_wav, resample
from omni_model.omni import AUDIO_MARK, IMAGE_MARK, OmniCollator, OmniConfig, OmniModel
from omni_model.omni_policy import OmniPolicy
from omni_model.spec import parse_spec
from tests.helpers.models import make_tiny_tokenizer, save_tiny_llama, write_ct2, write_png, write_wav

TINY = dict(image_size=32, image_patch=8, image_dim=16, image_layers=1, image_heads=2, image_grid=2,
            audio_encoder="scratch", audio_dim=32, audio_layers=1, audio_pool=4)


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory):
    return save_tiny_llama(tmp_path_factory.mktemp("omni-lm"), max_positions=2048)


@pytest.fixture(scope="module")
def policy(lm_dir):
    torch.manual_seed(0)
    return OmniPolicy.fresh(str(lm_dir), OmniConfig(lm_spec=str(lm_dir), **TINY), device="cpu")


@pytest.fixture
def media(tmp_path):
    return {"red": write_png(tmp_path / "red.png"), "blue": write_png(tmp_path / "blue.png", (0, 0, 255)),
            "tone": write_wav(tmp_path / "tone.wav"), "low": write_wav(tmp_path / "low.wav", freq=120.0)}


def test_mixed_batch_reaches_every_encoder(policy, media):
    collate = OmniCollator(policy.tokenizer, policy.config)
    rows = [{"prompt": "Question: why?\nNext action:", "completion": " Search why"},
            {"prompt": f"Screenshot: {IMAGE_MARK}\nNext action:", "completion": " Top", "images": [media["red"]]},
            {"prompt": f"Question: {AUDIO_MARK}\nNext action:", "completion": " Search sky", "audios": [media["tone"]]}]
    batch = collate(rows)
    assert [s[0] for s in batch["slots"].images] == [1] and [s[0] for s in batch["slots"].audios] == [2]
    assert batch["pixels"].shape == (1, 3, 32, 32) and batch["mels"].shape[0] == 1
    # Loss only on the completion: every prompt position (media included) is masked.
    start, count = batch["slots"].images[0][1:]
    assert (batch["labels"][1, start:start + count] == -100).all()
    omni = policy.omni.train()
    omni.zero_grad()
    out = omni(**batch)
    out.loss.backward()
    for name in ("image", "image_proj", "audio", "audio_proj"):
        grads = [p.grad for p in omni.encoders[name].parameters()]
        assert all(g is not None for g in grads), name
        assert sum(float(g.abs().sum()) for g in grads) > 0, name
    assert omni.lm.get_input_embeddings().weight.grad is not None
    omni.eval()


def test_generation_text_image_and_audio(policy, media):
    text = policy.generate(["Question: why?\nNext action:"], max_new_tokens=4, temperature=0)
    image = policy.generate([f"Look {IMAGE_MARK} now:"], media=[[media["red"]]], max_new_tokens=4, temperature=0)
    audio = policy.generate([f"Hear {AUDIO_MARK} now:"], media=[[media["tone"]]], max_new_tokens=4, temperature=0)
    for out in (text, image, audio):
        assert len(out) == 1 and out[0][0].tokens >= 1 and len(out[0][0].token_logprobs) == out[0][0].tokens
    # The media really reach the model: a different picture or sound changes the log-probs.
    blue = policy.generate([f"Look {IMAGE_MARK} now:"], media=[[media["blue"]]], max_new_tokens=4, temperature=0)
    low = policy.generate([f"Hear {AUDIO_MARK} now:"], media=[[media["low"]]], max_new_tokens=4, temperature=0)
    assert image[0][0].token_logprobs[0] != pytest.approx(blue[0][0].token_logprobs[0], abs=1e-6)
    assert audio[0][0].token_logprobs[0] != pytest.approx(low[0][0].token_logprobs[0], abs=1e-6)


def test_batched_media_matches_one_at_a_time(policy, media):
    prompts = [f"Look {IMAGE_MARK} now:", "plain text prompt that is longer than the others:",
               f"Hear {AUDIO_MARK}:"]
    items = [[media["red"]], None, [media["tone"]]]
    together = policy.generate(prompts, media=items, max_new_tokens=3, temperature=0)
    for i, (p, m) in enumerate(zip(prompts, items)):
        alone = policy.generate([p], media=[m] if m else None, max_new_tokens=3, temperature=0)
        assert alone[0][0].token_logprobs[0] == pytest.approx(together[i][0].token_logprobs[0], abs=1e-4)


def test_save_and_load_round_trip(policy, media, tmp_path):
    folder = policy.save_pretrained(tmp_path / "omni")
    assert parse_spec(str(folder)).kind == "omni_dir"
    loaded = load_policy(str(folder), device="cpu")
    with torch.no_grad():  # the checkpoint stores the encoders in fp16: compare against the same rounding
        for p in policy.omni.encoders.parameters():
            p.copy_(p.half().float())
    assert isinstance(loaded, OmniPolicy)
    for prompt, m in ((f"Look {IMAGE_MARK}:", [media["red"]]), (f"Hear {AUDIO_MARK}:", [media["tone"]])):
        a = policy.generate([prompt], media=[m], max_new_tokens=3, temperature=0)[0][0]
        b = loaded.generate([prompt], media=[m], max_new_tokens=3, temperature=0)[0][0]
        assert a.text == b.text and a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-5)


def test_int8_checkpoint_is_a_quarter_the_size_and_close(policy, media, tmp_path):
    fp16 = policy.save_pretrained(tmp_path / "fp16") / "encoders.safetensors"
    folder = policy.omni.save_pretrained(tmp_path / "int8", tokenizer=policy.tokenizer, int8=True)
    int8 = folder / "encoders.safetensors"
    assert int8.stat().st_size < 0.7 * fp16.stat().st_size  # weights at 1 byte; biases, norms, scales at 2
    loaded = load_policy(str(folder), device="cpu")
    for name, theirs in loaded.omni.encoders.state_dict().items():
        ours = policy.omni.encoders.state_dict()[name]
        step = ours.abs().reshape(ours.shape[0], -1).amax(dim=1).max() / 127 if ours.dim() >= 2 else 1e-3
        assert (ours - theirs).abs().max() <= step, name  # within one quantisation step of each row
    prompt, m = f"Look {IMAGE_MARK}:", [media["red"]]
    a = policy.generate([prompt], media=[m], max_new_tokens=3, temperature=0)[0][0]
    b = loaded.generate([prompt], media=[m], max_new_tokens=3, temperature=0)[0][0]
    assert a.token_logprobs[0] == pytest.approx(b.token_logprobs[0], abs=0.05)


def test_markers_must_match_media(policy, media):
    with pytest.raises(ValueError, match="do not match"):
        policy.generate([f"Look {IMAGE_MARK}:"], media=[[media["tone"], media["red"]]], max_new_tokens=2)


def test_bad_media_files_are_named(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"not a wav")
    with pytest.raises(MediaError, match="x.wav"):
        load_audio(tmp_path / "x.wav")
    with pytest.raises(MediaError, match="no such audio"):
        load_audio(tmp_path / "missing.wav")
    (tmp_path / "x.png").write_bytes(b"not a png")
    with pytest.raises(MediaError, match="x.png"):
        load_image(tmp_path / "x.png")


def test_wav_reading_and_resampling(tmp_path):
    samples, rate = read_wav(write_wav(tmp_path / "a.wav", seconds=1.0, freq=1000.0))
    assert rate == 22050 and len(samples) == 22050
    out = resample(samples, rate)
    assert len(out) == 16000
    peak = np.argmax(np.abs(np.fft.rfft(out)))  # 1 Hz bins: the tone stays at 1 kHz
    assert abs(peak - 1000) <= 1
    audio = load_audio(tmp_path / "a.wav")
    assert audio.mel.shape == (80, 100) and abs(audio.seconds - 1.0) < 0.02


def test_microphone_tuple_is_audio(policy):
    rate, samples = 48000, (np.random.default_rng(0).standard_normal(24000) * 3000).astype(np.int16)
    audio = load_audio((rate, samples))
    assert audio.mel.shape[0] == 80 and abs(audio.seconds - 0.5) < 0.02


def test_ct2_whisper_weights_load_into_our_encoder(tmp_path):
    torch.manual_seed(0)
    ref = WhisperEncoder(n_mels=80, dim=64, layers=2, heads=2, max_positions=50)
    names = {"conv1.weight": "conv1/weight", "conv1.bias": "conv1/bias", "conv2.weight": "conv2/weight",
             "conv2.bias": "conv2/bias", "norm.weight": "layer_norm/gamma", "norm.bias": "layer_norm/beta"}
    for i in range(2):
        for ours, theirs in (("attn_norm.weight", "self_attention/layer_norm/gamma"),
                             ("attn_norm.bias", "self_attention/layer_norm/beta"),
                             ("qkv.weight", "self_attention/linear_0/weight"), ("qkv.bias", "self_attention/linear_0/bias"),
                             ("out.weight", "self_attention/linear_1/weight"), ("out.bias", "self_attention/linear_1/bias"),
                             ("ffn_norm.weight", "ffn/layer_norm/gamma"), ("ffn_norm.bias", "ffn/layer_norm/beta"),
                             ("ffn_in.weight", "ffn/linear_0/weight"), ("ffn_in.bias", "ffn/linear_0/bias"),
                             ("ffn_out.weight", "ffn/linear_1/weight"), ("ffn_out.bias", "ffn/linear_1/bias")):
            names[f"blocks.{i}.{ours}"] = f"layer_{i}/{theirs}"
    state = ref.state_dict()
    variables = {f"encoder/{theirs}": state[ours].numpy().astype(np.float16) for ours, theirs in names.items()}
    variables["encoder/num_heads"] = np.array(2, dtype=np.int16)
    variables["encoder/position_encodings/encodings"] = ref.positions.numpy().astype(np.float16)
    variables["decoder/embeddings/weight"] = np.zeros((3, 4), dtype=np.float16)  # skipped, not read
    write_ct2(tmp_path / "model.bin", variables)
    assert "decoder/embeddings/weight" not in read_ct2_variables(tmp_path / "model.bin", prefix="encoder/")
    enc = load_ct2_encoder(tmp_path)
    mels = torch.randn(1, 80, 40)
    ref.half().float()  # the file holds fp16 weights; compare against the same rounding
    torch.testing.assert_close(enc(mels), ref(mels), atol=2e-3, rtol=1e-2)


def test_truncated_ct2_file(tmp_path):
    (tmp_path / "model.bin").write_bytes(struct.pack("<I", 6) + b"\x05")
    with pytest.raises(ModelLoadError, match="ends early"):
        load_ct2_encoder(tmp_path)


def test_hf_vision_tower_from_local_folder(tmp_path, lm_dir):
    from transformers import CLIPVisionConfig, CLIPVisionModel

    CLIPVisionModel(CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                     num_attention_heads=2, image_size=32, patch_size=8)).save_pretrained(tmp_path / "vit")
    config = OmniConfig(lm_spec=str(lm_dir), **{**TINY, "image_encoder": str(tmp_path / "vit")})
    p = OmniPolicy.fresh(str(lm_dir), config, device="cpu")
    out = p.generate([f"Look {IMAGE_MARK}:"], media=[[load_image(write_png(tmp_path / "r.png"), 32)]],
                     max_new_tokens=2, temperature=0)
    assert out[0][0].tokens >= 1
    assert isinstance(OmniModel(p.omni.lm, config).encoders["image"].tower, CLIPVisionModel)


def test_an_image_text_to_text_checkpoint_loads_through_load_policy(tmp_path):
    """A tiny LLaVA saved locally (the same loader takes Qwen2-VL, SmolVLM, Idefics folders)."""
    from transformers import CLIPImageProcessor, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

    from omni_model.hf_multimodal import HFMultimodalPolicy
    tok = make_tiny_tokenizer()
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    config = LlavaConfig(
        text_config=dict(model_type="llama", vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048),
        vision_config=dict(model_type="clip_vision_model", hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                           num_attention_heads=2, image_size=28, patch_size=14),
        image_token_id=tok.convert_tokens_to_ids("<image>"), vision_feature_layer=-1)
    torch.manual_seed(0)
    LlavaForConditionalGeneration(config).save_pretrained(tmp_path / "llava")
    LlavaProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 28}, crop_size={"height": 28, "width": 28}),
                   tokenizer=tok, patch_size=14, vision_feature_select_strategy="default",
                   num_additional_image_tokens=1).save_pretrained(tmp_path / "llava")
    policy = load_policy(str(tmp_path / "llava"), device="cpu")
    assert isinstance(policy, HFMultimodalPolicy) and policy.config.image_tokens == 4
    red, blue = write_png(tmp_path / "r.png"), write_png(tmp_path / "b.png", (0, 0, 255))
    text = policy.generate(["Question: why?"], max_new_tokens=3, temperature=0)
    a, b = (policy.generate([f"Look {IMAGE_MARK} now, then", "a plain one"], media=[[img], None], n=2,
                            max_new_tokens=3, temperature=0.5, seed=0) for img in (red, blue))
    assert text[0][0].tokens >= 1 and len(a) == 2 and len(a[0]) == 2
    assert a[0][0].token_logprobs[0] != pytest.approx(b[0][0].token_logprobs[0], abs=1e-6)  # it sees the picture
    assert policy.hearings == ()  # it does not hear: the agent asks Whisper instead

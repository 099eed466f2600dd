"""omni_model.reward: batched scoring, checkpoints (full and PEFT) and bad input."""

from __future__ import annotations

import json
import math

import pytest
import torch

from browser_env.text.observation import Quote
from omni_model.errors import ModelLoadError, PromptTooLongError
from omni_model.reward import TransformersRewardModel, load_reward_model
from tests.helpers.models import make_tiny_tokenizer, save_tiny_llama

QUOTES = [Quote("Sky | Science", "sci.org", "https://sci.org", "Rayleigh scattering makes the sky blue."),
          Quote("Light", "b.org", "https://b.org", "Short wavelengths scatter more than long ones. " * 3)]


def _items() -> list[tuple[str, list[Quote], str]]:
    return [
        ("Why is the sky blue?", QUOTES, "Because of Rayleigh scattering [1]."),
        ("Why is the sky blue?", QUOTES[:1], "Blue light scatters more [1], so the sky looks blue in the day."),
        ("Why are sunsets red?", [], "Blue light is scattered away."),
        ("Why?", QUOTES, "The quick brown fox jumps over the lazy dog [2]. " * 4),
        ("Why is the sky blue?", QUOTES, "A literal <|im_end|> in an answer stays text [1]."),
    ]


def _tiny_backbone(folder, *, causal: bool = True):
    """A random-init Llama saved as an HF folder with its tokenizer."""
    return save_tiny_llama(folder, seed=1, head="causal" if causal else "classifier", num_labels=1)


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    return _tiny_backbone(tmp_path_factory.mktemp("backbone"))


@pytest.fixture(scope="module")
def rm(backbone):
    return load_reward_model(str(backbone))


def test_batched_scores_equal_one_by_one(rm):
    items = _items()
    one = [rm.score(*item) for item in items]
    for bs in (1, 2, 8):
        batched = rm.score_batch(items, batch_size=bs)
        assert batched == pytest.approx(one, abs=1e-4)
    assert all(math.isfinite(s) for s in one)
    assert len(set(round(s, 6) for s in one)) > 1  # different inputs, different scores


def test_untrained_head_is_reproducible(backbone, rm):
    again = load_reward_model(str(backbone))
    assert again.score_batch(_items()) == pytest.approx(rm.score_batch(_items()), abs=1e-6)


def test_special_token_text_does_not_move_the_pooled_position(rm):
    ids = rm._encode(rm.text(*_items()[4]))
    assert rm.tokenizer.pad_token_id not in ids


def test_save_and_load_round_trip(rm, tmp_path):
    with torch.no_grad():
        rm.model.score.weight.add_(0.5)  # a "trained" head that differs from the seeded init
    try:
        expected = rm.score_batch(_items())
        rm.save(tmp_path / "rm")
        loaded = load_reward_model(str(tmp_path / "rm"))
        assert loaded.score_batch(_items()) == pytest.approx(expected, abs=1e-5)
        config = json.loads((tmp_path / "rm" / "config.json").read_text())
        assert config["architectures"] == ["LlamaForSequenceClassification"] and len(config["id2label"]) == 1
    finally:
        with torch.no_grad():
            rm.model.score.weight.sub_(0.5)


def test_peft_adapter_folder_loads(backbone, tmp_path):
    from peft import LoraConfig, get_peft_model

    base = load_reward_model(str(backbone)).model
    peft_model = get_peft_model(base, LoraConfig(task_type="SEQ_CLS", r=4, lora_alpha=8,
                                                 target_modules=["q_proj", "v_proj"], modules_to_save=["score"]))
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                p.add_(torch.randn_like(p) * 0.5)  # stand-in for training
    peft_model.peft_config["default"].base_model_name_or_path = str(backbone)
    peft_model.save_pretrained(str(tmp_path / "adapter"))
    tok = make_tiny_tokenizer()
    expected = TransformersRewardModel(peft_model, tok).score_batch(_items())
    loaded = load_reward_model(str(tmp_path / "adapter"))
    assert loaded.score_batch(_items()) == pytest.approx(expected, abs=1e-4)
    plain = load_reward_model(str(backbone)).score_batch(_items())
    assert loaded.score_batch(_items()) != pytest.approx(plain, abs=1e-3)


def test_sequence_classification_checkpoint_loads(tmp_path):
    folder = _tiny_backbone(tmp_path / "cls", causal=False)
    rm = load_reward_model(str(folder))
    assert all(math.isfinite(s) for s in rm.score_batch(_items()))


def test_truncation_cuts_extracts_not_question_or_answer(backbone):
    rm = load_reward_model(str(backbone), max_length=120)
    long_quotes = [Quote("T", "d.com", "u", "fact " * 500)]
    text = rm.text("Why is the sky blue?", long_quotes, "Because [1].")
    assert len(rm._encode(text)) <= 120 and "Why is the sky blue?" in text and text.endswith("Because [1].")
    assert math.isfinite(rm.score("Why is the sky blue?", long_quotes, "Because [1]."))
    with pytest.raises(PromptTooLongError):
        rm.score("Why?", long_quotes, "word " * 400)


def test_bad_input_raises_clear_errors(tmp_path, backbone):
    with pytest.raises(ModelLoadError, match="not found"):
        load_reward_model(str(tmp_path / "missing"))
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in backbone.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelLoadError, match="could not load"):
        load_reward_model(str(broken))
    adapter = tmp_path / "bad_adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="base_model_name_or_path"):
        load_reward_model(str(adapter))
    with pytest.raises(ValueError):
        load_reward_model(str(backbone)).score_batch(_items(), batch_size=0)


@pytest.mark.slow
def test_real_default_backbone_scores_finite_and_deterministic():
    rm = load_reward_model("smollm2-135m")
    items = _items()
    first = rm.score_batch(items, batch_size=4)
    assert all(math.isfinite(s) for s in first)
    assert rm.score_batch(items, batch_size=2) == pytest.approx(first, abs=1e-3)
    assert [rm.score(*items[0])] == pytest.approx(first[:1], abs=1e-3)


def _candidates() -> list[tuple[str, list[Quote], str]]:
    """Best-of-n as the agent scores it: several answers to one question over the same quotes."""
    answers = ["Because of Rayleigh scattering [1].", "Blue light scatters more [2], so the sky is blue [1].",
               "Search results for: sky blue ()", "The sky is blue. The sky is blue. The sky is blue.",
               "1 2 3 [1]", "Because.", "Sunsets are red [2] and the sky is blue [1]; light scatters.", "[1]"]
    items = [("Why is the sky blue?", QUOTES, a) for a in answers]
    items += [("Why are sunsets red?", QUOTES[1:], a) for a in answers[:3]]  # a second prompt
    items += [("Why?", [], "No quotes."), ("Why are sunsets red?", QUOTES[1:], answers[3])]
    return items


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_shared_prefix_scores_equal_plain_scores(rm, batch_size):
    items = _candidates()
    plain = rm.score_batch(items, batch_size=batch_size, share_prefix=False)
    shared = rm.score_batch(items, batch_size=batch_size, share_prefix=True)
    assert shared == pytest.approx(plain, abs=1e-4)
    assert len(set(round(s, 5) for s in shared)) > len(items) // 2


def test_shared_prefix_reads_the_prompt_once(rm, monkeypatch):
    calls = []
    forward = rm.model.forward

    def counting(*args, **kwargs):
        calls.append(kwargs["input_ids"].shape)
        return forward(*args, **kwargs)

    monkeypatch.setattr(rm.model, "forward", counting)
    items = _candidates()[:8]  # one question, eight answers, one batch
    rm.score_batch(items, batch_size=8, share_prefix=True)
    prefix_len = len(rm._encode(rm.text(*items[0])[:-len(items[0][2])]))
    assert [tuple(c) for c in calls][0] == (1, prefix_len)  # the prompt, once
    assert len(calls) == 2 and calls[1][0] == 8 and calls[1][1] < prefix_len  # then only the answers


def test_shared_prefix_with_a_peft_adapter_and_truncation(backbone):
    from peft import LoraConfig, get_peft_model

    base = load_reward_model(str(backbone)).model
    peft_model = get_peft_model(base, LoraConfig(task_type="SEQ_CLS", r=4, lora_alpha=8,
                                                 target_modules=["q_proj", "v_proj"], modules_to_save=["score"]))
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                p.add_(torch.randn_like(p) * 0.5)
    rm = TransformersRewardModel(peft_model, make_tiny_tokenizer(), max_length=200)  # long answers cut the quotes more
    long_quotes = [Quote("T", "d.com", "u", "fact " * 300), QUOTES[0]]
    items = [("Why is the sky blue?", long_quotes, a) for a in ("Yes [1].", "word " * 12 + "[2].", "No.", "word " * 12)]
    prefixes = {rm.text(*it)[:-len(it[2].strip())] for it in items}
    assert len(prefixes) > 1  # the longer answers had their quotes cut shorter: several groups
    plain = rm.score_batch(items, share_prefix=False)
    assert rm.score_batch(items, share_prefix=True) == pytest.approx(plain, abs=1e-4)

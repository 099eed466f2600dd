"""TransformersPolicy on a tiny random Llama built in the test; the real default model under `slow`."""

from __future__ import annotations

import json
import time

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import LlamaForCausalLM, LogitsProcessor, PreTrainedTokenizerFast

from omni_model import load_policy
from omni_model.errors import ModelLoadError, PromptTooLongError
from omni_model.policy import Completion, Policy, TransformersPolicy
from tests.helpers.models import save_tiny_llama

SPECIALS = ["<pad>", "<s>", "</s>"]
CHATML = (
    "{% for m in messages %}<s>{{ m['role'] }}\n{{ m['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant\n{% endif %}"
)


def _tokenizer() -> PreTrainedTokenizerFast:
    # Byte-level alphabet, no merges: every byte is one token, so any text encodes offline.
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {tok: i for i, tok in enumerate(SPECIALS + sorted(alphabet))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>")
    fast.chat_template = CHATML
    return fast


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-llama")
    return save_tiny_llama(folder, _tokenizer(), max_positions=64, bos_token_id=1)


@pytest.fixture(scope="module")
def policy(tiny_dir) -> TransformersPolicy:
    p = load_policy(str(tiny_dir), device="cpu")
    assert isinstance(p, TransformersPolicy)
    return p


class ForceText(LogitsProcessor):
    """Forces the completion to spell `text` then EOS (or, with eos=None, to keep spelling it)."""

    def __init__(self, tokenizer, text: str, eos: int | None):
        self.ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        self.eos = eos
        self.prompt_len: int | None = None

    def __call__(self, input_ids, scores):
        if self.prompt_len is None:
            self.prompt_len = input_ids.shape[1]  # left padding: same for every row
        step = input_ids.shape[1] - self.prompt_len
        target = self.ids[step % len(self.ids)] if self.eos is None or step < len(self.ids) else self.eos
        forced = torch.full_like(scores, float("-inf"))
        forced[:, target] = 0.0
        return forced


def test_is_a_policy(policy, tiny_dir):
    assert isinstance(policy, Policy)
    assert policy.context_length == 64
    assert policy.device == torch.device("cpu")
    assert policy.count_tokens("abc") == 3
    assert policy.apply_chat_template([{"role": "user", "content": "hi"}]) == "<s>user\nhi</s>\n<s>assistant\n"
    assert policy.spec == str(tiny_dir)


def test_shapes_of_n_samples(policy):
    out = policy.generate(["hello", "a much longer prompt", "x"], n=4, max_new_tokens=5, seed=0)
    assert [len(group) for group in out] == [4, 4, 4]
    for c in (c for group in out for c in group):
        assert isinstance(c, Completion)
        assert 1 <= c.tokens <= 5
        assert len(c.token_logprobs) == c.tokens
        assert all(lp <= 0.0 for lp in c.token_logprobs)
        assert c.finish_reason in ("length", "eos")


def test_one_batched_generate_call(policy, monkeypatch):
    calls = []
    real = policy.model.generate

    def spy(*args, **kwargs):
        calls.append(kwargs["input_ids"].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(policy.model, "generate", spy)
    policy.generate(["ab", "abcdef", "abc"], n=3, max_new_tokens=3)
    assert len(calls) == 1
    assert calls[0] == (9, 6)  # 3 prompts x 3 samples, left-padded to the longest prompt


def test_stop_string_and_eos(policy):
    tok = policy.tokenizer
    [[c]] = policy.generate(["q"], max_new_tokens=20, logits_processor=ForceText(tok, "ab\ncd", eos=2))
    assert (c.text, c.finish_reason, c.tokens) == ("ab\ncd", "eos", 6)  # 5 bytes + EOS
    [[c]] = policy.generate(["q"], max_new_tokens=20, stop=["\n"], logits_processor=ForceText(tok, "ab\ncd", eos=2))
    assert (c.text, c.finish_reason) == ("ab", "stop")
    assert c.tokens == 3 == len(c.token_logprobs)  # sampling stopped right at the newline


def test_rows_stop_independently(policy):
    tok = policy.tokenizer
    out = policy.generate(["q", "longer q"], n=2, max_new_tokens=12, stop=["b\n"],
                          logits_processor=ForceText(tok, "xab\n", eos=None))
    for c in (c for group in out for c in group):
        assert (c.text, c.finish_reason, c.tokens) == ("xa", "stop", 4)


def test_length_finish(policy):
    [[c]] = policy.generate(["q"], max_new_tokens=7, logits_processor=ForceText(policy.tokenizer, "xyz", eos=None))
    assert (c.text, c.finish_reason, c.tokens) == ("xyzxyzx", "length", 7)


def test_logprobs_are_from_raw_model(policy):
    # Forcing a token through a processor must not turn its log-prob into 0: we report the model's own.
    [[c]] = policy.generate(["q"], max_new_tokens=4, logits_processor=ForceText(policy.tokenizer, "abcd", eos=None))
    assert all(lp < -0.5 for lp in c.token_logprobs)  # random model over ~260 tokens
    ids = policy.tokenizer("q", add_special_tokens=True)["input_ids"] + policy.tokenizer("abcd")["input_ids"]
    with torch.no_grad():
        logits = policy.model(torch.tensor([ids])).logits[0].log_softmax(-1)
    n_prompt = len(ids) - 4
    expected = [logits[n_prompt - 1 + k, ids[n_prompt + k]].item() for k in range(4)]
    assert c.token_logprobs == pytest.approx(expected, abs=1e-4)


def test_greedy_is_deterministic_and_n_copies(policy):
    a = policy.generate(["hello there", "x"], n=3, temperature=0, max_new_tokens=8)
    b = policy.generate(["hello there"], temperature=0, max_new_tokens=8)
    assert len({c.text for c in a[0]}) == 1
    assert a[0][0].text == b[0][0].text  # batching with padding does not change greedy output
    assert a[0][0].token_logprobs == pytest.approx(b[0][0].token_logprobs, abs=1e-4)


def test_seeded_sampling_repeats(policy):
    a = policy.generate(["hello"], n=4, temperature=1.0, max_new_tokens=8, seed=123)
    b = policy.generate(["hello"], n=4, temperature=1.0, max_new_tokens=8, seed=123)
    assert [c.text for c in a[0]] == [c.text for c in b[0]]
    assert len({c.text for c in a[0]}) > 1  # a random 260-token model does not repeat itself


def test_streams_every_row_as_it_is_written(policy):
    seen: dict[tuple[int, int], list[str]] = {}
    out = policy.generate(["hello", "x"], n=3, temperature=1.0, max_new_tokens=8, seed=5,
                          on_text=lambda i, j, text: seen.setdefault((i, j), []).append(text))
    assert set(seen) == {(i, j) for i in range(2) for j in range(3)}
    for (i, j), texts in seen.items():
        assert all(b.startswith(a) for a, b in zip(texts, texts[1:]))  # text only grows
        assert texts[-1].startswith(out[i][j].text)  # the stream ends with the returned text
    # Streaming changes nothing about what is sampled.
    again = policy.generate(["hello", "x"], n=3, temperature=1.0, max_new_tokens=8, seed=5)
    assert [[c.text for c in row] for row in out] == [[c.text for c in row] for row in again]


def test_prompt_too_long(policy):
    with pytest.raises(PromptTooLongError, match="context length is 64") as err:
        policy.generate(["z" * 60], max_new_tokens=10)
    assert (err.value.prompt_tokens, err.value.max_new_tokens) == (60, 10)  # one token per byte
    assert policy.generate(["z" * 40], max_new_tokens=10, temperature=0)[0][0].tokens <= 10


def test_bad_arguments(policy):
    assert policy.generate([], n=2) == []
    with pytest.raises(TypeError):
        policy.generate("not a list")
    with pytest.raises(ValueError):
        policy.generate(["a"], n=0)
    with pytest.raises(ValueError):
        policy.generate(["a"], top_p=0)


def test_peft_adapter_folder(tiny_dir, tmp_path):
    from peft import LoraConfig, get_peft_model

    base = LlamaForCausalLM.from_pretrained(tiny_dir)
    peft_model = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.save_pretrained(tmp_path / "adapter")
    cfg = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == str(tiny_dir)
    p = load_policy(str(tmp_path / "adapter"), device="cpu")
    ids = torch.tensor([[1, 50, 60, 70]])
    with torch.no_grad():
        expected = peft_model(ids).logits
        plain = LlamaForCausalLM.from_pretrained(tiny_dir)(ids).logits
        got = p.model(ids).logits
    assert torch.allclose(got, expected, atol=1e-4)
    assert not torch.allclose(got, plain, atol=1e-4)  # the adapter really changed the model


def test_corrupt_safetensors(tiny_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in tiny_dir.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{not-json")
    with pytest.raises(ModelLoadError, match="broken"):
        load_policy(str(broken), device="cpu")


def test_missing_and_unknown(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        load_policy(str(tmp_path / "missing.gguf"))
    with pytest.raises(ValueError, match="expected"):
        load_policy("definitely not a model")


@pytest.mark.slow
def test_default_model_end_to_end(tmp_path):
    from omni_model import embedded

    t0 = time.perf_counter()
    p = load_policy("smollm2-135m", device="cpu")  # fetch + convert on a fresh machine
    first = time.perf_counter() - t0
    assert embedded.is_complete_model_dir(embedded.webqa_home() / "models" / embedded.DEFAULT_MODEL_DIRNAME)
    assert p.context_length == 8192
    prompt = p.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}])
    assert prompt.startswith("<|im_start|>system")
    [[c]] = p.generate([prompt], temperature=0, max_new_tokens=24, stop=["."])
    assert "Paris" in c.text
    assert c.finish_reason == "stop" and not c.text.endswith(".")
    out = p.generate([prompt, "1, 2, 3, 4,"], n=2, temperature=0.8, max_new_tokens=6, seed=0)
    assert [len(g) for g in out] == [2, 2]
    assert all(len(c.token_logprobs) == c.tokens for g in out for c in g)
    t1 = time.perf_counter()
    again = load_policy("smollm2-135m", device="cpu")
    assert time.perf_counter() - t1 < max(first, 30)  # served from the converted cache
    assert again.generate([prompt], temperature=0, max_new_tokens=24, stop=["."])[0][0].text == c.text


def test_generate_command_json(tiny_dir, capsys):
    import argparse

    from omni_model import generate_cmd

    parser = argparse.ArgumentParser(prog="webqa")
    sub = parser.add_subparsers()
    generate_cmd.add_parser(sub)
    args = parser.parse_args(["generate", "--policy", str(tiny_dir), "--prompt", "hi", "--chat", "--n", "2",
                              "--max-new-tokens", "3", "--stop", "\\n", "--seed", "1", "--device", "cpu", "--json"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["policy"] == str(tiny_dir) and out["prompt"] == "<s>user\nhi</s>\n<s>assistant\n"
    assert len(out["completions"]) == 2
    for c in out["completions"]:
        assert set(c) == {"text", "finish_reason", "tokens", "logprob"} and c["logprob"] < 0
    assert out["seconds"] > 0 and out["tokens_per_s"] > 0


def test_generate_command_reports_bad_spec(tmp_path, capsys):
    import argparse

    from omni_model import generate_cmd

    args = generate_cmd.configure_parser(argparse.ArgumentParser()).parse_args(
        ["--policy", str(tmp_path / "nope.gguf"), "--prompt", "x"])
    assert generate_cmd.main(args) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.slow
def test_torch_compile_switch(tiny_dir, monkeypatch):
    monkeypatch.setenv("WEBQA_TORCH_COMPILE", "1")
    compiled = load_policy(str(tiny_dir), device="cpu")
    assert hasattr(compiled.model.forward, "_torchdynamo_orig_callable")  # the forward is torch.compile's
    monkeypatch.delenv("WEBQA_TORCH_COMPILE")
    plain = load_policy(str(tiny_dir), device="cpu")
    a = compiled.generate(["Hello"], temperature=0.0, max_new_tokens=4)[0][0]
    b = plain.generate(["Hello"], temperature=0.0, max_new_tokens=4)[0][0]
    assert a.text == b.text and a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-4)

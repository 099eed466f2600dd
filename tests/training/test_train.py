"""Tiny behaviour-cloning and reward-model runs (random-init models) that change weights and reload,
and the bad-input errors raised before any model loads."""

import json

import pytest
import torch

from browser_env.text.observation import Observation, Quote, render_observation
from training.bc import BCConfig, TrainingDataError, load_demo_files, split_demos, train_bc
from training.comparisons import Comparison, export_webgpt
from training.demos import Demo, Metadata, Step, write_demos
from tests.helpers.models import save_tiny_llama
from training.rm import RMConfig, load_comparison_file, load_training_sets, train_rm

QUOTE = Quote("Sky", "wiki.miniweb", "http://wiki.miniweb/sky", "The sky is blue because of Rayleigh scattering.")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return save_tiny_llama(tmp_path_factory.mktemp("base"), max_positions=2048)


def _demo(i: int) -> Demo:
    q = f"Why is the sky blue, question {i}?"
    obs0 = Observation(question=q, actions_left=5)
    obs1 = Observation(question=q, past_actions=["Search sky blue"], title="Search results for: sky blue",
                       scrollbar=(0, 1), text="【0†Sky†wiki.miniweb】\nThe sky is blue.", actions_left=4)
    return Demo(id=f"d{i}", question=q, quotes=[QUOTE], answer="Rayleigh scattering makes it blue [1].",
                steps=[Step(render_observation(obs0), "Search sky blue", obs0),
                       Step(render_observation(obs1), "Clicked on link 0", obs1)],
                metadata=Metadata(who="test", source="test"))


def _bc_config(out, base, **kw):
    kw.setdefault("max_steps", 3)
    return BCConfig(output_dir=str(out), base_policy=str(base), lora_r=4, lora_alpha=8, max_length=2048,
                    per_device_train_batch_size=2, learning_rate=5e-2, save_strategy="no", eval_strategy="no",
                    disable_tqdm=True, eval_fraction=0.25, **kw)


def test_split_is_by_question_and_stable():
    demos = [_demo(i) for i in range(40)]
    train, test = split_demos(demos, 0.25)
    assert train and test and not {d.question for d in train} & {d.question for d in test}
    assert [d.id for d in split_demos(demos, 0.25)[1]] == [d.id for d in test]


def test_bc_run_changes_the_adapter_and_reloads(tmp_path, base):
    from omni_model import load_policy

    demos = tmp_path / "demos.jsonl"
    write_demos(demos, [_demo(i) for i in range(12)])
    result = train_bc([demos], _bc_config(tmp_path / "bc", base, lora_layers=1))
    assert result.train_rows > 0 and result.eval_rows > 0 and result.eval_loss is not None
    cfg = json.loads((tmp_path / "bc" / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == str(base) and cfg["layers_to_transform"] == [1]
    from safetensors.torch import load_file

    weights = load_file(str(tmp_path / "bc" / "adapter_model.safetensors"))
    # LoRA's B matrices start at zero; training moved them.
    assert any("lora_B" in k and v.abs().sum() > 0 for k, v in weights.items())
    policy = load_policy(str(tmp_path / "bc"))
    base_policy = load_policy(str(base))
    trained, untouched = policy.model.state_dict(), base_policy.model.state_dict()
    # The adapter is merged on load: the top layer moved, the layer below it did not.
    assert not torch.equal(trained["model.layers.1.self_attn.q_proj.weight"],
                           untouched["model.layers.1.self_attn.q_proj.weight"])
    assert torch.equal(trained["model.layers.0.self_attn.q_proj.weight"],
                       untouched["model.layers.0.self_attn.q_proj.weight"])
    assert len(policy.generate(["♦Question\nWhy?\n"], temperature=0.0, max_new_tokens=4)[0]) == 1


def test_bc_bad_rows_are_named_and_empty_data_is_an_error(tmp_path):
    path = tmp_path / "demos.jsonl"
    write_demos(path, [_demo(0)])
    with open(path, "a") as f:
        f.write("{not json\n")
    demos, errors = load_demo_files([path])
    assert len(demos) == 1 and str(errors[0]).startswith(f"{path}:2:")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(TrainingDataError, match="no demonstrations"):
        load_demo_files([empty])
    with pytest.raises(TrainingDataError, match="not found"):
        load_demo_files([tmp_path / "missing.jsonl"])


def _pairs(n: int, tie_every: int = 0) -> list[Comparison]:
    out = []
    for i in range(n):
        good, bad = f"Rayleigh scattering [1], case {i}.", f"No idea, case {i}."
        tie = tie_every and i % tie_every == 0
        out.append(Comparison(f"Why is the sky blue {i}?", good, bad, 0.0 if tie else 1.0, 0.0 if tie else -1.0,
                              (QUOTE,), (QUOTE,), source=f"t:{i}"))
    return out


def test_rm_run_changes_scores_and_reloads(tmp_path, base):
    from omni_model.reward import load_reward_model

    path = tmp_path / "cmp.jsonl"
    export_webgpt(path, _pairs(24, tie_every=6))
    config = RMConfig(output_dir=str(tmp_path / "rm"), base_model=str(base), lora_r=4, lora_alpha=8,
                      max_length=1024, max_steps=4, per_device_train_batch_size=4, learning_rate=5e-2,
                      save_strategy="no", eval_strategy="no", disable_tqdm=True, ties="soft", eval_fraction=0.25)
    result = train_rm([path], config)
    assert result.train_pairs > 0 and result.heldout["cmp"] > 0
    held = list((tmp_path / "rm" / "heldout").glob("*.jsonl"))
    assert [p.name for p in held] == ["cmp.jsonl"]
    assert load_comparison_file(held[0]).comparisons  # rm eval reads what training held out
    trained = load_reward_model(str(tmp_path / "rm"))
    untrained = load_reward_model(str(base))
    items = [c.side(0) for c in _pairs(3)]
    assert trained.score_batch(items) != pytest.approx(untrained.score_batch(items))


def test_rm_data_errors_come_before_any_model(tmp_path):
    ties = tmp_path / "ties.jsonl"
    export_webgpt(ties, _pairs(4, tie_every=1))
    config = RMConfig(output_dir=str(tmp_path / "rm"), ties="drop")
    with pytest.raises(TrainingDataError, match="are ties, and ties are dropped"):
        load_training_sets([ties], config)
    with pytest.raises(TrainingDataError, match="not found"):
        load_training_sets([tmp_path / "missing.jsonl"], config)


def test_comparison_files_are_told_apart(shared_data, tmp_path):
    lfqa = load_comparison_file(shared_data / "lfqa_expert_preferences" / "experts_pairwise_human_preferences.jsonl")
    hh = load_comparison_file(shared_data / "hh_rlhf_harmless" / "test.jsonl")
    hq = load_comparison_file(shared_data / "haluquestqa" / "preference_data.tsv")
    assert len(lfqa) == 176 and len(hh) == 1847 and len(hq) == 567
    assert hh.comparisons[0].question.startswith("Human:")
    webgpt = tmp_path / "w.jsonl"
    export_webgpt(webgpt, _pairs(2))
    assert len(load_comparison_file(webgpt)) == 2


def test_train_cli_reports_bad_input_with_exit_2(tmp_path, capsys):
    from webqa.cli import main

    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert main(["train", "bc", "--demos", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert "no demonstrations" in capsys.readouterr().err
    ties = tmp_path / "ties.jsonl"
    export_webgpt(ties, _pairs(3, tie_every=1))
    assert main(["train", "rm", "--comparisons", str(ties), "--out", str(tmp_path / "o")]) == 2
    assert "ties" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_rm_checkpoints_resume_and_per_file_caps(tmp_path, base, monkeypatch):
    import json

    from transformers import Trainer

    from training.rm import resume_point

    resumed_from = []
    train = Trainer.train

    def recording(self, resume_from_checkpoint=None, **kw):
        resumed_from.append(resume_from_checkpoint)
        return train(self, resume_from_checkpoint=resume_from_checkpoint, **kw)

    monkeypatch.setattr(Trainer, "train", recording)

    kinded = [Comparison(c.question, c.answer_0, c.answer_1, 1.0, -1.0, c.quotes_0, c.quotes_1, c.source,
                         kind="missing_citations") for c in _pairs(24)]
    path, other = tmp_path / "kinded.jsonl", tmp_path / "other.jsonl"
    export_webgpt(path, kinded)
    export_webgpt(other, _pairs(24))

    def config(steps: int) -> RMConfig:
        return RMConfig(output_dir=str(tmp_path / "ckpt"), final_dir=str(tmp_path / "rm"), base_model=str(base),
                        lora_r=4, lora_alpha=8, max_length=1024, max_steps=steps, per_device_train_batch_size=2,
                        learning_rate=5e-2, save_strategy="steps", save_steps=1, save_total_limit=1,
                        resume_from_checkpoint="auto", eval_strategy="no", disable_tqdm=True, eval_fraction=0.25,
                        max_pairs_per_file=3, pairs_per_file={"kinded": 10})

    assert resume_point(config(2)) is None  # nothing to resume: a fresh start
    first = train_rm([path, other], config(2))
    assert first.train_pairs == 13  # 10 kinded + 3 others: the per-file cap overrides the common one
    assert resume_point(config(3)).endswith("checkpoint-2")
    train_rm([path, other], config(3))  # picks up at step 2
    assert resumed_from[0] is None and resumed_from[1].endswith("checkpoint-2")
    state = json.loads((tmp_path / "ckpt" / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["global_step"] == 3
    assert (tmp_path / "rm" / "adapter_config.json").is_file()  # the RM goes to final_dir,
    assert not (tmp_path / "ckpt" / "adapter_config.json").exists()  # the checkpoints stay in output_dir
    held = load_comparison_file(tmp_path / "rm" / "heldout" / "kinded.jsonl").comparisons
    assert held and {c.kind for c in held} == {"missing_citations"}


def test_rm_goes_on_training_a_committed_adapter(tmp_path, base):
    """--init-adapter: the run starts from the adapter's weights and its reward head, not a fresh LoRA."""
    from omni_model.reward import load_reward_model

    path = tmp_path / "cmp.jsonl"
    export_webgpt(path, _pairs(16))

    def run(out, lr, init=None):
        config = RMConfig(output_dir=str(out), base_model=str(base), lora_r=4, lora_alpha=8, max_length=1024,
                          max_steps=2, per_device_train_batch_size=4, learning_rate=lr, save_strategy="no",
                          eval_strategy="no", disable_tqdm=True, eval_fraction=0.25, init_adapter=init)
        train_rm([path], config)
        return load_reward_model(str(out)).score_batch([c.side(0) for c in _pairs(3)])

    first = run(tmp_path / "first", 5e-2)
    assert run(tmp_path / "still", 0.0, init=str(tmp_path / "first")) == pytest.approx(first, abs=1e-2)
    assert run(tmp_path / "moved", 5e-2, init=str(tmp_path / "first")) != pytest.approx(first, abs=1e-2)


def test_train_cli_checks_its_caps_and_continuation_flags(tmp_path, capsys):
    from webqa.cli import main

    demos = tmp_path / "demos.jsonl"
    write_demos(demos, [_demo(0), _demo(1)])
    assert main(["train", "bc", "--demos", str(demos), "--out", str(tmp_path / "o"), "--screenshots",
                 "--init-adapter", str(tmp_path)]) == 2
    assert "--init-adapter is for text-only BC" in capsys.readouterr().err

    with pytest.raises(SystemExit) as e:
        main(["train", "rm", "--comparisons", "x.jsonl", "--out", str(tmp_path / "o"), "--pairs-per-file", "lfqa"])
    assert e.value.code == 2
    assert "expected STEM=N" in capsys.readouterr().err

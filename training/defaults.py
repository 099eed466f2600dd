"""``webqa train defaults``: the recipe behind webqa's shipped adapters, one command, fixed seed.

1. **Scripted demonstrations** (``training.synth``) on the embedded wiki-vital mini-web, for ELI5
   questions that the evaluation does not use (the ALCE file's first ``EVAL_QUESTIONS`` are the
   evaluation's; demonstrations start after them).
2. **Answer demonstrations** imported from ``eli5_webgpt_samples`` (the human demonstrators'
   and WebGPT's quotes and answers), a fixed-seed sample of them.
3. **DAgger** (``training.dagger``): the student (``--bc-init``, else the shipped adapter) browses
   ``dagger_questions`` further questions as the agent does, and the scripted demonstrator labels
   every state it reaches; those browsing-only demos join the others.
4. **Behaviour cloning** on all of them: a LoRA on the top layers of SmolLM2-135M -> ``adapters/policy``.
5. **Reward model** on the preference sets (lfqa expert preferences, HaluQuestQA, HH-RLHF
   harmless), each held out 10% by question, plus synthetic citation pairs from the scripted
   demonstrations (``training.perturb``) and grounding pairs from WebGPT's samples
   (``training.grounding_pairs``: WebGPT's answer over its own quotes against closed-book,
   other-quotes, unsupported, mis-cited, uncited, padded, search-page and off-topic extractive
   answers, held out by question the same way) -> ``adapters/reward``. It checkpoints into
   ``<work>/rm_checkpoints`` and resumes from there when run again after an interruption.

Sizes are set for a 2-core CPU (see ``Recipe``): demos + BC in about 25 minutes; the reward
model's 200 steps, mostly over grounding pairs of ~700 tokens, take 45-65 minutes more (1 torch
thread; slower while other jobs share the CPU). On a GPU raise them. Every figure it measures is
written to ``<work>/defaults_report.json``.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

EVAL_QUESTIONS = 50  # `webqa eval eli5 --limit 50` reads these; demos never use them


@dataclass
class Recipe:
    data: str = "../shared/data"
    work: str = "runs/defaults"  # demos, held-out sets and logs
    out: str | None = None  # where the adapters go (default: omni_model/adapters)
    seed: int = 0
    demo_questions: int = 480
    webgpt_answer_demos: int = 20  # long answers: a few, or their tokens drown the commands' loss
    # DAgger: the student (bc_init, else the shipped adapter) browses these many further questions
    # and the scripted demonstrator labels every state it reaches (training.dagger); 0: no DAgger.
    dagger_questions: int = 160
    bc_steps: int = 300  # optimizer steps, each gradient_accumulation (4) rows
    bc_save_steps: int = 25  # a checkpoint every this many steps: the run resumes from the newest
    # Go on from this adapter (the committed one: training continues across sessions); None: fresh.
    bc_init: str | None = None
    bc_lr: float = 5e-4
    # Browsing prompts are cut to bc_max_length - 96 tokens, the budget the agent shows at
    # inference too (agent.types.AgentConfig.max_prompt_tokens): cheaper steps, same view.
    bc_max_length: int = 640
    bc_lora_layers: int = 8
    rm_init: str | None = None  # a reward adapter to go on training (None: a fresh LoRA)
    rm_steps: int = 200  # optimizer steps, each 4 pairs (grounding pairs are ~700 tokens: ~13 s a step)
    rm_lr: float = 3e-4
    rm_max_length: int = 512
    rm_lora_layers: int = 8
    rm_pairs_per_set: int = 120
    rm_grounding_pairs: int = 1000  # training grounding pairs (of ~1,570): over half of what the RM sees
    rm_save_steps: int = 25  # checkpoint interval; a rerun resumes from the last one
    measure_demos: int = 8  # held-out demos whose steps are decoded, for each of base and BC
    measure_pairs: int = 40  # held-out pairs scored per preference set


def _paths(recipe: Recipe) -> dict[str, Path]:
    from omni_model.shipped import ADAPTERS

    data = Path(recipe.data)
    out = Path(recipe.out) if recipe.out else ADAPTERS
    return {
        "eli5": data / "eli5_alce" / "eli5.json",
        "webgpt_samples": data / "eli5_webgpt_samples",
        "lfqa": data / "lfqa_expert_preferences" / "experts_pairwise_human_preferences.jsonl",
        "haluquestqa": data / "haluquestqa" / "preference_data.tsv",
        "hh": data / "hh_rlhf_harmless" / "test.jsonl",
        "policy": out / "policy",
        "reward": out / "reward",
    }


def check_data(recipe: Recipe) -> dict[str, Path]:
    """Every input file, checked before anything runs (a clear error, not a traceback later)."""
    from .bc import TrainingDataError

    paths = _paths(recipe)
    missing = [str(p) for k, p in paths.items() if k not in ("policy", "reward") and not p.exists()]
    if missing:
        raise TrainingDataError("`webqa train defaults` needs the public data sets; missing: " + ", ".join(missing)
                                + " (pass --data DIR)")
    return paths


def scripted_demos(questions: list[str], index_dir: str | None, concurrency: int = 4) -> tuple[list, Any]:
    from tqdm import tqdm

    from browser_env.runtime import WebRuntime

    from .synth import SynthConfig, synth_demos

    async def run() -> tuple[list, Any]:
        async with WebRuntime(index_dir) as rt:
            with tqdm(total=len(questions), desc="scripted demos", unit="q") as bar:
                return await synth_demos(rt.make_env, questions, SynthConfig(concurrency=concurrency,
                                         corpus=rt.index.name),
                                         progress=lambda _: bar.update())

    return asyncio.run(run())


def demo_comparisons(demos: list) -> list:
    """Each cited demo answer as the preferred side of a pair, for ``training.perturb`` to spoil."""
    from .comparisons import Comparison

    return [Comparison(d.question, d.answer, d.answer, 1.0, -1.0, tuple(d.quotes), tuple(d.quotes),
                       source=f"demo:{d.id}") for d in demos if d.answer.strip() and d.quotes]


def write_grounding_pairs(webgpt_samples: Path, out: Path, *, fraction: float, seed: int) -> Path:
    """Grounding pairs as trl rows; held out by the rule (fraction, seed) ``train_rm`` applies."""
    from .comparisons import export_trl, to_trl_rows
    from .grounding_pairs import build_pairs, load_samples

    export_trl(out, to_trl_rows(build_pairs(load_samples(webgpt_samples), fraction=fraction, seed=seed).pairs,
                                ties="drop"))
    return out


STAGES = ("demos", "dagger", "bc", "rm", "measure")


def dagger_stage(questions: list[str], student_spec: str, index_dir: str | None, out: Path) -> dict[str, Any]:
    """Roll the student out on ``questions``, write the expert-labelled states to ``out``."""
    from tqdm import tqdm

    from browser_env.runtime import WebRuntime
    from omni_model import load_policy

    from .dagger import DaggerConfig, dagger_demos
    from .demos import write_demos

    student = load_policy(student_spec)

    async def go() -> tuple[list, Any]:
        async with WebRuntime(index_dir) as rt:
            with tqdm(total=len(questions), desc="DAgger rollouts", unit="q") as bar:
                return await dagger_demos(student, questions, rt.make_env, DaggerConfig(corpus=rt.index.name),
                                          progress=bar.update)

    demos, stats = asyncio.run(go())
    write_demos(out, demos)
    return {"student": student_spec, **stats.to_json(), "failed": len(stats.failed)}


DAGGER_FILE = "dagger_demos.jsonl"  # the latest DAgger round's states in --work; earlier: dagger_demos.round<k>.jsonl


def dagger_files(work: Path) -> list[Path]:
    """Every DAgger round's states in ``work``: earlier rounds first, then the latest."""
    latest = work / DAGGER_FILE
    return sorted(work.glob("dagger_demos.round*.jsonl"), key=_round_number) + ([latest] if latest.is_file() else [])


def _round_number(path: Path) -> int:
    return int(path.name.removeprefix("dagger_demos.round").removesuffix(".jsonl"))


def keep_earlier_rounds(work: Path) -> list[Path]:
    """Before a new round: the latest round's file is kept as ``dagger_demos.round<k>.jsonl``."""
    files = dagger_files(work)
    latest = work / DAGGER_FILE
    if latest in files:
        kept = work / f"dagger_demos.round{len(files)}.jsonl"
        latest.replace(kept)
        files[-1] = kept
    return files


def relabel_files(files: list[Path]) -> int:
    """Earlier rounds' states labelled again by today's expert (its rules may have changed since);
    returns how many labels changed."""
    from .dagger import relabel
    from .demos import read_demos, write_demos

    changed = 0
    for f in files:
        demos, n = relabel(read_demos(f))
        write_demos(f, demos)
        changed += n
    return changed


def _write(work: Path, report: dict[str, Any]) -> None:
    # Rewritten after every stage, so a crash late in the run keeps what was measured before it.
    (work / "defaults_report.json").write_text(json.dumps(report, indent=2) + "\n")


def run(recipe: Recipe, *, index_dir: str | None = None, stages: tuple[str, ...] = STAGES) -> dict[str, Any]:
    """The recipe's ``stages`` in order; returns (and writes) the report.

    A later stage run alone reads what earlier ones left in ``recipe.work`` (the demos, the
    held-out pairs), so ``stages=("rm", "measure")`` retrains only the reward model."""
    import time

    from data.eli5.loaders import load_questions

    from .bc import BCConfig, train_bc
    from .common import resumable_checkpoints
    from .comparisons import export_webgpt
    from .demos import read_demos, write_demos
    from .imports import import_webgpt_samples
    from .perturb import perturb
    from .rm import RMConfig, train_rm

    from .bc import TrainingDataError

    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise TrainingDataError(f"unknown stages {unknown}; choose from {list(STAGES)}")
    paths = check_data(recipe)
    work = Path(recipe.work)
    work.mkdir(parents=True, exist_ok=True)
    report_path = work / "defaults_report.json"
    report: dict[str, Any] = json.loads(report_path.read_text()) if report_path.is_file() else {}
    report["recipe"] = asdict(recipe)
    demos_file, answers_file = work / "scripted_demos.jsonl", work / "webgpt_answer_demos.jsonl"
    dagger_file = work / DAGGER_FILE
    t0 = time.perf_counter()

    if "demos" in stages:
        questions = [r.question for r in load_questions(paths["eli5"])][EVAL_QUESTIONS:]
        demos, stats = scripted_demos(questions[:recipe.demo_questions], index_dir)
        write_demos(demos_file, demos)
        answers = import_webgpt_samples(paths["webgpt_samples"])
        answers = random.Random(recipe.seed).sample(answers, min(recipe.webgpt_answer_demos, len(answers)))
        write_demos(answers_file, answers)
        export_webgpt(work / "synthetic_citation_pairs.jsonl", perturb(demo_comparisons(demos), seed=recipe.seed))
        report["demos"] = {"scripted": stats.demos, "scripted_no_quotes": stats.no_quotes,
                           "scripted_failed": len(stats.failed), "scripted_steps": stats.steps,
                           "webgpt_answers": len(answers), "seconds": round(time.perf_counter() - t0, 1)}
        _write(work, report)

    if "dagger" in stages and recipe.dagger_questions > 0:
        from omni_model.shipped import default_policy_spec

        # DAgger aggregates: an earlier round's states are kept (relabelled by today's expert) and
        # this round's student browses the next questions along.
        earlier = keep_earlier_rounds(work)
        seen = {d.question for f in earlier for d in read_demos(f)}
        questions = [r.question for r in load_questions(paths["eli5"])][EVAL_QUESTIONS + recipe.demo_questions:]
        fresh = [q for q in questions if q not in seen][:recipe.dagger_questions]
        t1 = time.perf_counter()
        report["dagger"] = dagger_stage(fresh, recipe.bc_init or default_policy_spec(), index_dir, dagger_file)
        report["dagger"].update(round=len(earlier) + 1, earlier_relabelled=relabel_files(earlier),
                                seconds=round(time.perf_counter() - t1, 1))
        _write(work, report)

    if "bc" in stages:
        import shutil

        bc_checkpoints = work / "bc_checkpoints"
        bc = BCConfig(output_dir=str(bc_checkpoints), final_dir=str(paths["policy"]), seed=recipe.seed,
                      max_steps=recipe.bc_steps, per_device_train_batch_size=1, gradient_accumulation_steps=4,
                      per_device_eval_batch_size=1, learning_rate=recipe.bc_lr, lr_scheduler_type="cosine",
                      warmup_steps=10, logging_steps=10, max_length=recipe.bc_max_length,
                      lora_layers=recipe.bc_lora_layers, eval_strategy="no", eval_fraction=0.1,
                      split_seed=recipe.seed, max_eval_rows=60, init_adapter=recipe.bc_init,
                      **resumable_checkpoints(recipe.bc_save_steps))
        extra = dagger_files(work) if recipe.dagger_questions > 0 else []
        report["bc"] = train_bc([demos_file, answers_file, *extra], bc).to_json()
        shutil.rmtree(bc_checkpoints, ignore_errors=True)  # done: a later run must start afresh, not resume
        _write(work, report)

    if "rm" in stages:
        import shutil

        checkpoints = work / "rm_checkpoints"
        rm = RMConfig(output_dir=str(checkpoints), final_dir=str(paths["reward"]), seed=recipe.seed,
                      max_steps=recipe.rm_steps, per_device_train_batch_size=4, per_device_eval_batch_size=4,
                      learning_rate=recipe.rm_lr, lr_scheduler_type="cosine", warmup_steps=5, logging_steps=10,
                      max_length=recipe.rm_max_length, lora_layers=recipe.rm_lora_layers,
                      eval_strategy="no", max_pairs_per_file=recipe.rm_pairs_per_set,
                      pairs_per_file={"grounding_pairs": recipe.rm_grounding_pairs}, split_seed=recipe.seed,
                      heldout_dir=str(work / "rm_heldout"), max_eval_pairs=60, init_adapter=recipe.rm_init,
                      **resumable_checkpoints(recipe.rm_save_steps))
        grounding = write_grounding_pairs(paths["webgpt_samples"], work / "grounding_pairs.jsonl",
                                          fraction=rm.eval_fraction, seed=recipe.seed)
        report["rm"] = train_rm([paths["lfqa"], paths["haluquestqa"], paths["hh"],
                                 work / "synthetic_citation_pairs.jsonl", grounding], rm).to_json()
        shutil.rmtree(checkpoints, ignore_errors=True)  # done: a later run must start afresh, not resume
        _write(work, report)

    if "measure" in stages:
        report["measured"] = {}
        measure(paths, work, read_demos(demos_file), recipe, report["measured"], lambda: _write(work, report))
    report["seconds_this_run"] = round(time.perf_counter() - t0, 1)
    _write(work, report)
    return report


def measure(paths: dict[str, Path], work: Path, demos: list, recipe: Recipe, out: dict[str, Any],
            save: Any = None) -> dict[str, Any]:
    """Held-out next-command accuracy (base vs BC) and held-out RM accuracy per set vs baselines,
    filled into ``out`` as it goes (``save()`` after each figure)."""
    from omni_model import load_policy, load_reward_model
    from omni_model.spec import DEFAULT_POLICY

    from .bc import next_command_accuracy, split_demos
    from .comparisons import load_trl
    from .rm_eval import drop_too_long, evaluate

    _, heldout_demos = split_demos(demos, 0.1, recipe.seed)
    out["next_command"], out["rm"] = {}, {}
    for name, spec in (("base", DEFAULT_POLICY), ("bc", str(paths["policy"]))):
        out["next_command"][name] = next_command_accuracy(load_policy(spec), heldout_demos[:recipe.measure_demos])
        if save:
            save()
    # Scored as the agent scores candidates: at the reward model's default max_length.
    rm = load_reward_model(str(paths["reward"]))
    for f in sorted((work / "rm_heldout").glob("*.jsonl")):
        pairs, too_long = drop_too_long(rm, [c for c in load_trl(f).comparisons if not c.is_tie])
        r = evaluate(rm, pairs[:recipe.measure_pairs], batch_size=4)
        out["rm"][f.stem] = {"model": r.model.to_dict(), "longer": r.longer.to_dict(),
                             "more_citations": r.more_citations.to_dict(), "too_long": too_long}
        if save:
            save()
    return out

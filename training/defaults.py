"""``webqa train defaults``: the recipe behind webqa's shipped adapters, one command, fixed seed.

1. **Scripted demonstrations** (``training.synth``) on the embedded wiki-vital mini-web, for ELI5
   questions that the evaluation does not use (the ALCE file's first ``EVAL_QUESTIONS`` are the
   evaluation's; demonstrations start after them).
2. **Answer demonstrations** imported from ``eli5_webgpt_samples`` (the human demonstrators'
   and WebGPT's quotes and answers), a fixed-seed sample of them.
3. **Behaviour cloning** on both: a LoRA on the top layers of SmolLM2-135M -> ``adapters/policy``.
4. **Reward model** on the preference sets (lfqa expert preferences, HaluQuestQA, HH-RLHF
   harmless), each held out 10% by question, plus synthetic citation pairs from the scripted
   demonstrations (``training.perturb``) -> ``adapters/reward``.

Sizes are set so the whole run fits in under an hour on a 2-core CPU (see ``Recipe``); on a GPU
raise them. Every figure it measures is written to ``<work>/defaults_report.json``.
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
    demo_questions: int = 160
    webgpt_answer_demos: int = 40
    bc_steps: int = 80  # optimizer steps, each gradient_accumulation (4) rows
    bc_max_length: int = 768
    bc_lora_layers: int = 8
    rm_steps: int = 90  # optimizer steps, each 4 pairs
    rm_max_length: int = 448
    rm_lora_layers: int = 6
    rm_pairs_per_set: int = 120
    measure: bool = True
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


def run(recipe: Recipe, *, index_dir: str | None = None) -> dict[str, Any]:
    """The whole recipe; returns (and writes) the report."""
    import time

    from data.eli5.loaders import load_questions

    from .bc import BCConfig, train_bc
    from .comparisons import export_webgpt
    from .demos import write_demos
    from .imports import import_webgpt_samples
    from .perturb import perturb
    from .rm import RMConfig, train_rm

    paths = check_data(recipe)
    work = Path(recipe.work)
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(recipe.seed)
    report: dict[str, Any] = {"recipe": asdict(recipe)}
    t0 = time.perf_counter()

    questions = [r.question for r in load_questions(paths["eli5"])][EVAL_QUESTIONS:]
    questions = questions[:recipe.demo_questions]
    demos, stats = scripted_demos(questions, index_dir)
    write_demos(work / "scripted_demos.jsonl", demos)
    answers = import_webgpt_samples(paths["webgpt_samples"])
    answers = rng.sample(answers, min(recipe.webgpt_answer_demos, len(answers)))
    write_demos(work / "webgpt_answer_demos.jsonl", answers)
    report["demos"] = {"scripted": stats.demos, "scripted_no_quotes": stats.no_quotes,
                       "scripted_failed": len(stats.failed), "scripted_steps": stats.steps,
                       "webgpt_answers": len(answers), "seconds": round(time.perf_counter() - t0, 1)}

    bc = BCConfig(output_dir=str(paths["policy"]), seed=recipe.seed, max_steps=recipe.bc_steps,
                  per_device_train_batch_size=1, gradient_accumulation_steps=4, per_device_eval_batch_size=1,
                  learning_rate=2e-4, lr_scheduler_type="cosine", warmup_steps=5, logging_steps=10,
                  max_length=recipe.bc_max_length, lora_layers=recipe.bc_lora_layers, save_strategy="no",
                  eval_strategy="no", eval_fraction=0.1, split_seed=recipe.seed, max_eval_rows=60)
    report["bc"] = train_bc([work / "scripted_demos.jsonl", work / "webgpt_answer_demos.jsonl"], bc).to_json()

    synthetic = perturb(demo_comparisons(demos), seed=recipe.seed)
    export_webgpt(work / "synthetic_citation_pairs.jsonl", synthetic)
    rm = RMConfig(output_dir=str(paths["reward"]), seed=recipe.seed, max_steps=recipe.rm_steps,
                  per_device_train_batch_size=4, per_device_eval_batch_size=4, learning_rate=1e-4,
                  lr_scheduler_type="cosine", warmup_steps=5, logging_steps=10, max_length=recipe.rm_max_length,
                  lora_layers=recipe.rm_lora_layers, save_strategy="no", eval_strategy="no",
                  max_pairs_per_file=recipe.rm_pairs_per_set, split_seed=recipe.seed,
                  heldout_dir=str(work / "rm_heldout"), max_eval_pairs=60)
    report["rm"] = train_rm([paths["lfqa"], paths["haluquestqa"], paths["hh"],
                             work / "synthetic_citation_pairs.jsonl"], rm).to_json()
    report["train_seconds"] = round(time.perf_counter() - t0, 1)
    if recipe.measure:
        report["measured"] = measure(paths, work, demos, recipe)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    (work / "defaults_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def measure(paths: dict[str, Path], work: Path, demos: list, recipe: Recipe) -> dict[str, Any]:
    """Held-out next-command accuracy (base vs BC) and held-out RM accuracy per set, vs baselines."""
    from omni_model import load_policy, load_reward_model
    from omni_model.spec import DEFAULT_POLICY

    from .bc import next_command_accuracy, split_demos
    from .comparisons import load_trl
    from .rm_eval import evaluate

    _, heldout_demos = split_demos(demos, 0.1, recipe.seed)
    out: dict[str, Any] = {"next_command": {}, "rm": {}}
    for name, spec in (("base", DEFAULT_POLICY), ("bc", str(paths["policy"]))):
        out["next_command"][name] = next_command_accuracy(load_policy(spec), heldout_demos[:recipe.measure_demos])
    rm = load_reward_model(str(paths["reward"]), max_length=recipe.rm_max_length)
    for f in sorted((work / "rm_heldout").glob("*.jsonl")):
        pairs = [c for c in load_trl(f).comparisons if not c.is_tie][:recipe.measure_pairs]
        r = evaluate(rm, pairs, batch_size=4)
        out["rm"][f.stem] = {"model": r.model.to_dict(), "longer": r.longer.to_dict(),
                             "more_citations": r.more_citations.to_dict()}
    return out

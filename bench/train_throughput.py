"""Training throughput on the CPU: behaviour-cloning samples/s and peak memory, by recipe.

Trains the embedded SmolLM2-135M with trl's SFTTrainer on the same demonstration rows three
ways, each for ``--steps`` optimizer steps of 4 rows (batch 1, gradient accumulation 4):

- ``full``: every weight trained (the baseline);
- ``lora_all``: LoRA r=16 on every linear layer of all 30 decoder layers;
- ``lora_top``: LoRA r=16 on the top 8 layers only (what ``webqa train defaults`` ships), so the
  backward pass stops at layer 22.

The rows are scripted demonstrations made in the same run on the real text browser
(``training.synth``) from ELI5 questions. The last line holds the figures as key=value pairs:
the samples/s of each, the speed-up of each LoRA recipe over full fine-tuning, and the
peak RSS of the process.

    python bench/train_throughput.py ../shared/data/eli5_alce/eli5.json [--steps 4] [--questions 12]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_demos(questions_file: str, n: int, out: Path) -> None:
    from browser_env.runtime import WebRuntime
    from data.eli5.loaders import load_questions
    from training.demos import write_demos
    from training.synth import SynthConfig, synth_demos

    questions = [r.question for r in load_questions(questions_file)][50:50 + n]

    async def run():
        async with WebRuntime() as rt:
            return await synth_demos(rt.make_env, questions, SynthConfig(concurrency=4))

    demos, _ = asyncio.run(run())
    write_demos(out, demos)


def train(demos: Path, out: Path, steps: int, *, lora: bool, layers: int | None) -> dict:
    from training.bc import BCConfig, train_bc

    config = BCConfig(output_dir=str(out), max_steps=steps, per_device_train_batch_size=1,
                      gradient_accumulation_steps=4, max_length=768, lora=lora, lora_layers=layers,
                      learning_rate=1e-4, save_strategy="no", eval_strategy="no", eval_fraction=0.0,
                      disable_tqdm=True, logging_steps=steps)
    seconds = train_bc([demos], config).train_seconds
    return {"samples_s": steps * 4 / seconds, "seconds": seconds}


def main() -> None:
    import resource

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("questions", help="ELI5 questions (the ALCE eli5.json)")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--questions-n", type=int, default=12)
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    with tempfile.TemporaryDirectory() as tmp:
        demos = Path(tmp) / "demos.jsonl"
        make_demos(args.questions, args.questions_n, demos)
        figures = {}
        for name, lora, layers in (("full", False, None), ("lora_all", True, None), ("lora_top", True, 8)):
            figures[name] = train(demos, Path(tmp) / name, args.steps, lora=lora, layers=layers)
            print(f"{name}: {figures[name]['samples_s']:.3f} samples/s ({figures[name]['seconds']:.1f} s)",
                  flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    base = figures["full"]["samples_s"]
    print(" ".join([
        f"steps={args.steps}", "rows_per_step=4", "baseline=full_finetune",
        *(f"{k}_samples_s={v['samples_s']:.3f}" for k, v in figures.items()),
        f"speedup_lora_all={figures['lora_all']['samples_s'] / base:.2f}",
        f"speedup_lora_top={figures['lora_top']['samples_s'] / base:.2f}",
        f"peak_rss_mb={peak_mb:.0f}",
    ]))


if __name__ == "__main__":
    main()

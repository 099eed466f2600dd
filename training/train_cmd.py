"""``webqa train bc | omni | rm | defaults``: behaviour cloning, the omni model, reward models, the defaults.

    webqa train bc --demos demos.jsonl --out runs/bc [--lora] [--epochs 1] [--max-steps N]
    webqa train bc --screenshots --demos shots.jsonl --out runs/omni-bc      # BC that sees the pages
    webqa train omni --demos shots.jsonl --speech runs/speech --out runs/omni # ... and hears questions
    webqa train rm --comparisons prefs.jsonl preference_data.tsv --out runs/rm [--ties soft]
    webqa train defaults [--data ../shared/data]        # retrains omni_model/adapters

Data are read and checked before any model loads: a malformed row is reported with its file
and line and skipped (``--strict`` stops instead); an empty set, or one with only ties, is an
error (exit 2). Training shows trl's progress bar and ends with a JSON summary on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

GPU_NOTE = """On a GPU, bf16 and gradient checkpointing are switched on by themselves; for several
GPUs run the same command under `accelerate launch -m webqa.cli train ...`."""


def _common(p: argparse.ArgumentParser, base_help: str) -> None:
    p.add_argument("--out", required=True, metavar="DIR", help="where the checkpoint is written")
    p.add_argument("--base", "--policy", dest="base", default="smollm2-135m", metavar="SPEC", help=base_help)
    p.add_argument("--lora", action=argparse.BooleanOptionalAction, default=True,
                   help="train a LoRA adapter (default) or, with --no-lora, every weight")
    p.add_argument("--lora-r", type=int, default=16, help="LoRA rank (default 16)")
    p.add_argument("--lora-layers", type=int, default=None, metavar="N",
                   help="adapt only the top N layers: backward stops there, much faster on a CPU")
    p.add_argument("--epochs", type=float, default=1.0, help="passes over the training rows (default 1)")
    p.add_argument("--max-steps", type=int, default=-1, help="stop after this many optimizer steps")
    p.add_argument("--batch-size", type=int, default=1, help="rows per device step (default 1)")
    p.add_argument("--grad-accum", type=int, default=4, help="gradient accumulation steps (default 4)")
    p.add_argument("--lr", type=float, default=2e-4, help="learning rate (default 2e-4)")
    p.add_argument("--max-length", type=int, default=768, help="tokens per training text (default 768)")
    p.add_argument("--eval-fraction", type=float, default=0.1, help="share held out, by question (default 0.1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strict", action="store_true", help="stop at the first malformed row")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (worth it on a GPU)")


def _continuing(p: argparse.ArgumentParser, committed: str) -> None:
    p.add_argument("--init-adapter", default=None, metavar="DIR",
                   help=f"go on training this LoRA adapter (e.g. {committed}) instead of a fresh one; "
                        "the LoRA flags then come from the adapter")


def _stem_cap(text: str) -> tuple[str, int]:
    stem, sep, n = text.partition("=")
    if not sep or not stem or not n.isdigit():
        raise argparse.ArgumentTypeError(f"expected STEM=N (a file stem and a whole number), got {text!r}")
    return stem, int(n)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    train = subparsers.add_parser("train", help="behaviour cloning, reward-model training, shipped defaults",
                                  description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = train.add_subparsers(dest="train_command", metavar="<train command>", required=True)
    bc = sub.add_parser("bc", help="behaviour-clone a policy on demonstrations (trl SFTTrainer)",
                        description="Behaviour cloning with trl's SFTTrainer on prompt/completion rows "
                        "(loss on the completions only), one row per browsing step and one per answer. "
                        "Demos are held out by question; the held-out loss is reported. The checkpoint "
                        "loads with `webqa ask --policy DIR`.\n\n" + GPU_NOTE,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    bc.add_argument("--demos", nargs="+", required=True, metavar="FILE", help="demonstration JSONL files")
    bc.add_argument("--screenshots", action="store_true",
                    help="train the omni model on the demos' page screenshots too (an omni checkpoint; "
                         "record them with `webqa demos synth --screenshots` or the recorder)")
    _common(bc, "policy spec to start from (default: smollm2-135m; with --screenshots: the shipped BC adapter)")
    _continuing(bc, "omni_model/adapters/policy")
    om = sub.add_parser("omni", help="train the omni model: screenshot BC and spoken questions, end to end",
                        description="Trains one network on browsing steps with their page screenshots and on "
                        "spoken questions (`webqa demos speech`), which it learns to write down. The LM's LoRA "
                        "(continuing the shipped BC adapter by default), the image encoder (a small ViT from "
                        "scratch, or --image-encoder FOLDER) and both projectors train; Whisper tiny.en's "
                        "encoder stays as pretrained unless --train-audio-encoder. Writes an omni checkpoint "
                        "for `webqa ask --policy DIR --audio/--image`.\n\n" + GPU_NOTE,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    om.add_argument("--demos", nargs="*", default=[], metavar="FILE", help="demonstration JSONL files")
    om.add_argument("--speech", nargs="*", default=[], metavar="DIR", help="speech folders (manifest.jsonl)")
    om.add_argument("--no-screenshots", dest="screenshots", action="store_false",
                    help="leave the screenshots out (the text-only control)")
    om.add_argument("--train-audio-encoder", action="store_true", help="also train Whisper's encoder")
    om.add_argument("--speech-repeats", type=int, default=1, metavar="K",
                    help="passes over the spoken questions per pass over the demos (default 1)")
    om.add_argument("--image-encoder", default="scratch", metavar="FOLDER",
                    help="a local Hugging Face vision model to start from (default: a small ViT from scratch)")
    om.add_argument("--int8", action="store_true",
                    help="store the encoders' weight matrices in int8, one scale per row (as the shipped "
                         "checkpoint is; default fp16)")
    _common(om, "LM to start from (default: 'shipped', the shipped BC adapter)")
    rm = sub.add_parser("rm", help="train a reward model on comparisons (trl RewardTrainer)",
                        description="Reward-model training with trl's RewardTrainer. --comparisons takes "
                        "WebGPT comparisons JSONL, trl prompt/chosen/rejected JSONL, lfqa expert "
                        "preferences, HH-RLHF JSONL or HaluQuestQA TSV. Held-out pairs are written under "
                        "DIR/heldout for `webqa rm eval`.\n\n" + GPU_NOTE,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    rm.add_argument("--comparisons", nargs="+", required=True, metavar="FILE", help="comparison files")
    rm.add_argument("--ties", choices=("soft", "drop"), default="drop",
                    help="ties: WebGPT's soft 50%% label (both orderings) or drop them (default)")
    rm.add_argument("--perturbations", action="store_true",
                    help="add synthetic pairs: citations removed, quotes swapped, unsupported sentences")
    rm.add_argument("--max-pairs-per-file", type=int, default=None, metavar="N",
                    help="a fixed-seed sample of at most N training pairs from each file")
    rm.add_argument("--pairs-per-file", nargs="+", default=[], metavar="STEM=N", type=_stem_cap,
                    help="per-file caps overriding --max-pairs-per-file, by file stem, e.g. "
                         "experts_pairwise_human_preferences=1000 grounding_pairs=150")
    rm.add_argument("--save-steps", type=int, default=None, metavar="N",
                    help="checkpoint every N steps under --out; run the same command again to resume "
                         "after an interruption (default: no checkpoints)")
    _common(rm, "backbone spec (default: smollm2-135m)")
    _continuing(rm, "omni_model/adapters/reward")
    d = sub.add_parser("defaults", help="retrain webqa's shipped BC and reward-model adapters",
                       description="Retrains omni_model/adapters/{policy,reward} from the public data "
                       "sets (ELI5 questions, WebGPT's samples, lfqa/HaluQuestQA/HH-RLHF preferences) "
                       "and scripted demonstrations on the embedded mini-web, with a fixed seed. "
                       "Sized for under an hour on a 2-core CPU; writes WORK/defaults_report.json.",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("--data", default="../shared/data", metavar="DIR", help="the public data folder")
    d.add_argument("--work", default="runs/defaults", metavar="DIR", help="demos, held-out sets, report")
    d.add_argument("--out", default=None, metavar="DIR", help="adapters folder (default: omni_model/adapters)")
    d.add_argument("--index", default=None, metavar="DIR", help="mini-web index (default: wiki-vital)")
    d.add_argument("--bc-steps", type=int, default=None, metavar="N", help="BC optimizer steps (default: the recipe's)")
    d.add_argument("--bc-init", default=None, metavar="DIR",
                   help="go on training this policy adapter (e.g. omni_model/adapters/policy, so training "
                        "continues from what was committed) instead of a fresh LoRA")
    d.add_argument("--rm-init", default=None, metavar="DIR",
                   help="go on training this reward adapter (e.g. omni_model/adapters/reward) instead of a fresh LoRA")
    d.add_argument("--dagger-questions", type=int, default=None, metavar="N",
                   help="questions the student browses for DAgger labels (default: the recipe's; 0: none)")
    d.add_argument("--stages", default="demos,dagger,bc,rm,measure", metavar="LIST",
                   help="comma-separated stages to run (default: all, in order: demos,dagger,bc,rm,measure); a later "
                        "stage alone reuses what earlier ones left in --work")
    return train


def _shared(args: argparse.Namespace) -> dict[str, Any]:
    """The config fields both trainers take from the shared flags."""
    return dict(output_dir=args.out, lora=args.lora, lora_r=args.lora_r, lora_alpha=2 * args.lora_r,
                lora_layers=args.lora_layers, num_train_epochs=args.epochs, max_steps=args.max_steps,
                per_device_train_batch_size=args.batch_size, per_device_eval_batch_size=args.batch_size,
                gradient_accumulation_steps=args.grad_accum, learning_rate=args.lr, max_length=args.max_length,
                eval_fraction=args.eval_fraction, split_seed=args.seed, seed=args.seed, strict=args.strict,
                torch_compile=getattr(args, "compile", False),
                save_strategy="no", eval_strategy="no", logging_steps=10)


def _bc_config(args: argparse.Namespace) -> Any:
    from .bc import BCConfig

    return BCConfig(base_policy=args.base, init_adapter=args.init_adapter, **_shared(args))


def _omni_config(args: argparse.Namespace) -> Any:
    from .omni_train import OmniTrainConfig

    base = "shipped" if args.base == "smollm2-135m" else args.base  # the flag's default means "not given"
    return OmniTrainConfig(base_policy=base, screenshots=getattr(args, "screenshots", True),
                           train_audio_encoder=getattr(args, "train_audio_encoder", False),
                           image_encoder=getattr(args, "image_encoder", "scratch"),
                           speech_repeats=getattr(args, "speech_repeats", 1),
                           int8_encoders=getattr(args, "int8", False), **_shared(args))


def _rm_config(args: argparse.Namespace) -> Any:
    from .common import resumable_checkpoints
    from .rm import RMConfig

    shared = _shared(args)
    if args.save_steps:
        shared.update(resumable_checkpoints(args.save_steps))
    return RMConfig(base_model=args.base, ties=args.ties, perturbations=args.perturbations,
                    max_pairs_per_file=args.max_pairs_per_file, pairs_per_file=dict(args.pairs_per_file) or None,
                    init_adapter=args.init_adapter, **shared)


def main(args: argparse.Namespace) -> int:
    from data.eli5.loaders import DataError

    from .bc import TrainingDataError
    from .demos import DemoFormatError

    try:
        if args.train_command in ("bc", "omni"):
            if args.train_command == "bc" and args.screenshots and args.init_adapter:  # before reading any demo
                print("error: --screenshots trains the omni model, which starts from --policy DIR; "
                      "--init-adapter is for text-only BC", file=sys.stderr)
                return 2
            from .bc import load_demo_files, train_bc

            if args.demos:
                _, errors = load_demo_files(args.demos, strict=args.strict)  # fail fast, before torch
                for e in errors:
                    print(f"skipped malformed row: {e}", file=sys.stderr)
            if args.train_command == "omni" or args.screenshots:
                from dataclasses import asdict

                from .omni_train import train_omni
                from .speech import read_manifest

                for folder in getattr(args, "speech", []):
                    bad: list = []
                    read_manifest(folder, errors=None if args.strict else bad)  # --strict: stop at the first
                    for e in bad:
                        print(f"skipped bad row: {e}", file=sys.stderr)
                result = asdict(train_omni(args.demos, getattr(args, "speech", []), _omni_config(args)))
            else:
                result = train_bc(args.demos, _bc_config(args)).to_json()
        elif args.train_command == "rm":
            from .rm import load_training_sets, train_rm

            config = _rm_config(args)
            load_training_sets(args.comparisons, config)
            result = train_rm(args.comparisons, config).to_json()
        else:
            from .defaults import Recipe, run

            stages = tuple(x.strip() for x in args.stages.split(",") if x.strip())
            recipe = Recipe(data=args.data, work=args.work, out=args.out, bc_init=args.bc_init,
                            rm_init=args.rm_init)
            if args.bc_steps is not None:
                recipe.bc_steps = args.bc_steps
            if args.dagger_questions is not None:
                recipe.dagger_questions = args.dagger_questions
            result = run(recipe, index_dir=args.index, stages=stages)
    except (TrainingDataError, DemoFormatError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0

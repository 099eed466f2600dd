"""Step latency and throughput of the text browser on the mini-web, with real Chromium.

    python bench/browser_steps.py ../shared/data/wikipedia_featured_good [--episodes 16] [--index DIR]

Builds (or reuses, with --index) a mini-web index of the WikiExtractor corpus, then runs scripted
episodes (reset, Search, Click, Scroll, Find, Quote, Back, Click, End) and reports:
- median ms per reset, Search, Click, Scroll, Find and Quote (one episode at a time);
- steps/s with 1 and with 8 concurrent episodes sharing one Chromium, against the baseline that
  launches a browser (a fresh runtime) per episode, measured in the same run;
- peak memory (RSS of this process plus its Chromium processes).
The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _memory import PeakRSS
from _report import last_line  # bench/ is on sys.path when a script runs

from browser_env.text.env import EnvConfig
from browser_env.runtime import WebRuntime

QUESTIONS_FALLBACK = ["history of the roman empire", "how do vaccines work", "why is the sky blue",
                      "what causes earthquakes", "how do bees make honey", "who was albert einstein",
                      "what is photosynthesis", "how do airplanes fly"]


def questions(n: int, eli5: Path | None) -> list[str]:
    if eli5 and eli5.exists():
        rows = json.loads(eli5.read_text())
        return [r["question"] for r in rows[:n]]
    return [QUESTIONS_FALLBACK[i % len(QUESTIONS_FALLBACK)] for i in range(n)]


async def episode(rt: WebRuntime, question: str, timings: dict[str, list[float]] | None) -> int:
    env = rt.make_env(EnvConfig(max_actions=50))

    async def timed(kind: str, coro):
        t = time.perf_counter()
        out = await coro
        if timings is not None:
            timings[kind].append((time.perf_counter() - t) * 1000)
        return out

    await timed("reset", env.reset(question))
    steps = 0
    result = await timed("search", env.step(f"Search {question}"))
    steps += 1
    if result.links:
        result = await timed("click", env.step(f"Clicked on link {result.links[0]}"))
        await timed("scroll", env.step("Scrolled down 1"))
        words = [w for w in result.page_text.split() if len(w) > 6]
        if words:
            await timed("find", env.step(f"Find in page: {words[len(words) // 2]}"))
            steps += 1
        sentence = " ".join(result.page_text.split()[5:15])
        if sentence:
            await timed("quote", env.step(f"Quote: {sentence}"))
            steps += 1
        await timed("back", env.step("Back"))
        if len(result.links) > 1:
            await timed("click", env.step("Clicked on link 1"))
            steps += 1
        steps += 3
    await env.step("End: Answer")
    await env.close()
    return steps + 1


async def run_shared(index: Path, qs: list[str], concurrency: int, timings=None) -> tuple[int, float]:
    async with WebRuntime(index, prewarm=max(2, min(concurrency, 4))) as rt:
        await episode(rt, "warm up", None)
        sem = asyncio.Semaphore(concurrency)

        async def one(q: str) -> int:
            async with sem:
                return await episode(rt, q, timings)

        t = time.perf_counter()
        steps = sum(await asyncio.gather(*(one(q) for q in qs)))
        return steps, time.perf_counter() - t


async def run_browser_per_episode(index: Path, qs: list[str]) -> tuple[int, float]:
    t = time.perf_counter()
    steps = 0
    for q in qs:
        async with WebRuntime(index, prewarm=0) as rt:
            steps += await episode(rt, q, None)
    return steps, time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wiki_dir", type=Path, help="WikiExtractor corpus folder (../shared/data/wikipedia_featured_good)")
    ap.add_argument("--index", type=Path, help="reuse an index built from it")
    ap.add_argument("--episodes", type=int, default=16)
    ap.add_argument("--questions", type=Path, default=None, help="ELI5 JSON for queries (default: next to wiki_dir)")
    args = ap.parse_args()

    from browser_env.miniweb.corpus import iter_corpus
    from browser_env.miniweb.index import build_index

    tmp = None
    index = args.index
    if index is None or not (index / "meta.json").exists():
        tmp = tempfile.TemporaryDirectory()
        index = Path(tmp.name) / "featured"
        stats = build_index(iter_corpus(args.wiki_dir), index, name="featured", progress=False)
        print(f"built index: {stats.summary()}")
    qs = questions(args.episodes, args.questions or args.wiki_dir.parent / "eli5_alce" / "eli5.json")

    with PeakRSS() as mem:
        timings: dict[str, list[float]] = defaultdict(list)
        steps1, secs1 = asyncio.run(run_shared(index, qs, 1, timings))
        steps8, secs8 = asyncio.run(run_shared(index, qs, 8))
        base_qs = qs[: max(4, len(qs) // 4)]
        steps_b, secs_b = asyncio.run(run_browser_per_episode(index, base_qs))

    med = {k: statistics.median(v) for k, v in timings.items()}
    for k in ("reset", "search", "click", "scroll", "find", "quote", "back"):
        if k in timings:
            v = sorted(timings[k])
            print(f"{k:>7}: median {med[k]:7.1f} ms  p90 {v[int(0.9 * (len(v) - 1))]:7.1f} ms  (n={len(v)})")
    sps1, sps8, sps_b = steps1 / secs1, steps8 / secs8, steps_b / secs_b
    print(f"steps/s: 1 episode {sps1:.2f}, 8 concurrent {sps8:.2f}, browser-per-episode baseline {sps_b:.2f}")
    print(f"speedup vs baseline: 1 episode {sps1 / sps_b:.2f}x, 8 concurrent {sps8 / sps_b:.2f}x")
    print(f"peak RSS (python + chromium): {mem.peak_bytes / 2**20:.0f} MB")
    if tmp is not None:
        tmp.cleanup()
    keys = {
        "reset_ms": med.get("reset"), "search_ms": med.get("search"), "click_ms": med.get("click"),
        "scroll_ms": med.get("scroll"), "find_ms": med.get("find"), "quote_ms": med.get("quote"),
        "steps_per_s_1": sps1, "steps_per_s_8": sps8, "baseline": "browser_per_episode",
        "baseline_steps_per_s": sps_b, "speedup_1": sps1 / sps_b, "speedup_8": sps8 / sps_b,
        "peak_rss_mb": mem.peak_bytes / 2**20,
    }
    print(last_line(keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())

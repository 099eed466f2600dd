"""Page-text fidelity: how much of a page's main text webqa's renderer keeps, and how fast.

Measures the offline HTML pipeline only (``browser_env.text.render.render_html`` with main-content
extraction, link markup stripped with ``strip_links``); Chromium and the visibility pass are not run.
Baselines measured in the same run: BeautifulSoup ``get_text()`` and trafilatura's default
``extract()``. The score is token-level F1 (lower-cased ``\\w+`` tokens, bag-of-tokens precision and
recall, as in the scrapinghub article-extraction benchmark), averaged over pages.

    python bench/page_text_fidelity.py ../shared/data/html_pages

PAGES_DIR holds ``scrapinghub_article_extraction/`` (``html/<id>.html.gz`` + ``ground-truth.json``)
and ``mozilla_readability/`` (``<name>/source.html`` + ``expected.html``). The last line printed is
``f1=… ms_per_page=… get_text_f1=… trafilatura_f1=… trafilatura_ms_per_page=…``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_TOKEN = re.compile(r"\w+")


@dataclass
class Page:
    collection: str
    name: str
    url: str
    html: str
    reference: str


def token_f1(predicted: str, reference: str) -> float:
    pred = Counter(_TOKEN.findall(predicted.lower()))
    ref = Counter(_TOKEN.findall(reference.lower()))
    if not pred and not ref:
        return 1.0
    common = sum((pred & ref).values())
    if common == 0:
        return 0.0
    precision = common / sum(pred.values())
    recall = common / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def load_pages(pages_dir: Path) -> list[Page]:
    import lxml.html

    pages: list[Page] = []
    sh = pages_dir / "scrapinghub_article_extraction"
    if (sh / "ground-truth.json").exists():
        truth = json.loads((sh / "ground-truth.json").read_text(encoding="utf-8"))
        for key in sorted(truth):
            path = sh / "html" / f"{key}.html.gz"
            if not path.exists():
                continue
            html = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
            pages.append(Page("scrapinghub", key, truth[key].get("url") or "http://example.com/",
                              html, truth[key]["articleBody"]))
    mz = pages_dir / "mozilla_readability"
    if mz.is_dir():
        for d in sorted(mz.iterdir()):
            if not (d / "source.html").exists() or not (d / "expected.html").exists():
                continue
            expected = (d / "expected.html").read_text(encoding="utf-8", errors="replace")
            ref = " ".join(lxml.html.fromstring(expected).itertext()) if expected.strip() else ""
            pages.append(Page("mozilla", d.name, "http://fakehost/test/page.html",
                              (d / "source.html").read_text(encoding="utf-8", errors="replace"), ref))
    return pages


def webqa_text(page: Page) -> str:
    from browser_env.text.render import render_html, strip_links

    return strip_links(render_html(page.html, page.url).text)


def get_text(page: Page) -> str:
    from bs4 import BeautifulSoup

    return BeautifulSoup(page.html, "lxml").get_text(" ")


def trafilatura_text(page: Page) -> str:
    import trafilatura

    return trafilatura.extract(page.html) or ""


def measure(methods: dict[str, Callable[[Page], str]], pages: list[Page]
            ) -> dict[str, tuple[dict[str, list[float]], float]]:
    """F1 per collection and ms/page for each method.

    The methods take turns page by page (in rotating order) rather than one after another, so a
    busy shared machine slows them all alike and the time ratio stays meaningful.
    """
    names = list(methods)
    for fn in methods.values():
        fn(pages[0])  # imports and caches outside the clock
    scores: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    elapsed = dict.fromkeys(names, 0.0)
    for i, page in enumerate(pages):
        for name in names[i % len(names):] + names[:i % len(names)]:
            t0 = time.perf_counter()
            text = methods[name](page)
            elapsed[name] += time.perf_counter() - t0
            scores[name].setdefault(page.collection, []).append(token_f1(text, page.reference))
    return {n: (scores[n], 1000 * elapsed[n] / len(pages)) for n in names}


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pages_dir", type=Path)
    args = ap.parse_args(argv)
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    pages = load_pages(args.pages_dir)
    if not pages:
        print(f"no pages found under {args.pages_dir}", file=sys.stderr)
        return 2
    print(f"{len(pages)} pages: " + ", ".join(f"{c}={n}" for c, n in Counter(p.collection for p in pages).items()))
    results = measure({"webqa": webqa_text, "get_text": get_text, "trafilatura": trafilatura_text}, pages)
    collections = sorted({p.collection for p in pages})
    print(f"{'method':12s} " + " ".join(f"{c:>12s}" for c in collections) + f" {'overall':>8s} {'ms/page':>8s}")
    overall = {}
    for name, (scores, ms) in results.items():
        overall[name] = mean([s for c in collections for s in scores.get(c, [])])
        print(f"{name:12s} " + " ".join(f"{mean(scores.get(c, [])):12.4f}" for c in collections)
              + f" {overall[name]:8.4f} {ms:8.1f}")
    web_ms, tra_ms = results["webqa"][1], results["trafilatura"][1]
    f1_ratio = overall["webqa"] / overall["trafilatura"] if overall["trafilatura"] else 0.0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"vs trafilatura (baseline): F1 ratio {f1_ratio:.3f}, time ratio {web_ms / tra_ms:.2f} "
          f"({tra_ms / web_ms:.1f}x faster); peak RSS {peak_mb:.0f} MB")
    print(f"f1={overall['webqa']:.4f} ms_per_page={web_ms:.2f} get_text_f1={overall['get_text']:.4f} "
          f"trafilatura_f1={overall['trafilatura']:.4f} trafilatura_ms_per_page={tra_ms:.2f} "
          f"f1_ratio={f1_ratio:.3f} time_ratio={web_ms / tra_ms:.3f} peak_rss_mb={peak_mb:.0f} pages={len(pages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

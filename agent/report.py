"""report.html for ``webqa eval``: one self-contained page, plots embedded as base64 PNG.

    write_report(out_dir / "report.html", metrics, records)

Three plots (matplotlib, Agg backend, imported here only): the best-of-n curve with standard-error
bars (reward, and ROUGE-L when there are references) beside the closed-book level; the
distribution of actions per episode; citation statistics. Then a table of the metrics beside the
closed-book baseline, and a few example answers with their references. Every string from the
data is HTML-escaped; the page loads nothing from outside.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXAMPLES = 3
CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .7em;text-align:left}
th{background:#f3f3f3}.plots img{max-width:49%;vertical-align:top}.ex{border:1px solid #ddd;padding:.8em;
margin:1em 0;border-radius:6px}.ans{white-space:pre-wrap}.ref{font-size:.9em;color:#444}
.note{color:#666;font-size:.9em}"""


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{100 * v:.1f}%" if pct else f"{v:.4g}"
    return html.escape(str(v))


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _curve(ax: Any, curve: dict[str, dict], label: str, color: str) -> None:
    pts = [(int(n), c["mean"], c["stderr"] or 0.0) for n, c in curve.items() if c["mean"] is not None]
    if pts:
        xs, ys, es = zip(*pts, strict=True)
        ax.errorbar(xs, ys, yerr=es, marker="o", capsize=4, color=color, label=label)


def plots(metrics: dict[str, Any], records: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """(title, base64 PNG) for each plot; empty when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display, no GUI toolkit
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    out: list[tuple[str, str]] = []
    cb = metrics.get("closed_book") or {}

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    _curve(ax, metrics.get("reward_by_n") or {}, "reward (best-of-n estimate)", "tab:blue")
    if cb.get("reward") is not None:
        ax.axhline(cb["reward"], color="tab:blue", ls="--", lw=1, label="closed-book reward")
    ax.set_xscale("log", base=2)
    ns = [int(n) for n in metrics.get("reward_by_n") or {}]
    if ns:
        ax.set_xticks(ns, [str(n) for n in ns])  # 1, 4, 16 rather than 2^0, 2^2, 2^4
        ax.minorticks_off()
    ax.set_xlabel("n (answers sampled, best kept by the reward model)")
    ax.set_ylabel("reward")
    if metrics.get("rouge_l_by_n"):
        ax2 = ax.twinx()
        _curve(ax2, metrics["rouge_l_by_n"], "ROUGE-L", "tab:orange")
        if cb.get("rouge_l") is not None:
            ax2.axhline(cb["rouge_l"], color="tab:orange", ls="--", lw=1, label="closed-book ROUGE-L")
        ax2.set_ylabel("ROUGE-L F")
        ax2.legend(loc="lower right", fontsize=8)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("Best-of-n (mean ± s.e. over questions)")
    out.append(("best-of-n", _png(fig)))
    plt.close(fig)

    per_episode = [a for r in records for a in r["metrics"]["actions_per_episode"]]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    if per_episode:
        ax.hist(per_episode, bins=min(30, max(1, max(per_episode) - min(per_episode) + 1)), color="tab:green")
    ax.set_xlabel("actions in the episode")
    ax.set_ylabel("episodes")
    ax.set_title(f"Actions per episode ({len(per_episode)} episodes)")
    out.append(("actions", _png(fig)))
    plt.close(fig)

    c = metrics.get("citations") or {}
    counts = [r["metrics"]["citations"] for r in records if r["metrics"]["answered"]]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.4))
    if counts:
        a1.hist(counts, bins=range(0, max(counts) + 2), color="tab:purple", align="left")
    a1.set_xlabel("citations in the returned answer")
    a1.set_ylabel("answers")
    shares = {"≥1 citation": c.get("share_with_citation"), "cited quotes verified": c.get("cited_quotes_verified")}
    a2.bar(list(shares), [v or 0.0 for v in shares.values()], color=["tab:purple", "tab:gray"])
    a2.set_ylim(0, 1)
    a2.set_title("shares", fontsize=10)
    fig.suptitle("Citations")
    out.append(("citations", _png(fig)))
    plt.close(fig)
    return out


def _rows(metrics: dict[str, Any]) -> list[tuple[str, ...]]:
    """(metric, agent, each baseline policy..., closed-book) rows of the metrics table."""
    cb = metrics.get("closed_book") or {}
    bls = list((metrics.get("baselines") or {}).values())
    c, a = metrics.get("citations") or {}, metrics.get("actions") or {}

    def row(name: str, agent: str, key: str | None = None, closed: str = "", pct: bool = False) -> tuple[str, ...]:
        return (name, agent, *(_fmt(b.get(key), pct) if key else "" for b in bls), closed)

    rows = [row("questions", _fmt(metrics.get("questions")), "questions", _fmt(cb.get("questions")))]
    rows.append(row("answered (cites a verified quote from a content page)", _fmt(metrics.get("answered_share"), True),
                    "answered_share", pct=True))
    for n, v in (metrics.get("reward_by_n") or {}).items():
        rows.append(row(f"reward, best-of-{n} ({v['questions']} q)", f"{_fmt(v['mean'])} ± {_fmt(v['stderr'])}",
                        "reward" if n == "1" else None, _fmt(cb.get("reward")) if n == "1" else ""))
    rows.append(row("support (answered; share of sentences covered by their cited quotes)",
                    _fmt(metrics.get("support")), "support", "0 (cites nothing)" if cb else ""))
    for n, v in (metrics.get("support_by_n") or {}).items():
        rows.append(row(f"support, best-of-{n} by reward", f"{_fmt(v['mean'])} ± {_fmt(v['stderr'])}"))
    rows.append(row("first-query word F1 against the question", _fmt(metrics.get("query_f1")), "query_f1"))
    if "rouge_l" in metrics:
        rows.append(row("ROUGE-L F (unanswered = 0)", _fmt(metrics["rouge_l"]), "rouge_l", _fmt(cb.get("rouge_l"))))
        rows.append(row("ROUGE-L F, answered only", _fmt(metrics.get("rouge_l_answered"))))
        for n, v in (metrics.get("rouge_l_by_n") or {}).items():
            rows.append(row(f"ROUGE-L, best-of-{n} by reward", f"{_fmt(v['mean'])} ± {_fmt(v['stderr'])}"))
    if "truthfulqa_similarity" in metrics:
        t, ct = metrics["truthfulqa_similarity"], cb.get("truthfulqa_similarity") or {}
        rows.append(("truthful by similarity (automatic proxy)", _fmt(t["truthful_share"], True),
                     *(_fmt((b.get("truthfulqa_similarity") or {}).get("truthful_share"), True) for b in bls),
                     _fmt(ct.get("truthful_share"), True)))
        rows.append(("similarity diff, mean (automatic proxy)", _fmt(t["mean_diff"]),
                     *(_fmt((b.get("truthfulqa_similarity") or {}).get("mean_diff")) for b in bls),
                     _fmt(ct.get("mean_diff"))))
    rows += [
        row("status counts", _fmt(json.dumps(metrics.get("status_counts") or {}))),
        row("answers with ≥1 citation", _fmt(c.get("share_with_citation"), True), None,
            "0% (no browsing)" if cb else ""),
        row("citations per answer", _fmt(c.get("per_answer"))),
        row("cited quotes verified on their page", _fmt(c.get("cited_quotes_verified"), True)),
        row("removed citations per answer", _fmt(c.get("removed_per_answer"))),
        row("invalid-action rate", _fmt(a.get("invalid_rate"), True)),
        row("actions per episode (mean / median)",
            f"{_fmt(a.get('per_episode_mean'))} / {_fmt(a.get('per_episode_median'))}"),
        row("world errors", _fmt(a.get("world_errors"))),
        row("seconds per question (agent and baselines together)", _fmt(metrics.get("seconds_per_question"))),
    ]
    return rows


def _example(rec: dict[str, Any]) -> str:
    res = rec["result"]
    refs = "".join(f"<li class=ref>[{_fmt(r.get('n'))}] {_fmt(r.get('title'))} — <code>{_fmt(r.get('url'))}</code>"
                   f"<br>&gt; {_fmt((r.get('extract') or '')[:400])}</li>" for r in res.get("references") or [])
    cb = rec.get("closed_book") or {}
    m = rec["metrics"]
    parts = [f"<div class=ex><b>Q:</b> {_fmt(rec['question'])}",
             f"<p class=note>status {_fmt(res.get('status'))}; reward {_fmt(m.get('reward'))}; "
             f"ROUGE-L {_fmt(m.get('rouge_l'))}</p>",
             f"<div class=ans>{_fmt(res.get('answer'))}</div>", f"<ol>{refs}</ol>" if refs else ""]
    for name, base in (rec.get("baselines") or {}).items():
        if base.get("answer"):
            parts.append(f"<details><summary>{_fmt(name)}'s answer</summary><div class=ans>{_fmt(base['answer'])}"
                         "</div></details>")
    if cb.get("answer"):
        parts.append(f"<details><summary>closed-book answer</summary><div class=ans>{_fmt(cb['answer'])}</div>"
                     "</details>")
    if rec.get("reference"):
        parts.append(f"<details><summary>reference answer</summary><div class=ans>{_fmt(rec['reference'])}</div>"
                     "</details>")
    return "\n".join(parts) + "</div>"


def render_report(metrics: dict[str, Any], records: Sequence[dict[str, Any]]) -> str:
    """The whole page as a string."""
    title = f"webqa eval {metrics.get('task', '')}: {metrics.get('questions', 0)} questions"
    images = plots(metrics, records)
    imgs = "".join(f'<img alt="{html.escape(t)}" src="data:image/png;base64,{b}">' for t, b in images) \
        or "<p class=note>(plots need matplotlib)</p>"
    table = "".join("<tr><td>" + html.escape(r[0]) + "</td>" + "".join(f"<td>{v}</td>" for v in r[1:]) + "</tr>"
                    for r in _rows(metrics))
    heads = "".join(f"<th>{html.escape(name)}</th>" for name in metrics.get("baselines") or {})
    answered = [r for r in records if r["metrics"]["answered"]]
    examples = "".join(_example(r) for r in (answered or list(records))[:EXAMPLES])
    settings = html.escape(json.dumps(metrics.get("settings") or {}, indent=1))
    note = ("Reward by n: WebGPT's unbiased best-of-n estimate (App. I) from each question's N sampled answers, "
            "ranked and scored by the same reward model. ")
    if "rouge_l" in metrics:
        note += "ROUGE-L is computed with citation marks such as [1] removed, as ALCE scores ELI5. "
    if "truthfulqa_similarity" in metrics:
        note += ("TruthfulQA 'similarity' is an automatic proxy (ROUGE-L to true minus false reference "
                 "answers), not the human truthfulness judgement. ")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>
<p class=note>{html.escape(note)}</p><div class=plots>{imgs}</div>
<h2>Metrics</h2><table><tr><th>metric</th><th>agent</th>{heads}<th>closed-book baseline</th></tr>
{table}</table>
<h2>Example answers</h2>{examples}
<h2>Settings</h2><pre>{settings}</pre></body></html>
"""


def write_report(path: str | Path, metrics: dict[str, Any], records: Sequence[dict[str, Any]]) -> Path:
    path = Path(path)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_report(metrics, records), encoding="utf-8")
    tmp.replace(path)
    return path

"""``webqa ui compare``: labellers rate two answers to one question, as WebGPT's comparisons did.

The labeller sees the question and answers A and B side by side, each with its quotes; gives
WebGPT's five-point overall rating ("A much better" .. "B much better") and optional flags per
answer (unsupported claim, irrelevant, incoherent). Each rating is a new database row, attributed
to the labeller; the next pair is the oldest one this labeller has not rated.
``webqa comparisons export`` writes the ratings as WebGPT comparisons JSONL.
"""

from __future__ import annotations

from typing import Any

from browser_env.text.observation import Quote
from training.store import FLAGS, RATINGS, PairRow, Store


def _side_md(answer: str, quotes: list[dict]) -> str:
    refs = "\n\n".join(f"**[{i}]** {q.title}{f' ({q.domain})' if q.domain else ''}\n> {q.extract}"
                       for i, q in enumerate((Quote(**row) for row in quotes), 1))
    return f"{answer}\n\n---\n**Quotes**\n\n{refs or '_none_'}"


def _pair_view(pair: PairRow | None) -> tuple[str | None, str, str, str]:
    if pair is None:
        return None, "### Nothing left to label. Thank you!", "", ""
    return pair.id, f"### {pair.question}", _side_md(pair.answer_0, pair.quotes_0), _side_md(pair.answer_1, pair.quotes_1)


def build_compare_app(store: Store) -> Any:
    import gradio as gr

    with gr.Blocks(title="webqa: compare answers") as app:
        gr.Markdown("## Compare two answers\nWhich answer is better overall: more useful, better supported by "
                    "its quotes, and more coherent?")
        pair_id = gr.State(None)
        with gr.Row():
            labeller = gr.Textbox(label="Your name", scale=3, elem_id="labeller")
            begin = gr.Button("Begin", variant="primary", scale=0, elem_id="begin")
        question = gr.Markdown(elem_id="question")
        with gr.Row():
            with gr.Column():
                gr.Markdown("#### Answer A")
                side_a = gr.Markdown(elem_id="answer-a")
                flags_a = gr.CheckboxGroup(list(FLAGS), label="Flags for A", elem_id="flags-a")
            with gr.Column():
                gr.Markdown("#### Answer B")
                side_b = gr.Markdown(elem_id="answer-b")
                flags_b = gr.CheckboxGroup(list(FLAGS), label="Flags for B", elem_id="flags-b")
        rating = gr.Radio(list(RATINGS), label="Overall", elem_id="rating")
        submit = gr.Button("Submit rating", variant="primary", elem_id="submit")
        status = gr.Markdown(elem_id="status")

        def show_next(name: str):
            if not name.strip():
                return None, "**Enter your name first.**", "", "", None, [], [], ""
            return (*_pair_view(store.next_pair(name)), None, [], [], "")

        def do_submit(pid: str | None, name: str, value: str | None, fa: list[str], fb: list[str]):
            if pid is None:
                return pid, gr.update(), gr.update(), gr.update(), value, fa, fb, "**Press Begin first.**"
            if not value:
                return pid, gr.update(), gr.update(), gr.update(), value, fa, fb, "**Choose an overall rating.**"
            try:
                store.rate(pid, name, value, fa, fb)
            except ValueError as e:
                return pid, gr.update(), gr.update(), gr.update(), value, fa, fb, f"**{e}**"
            return (*_pair_view(store.next_pair(name)), None, [], [], f"Saved: {value}.")

        widgets = [pair_id, question, side_a, side_b, rating, flags_a, flags_b, status]
        begin.click(show_next, [labeller], widgets)
        submit.click(do_submit, [pair_id, labeller, rating, flags_a, flags_b], widgets)
    return app

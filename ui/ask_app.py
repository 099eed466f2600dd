"""``webqa ui ask``: the demo. Ask a question and watch the agent browse, quote and answer.

The agent runs on the shared ``WebRuntime`` loop; its streamed events (``agent.types.Event``)
arrive in a queue that the Gradio generator drains, so each command, the page window it
produced and every quote appear as they happen. The answer is shown with its ``[n]`` citations
linked to the reference list (title, quoted extract, link to the page). Best-of-n's chosen
candidate and the dropped ones, each with why it was dropped, sit in a collapsed section; with
several browsing episodes every command is labelled with its episode. The answer's audio player
appears only when "read aloud" is ticked.

    app = build_ask_app(AskBackend(policy, reward_model, sync_runtime))
"""

from __future__ import annotations

import asyncio
import html
import queue
from dataclasses import dataclass, field
from typing import Any

from browser_env.text.citation_marks import sub_citations, sub_numbers
from browser_env.types import InputError
from omni_model.prompts import ANSWER_END
from omni_model.types import Policy, RewardModel

# The link brackets 【】 are CJK punctuation: a machine without a CJK font shows them as
# missing-glyph boxes, and the demo cannot rely on one being installed. On screen only, they
# become ‹›, which every Latin font has (as it has †); the model's text is never touched.
_DISPLAY_SAFE = str.maketrans({"【": "‹", "】": "›"})


def for_display(text: str) -> str:
    """Page or quote text as a person's browser can draw it in any font."""
    return text.translate(_DISPLAY_SAFE)


def answer_html(answer: str, references: list[dict], link: Any = None) -> str:
    """The answer with each ``[n]`` linked to its reference, then the numbered reference list.

    ``link(url)`` gives the address a person's browser can open (the mini-web's virtual host is
    only known to webqa's own Chromium)."""
    link_of = link or (lambda url: url)
    known = {int(r["n"]) for r in references}

    def one(n: int, shown: str) -> str:
        return f'<a href="#ref-{n}" class="cite" style="padding:0;margin:0">{shown}</a>' if n in known else shown

    def cite(mark: str, numbers: list[int]) -> str:
        # [n]: the whole mark links; [1, 2] and [1-3]: each number links to its own reference.
        return one(numbers[0], mark) if len(numbers) == 1 else sub_numbers(mark, one)

    body = sub_citations(html.escape(for_display(answer)), cite).replace("\n", "<br>")
    refs = "".join(
        f'<li id="ref-{r["n"]}" value="{r["n"]}"><b>{html.escape(for_display(r["title"]))}</b> '
        f'<a href="{html.escape(link_of(r["url"]))}" target="_blank" rel="noopener">{html.escape(r["url"])}</a>'
        f'<blockquote>{html.escape(for_display(r["extract"]))}</blockquote></li>' for r in references)
    return f'<div class="answer">{body}</div>' + (f'<h4>References</h4><ol class="refs">{refs}</ol>' if refs else "")


@dataclass
class Live:
    """What the page shows while the agent works."""

    steps: list[tuple[int, str]] = field(default_factory=list)  # (episode, command or refusal)
    page: str = ""
    quotes: list[dict] = field(default_factory=list)
    answer: str = ""
    candidates: list[dict] = field(default_factory=list)
    status: str = ""
    link: Any = None
    heard: str = ""

    def apply(self, event: Any) -> None:
        d = event.data
        if event.kind == "heard":
            self.heard = d["text"]
        elif event.kind == "command":
            self.steps.append((event.episode, d["command"]))
        elif event.kind == "observation":
            if d.get("error"):
                self.steps.append((event.episode, f"  ↳ refused: {d['error']}"))
            if d.get("page") is not None:  # the page window the agent sees, as the event carries it
                self.page = for_display(d["page"])
        elif event.kind == "quote_added":
            self.quotes.append(d["quote"])
        elif event.kind == "answer_text":
            # The first candidate streams into the answer area until the checked answer replaces it.
            if (event.episode, d.get("candidate", 0)) == (0, 0) and not self.status:
                text = d["text"].split(ANSWER_END)[0]
                self.answer = f'<div class="answer writing">{html.escape(text)}▌</div>'
        elif event.kind == "candidate_scored":
            self.candidates.append(d)
        elif event.kind == "final_answer":
            self.answer = answer_html(d["answer"], d.get("references", []), self.link)
            self.status = d.get("status", "")

    @property
    def commands(self) -> list[str]:
        """One line per command. Episodes browse in lockstep, so with more than one every line
        says whose it is (the first episode's lines too, or they read as the others')."""
        if len({e for e, _ in self.steps}) < 2:
            return [text for _, text in self.steps]
        return [f"[episode {e + 1}] {text}" for e, text in self.steps]

    def quotes_md(self) -> str:
        return "\n\n".join(f"**{for_display(q['title'])}** ({q['domain']})\n> {for_display(q['extract'])}"
                             for q in self.quotes) or "_none yet_"

    def candidates_md(self) -> str:
        rows = [f"**Candidate {i + 1}** — reward {c['reward']:.3f}" if c.get("reward") is not None
                else f"**Candidate {i + 1}**" for i, c in enumerate(self.candidates)]
        return "\n\n".join(f"{head}\n\n{c['answer']}" for head, c in zip(rows, self.candidates, strict=True)) \
            or "_no candidates_"


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" for line in (text.strip() or "(empty)").splitlines())


def best_of_n_md(result: Any, answers_per_episode: int = 1) -> str:
    """Best-of-n as the person sees it: the chosen candidate, then every dropped one with why
    (a lower reward, with both rewards; or removed: an empty answer, a failed episode)."""
    from collections import Counter

    from agent.answering import ANSWERING_ENDS
    from agent.bestofn import pick_best

    cands, dropped = result.candidates, []
    best = pick_best(cands) if cands else None
    for i, c in enumerate(cands):
        if c is best:
            continue
        if c.reward is None or best.reward is None:
            why = "not scored (no reward model): the first candidate is kept"
        elif c.reward < best.reward:
            why = f"reward {c.reward:.3f}, lower than the chosen one's {best.reward:.3f}"
        else:
            why = f"reward {c.reward:.3f}, the same as the chosen one's: the earlier candidate wins a tie"
        dropped.append(f"**Candidate {i + 1}** (episode {c.episode + 1}): {why}\n\n{_quoted(c.answer)}")
    written = Counter(c.episode for c in cands)
    for t in result.trajectory:
        e, got = t["episode"], written.get(t["episode"], 0)
        if got == 0:
            why = (t.get("answer_failed") or t.get("failed")
                   or (f"browsing ended with End: {t.get('end')}" if t.get("end") not in ANSWERING_ENDS
                       else "it collected no quotes to answer from"))
            dropped.append(f"**Episode {e + 1}**: no candidate, removed: {why}")
        elif got < answers_per_episode:
            dropped.append(f"**Episode {e + 1}**: {answers_per_episode - got} of its {answers_per_episode} "
                           "answers came back empty and were removed")
    out = []
    if best is not None:
        reward = f", reward {best.reward:.3f}" if best.reward is not None else ""
        out.append(f"**Chosen: candidate {cands.index(best) + 1}** (episode {best.episode + 1}{reward})\n\n"
                   f"{_quoted(best.answer)}")
    if dropped:
        out.append(f"#### Dropped ({len(dropped)})\n\n" + "\n\n".join(dropped))
    return "\n\n".join(out) or "_no candidates_"


class AskBackend:
    """Runs ``Agent.ask`` on the runtime's loop and hands its events to the UI thread."""

    def __init__(self, policy: Policy, reward_model: RewardModel | None, runtime: Any):
        self.policy, self.reward_model, self.runtime = policy, reward_model, runtime

    def link(self, url: str) -> str:
        """Mini-web pages open through its real 127.0.0.1 address; other URLs as they are."""
        miniweb = getattr(self.runtime.runtime, "miniweb", None)
        prefix = f"http://{miniweb.host}" if miniweb else None
        return miniweb.base_url + url[len(prefix):] if prefix and url.startswith(prefix + "/") else url

    @property
    def sees(self) -> bool:
        """Whether the policy takes pictures (an omni checkpoint); every policy hears, through Whisper."""
        return self.policy.accepts_media

    def ask(self, question: str, n: int, max_actions: int, events: queue.Queue, *,
            audio: Any = None, image: Any = None) -> Any:
        from agent.agent import Agent
        from agent.types import AgentConfig

        # Greedy browsing (the default) takes one path: one episode writes all n candidate answers.
        config = AgentConfig(n=n, max_actions=max_actions, answers_per_browse=n)
        agent = Agent(self.policy, self.reward_model if n > 1 else None, self.runtime.runtime, config)
        coro = agent.ask(question or None, on_event=events.put, audio=audio, image=image)
        return asyncio.run_coroutine_threadsafe(coro, self.runtime._loop.loop)


def speak(answer: str) -> str | None:
    """The answer read aloud by espeak-ng into a temporary WAV (None when espeak-ng is missing)."""
    import tempfile

    from omni_model.media import MediaError, speakable, synthesize_speech

    text = speakable(answer)
    if not text:
        return None
    out = tempfile.NamedTemporaryFile(prefix="webqa-answer-", suffix=".wav", delete=False).name
    try:
        return str(synthesize_speech(text, out))
    except MediaError:
        return None


def build_ask_app(backend: AskBackend, *, default_n: int = 1, default_actions: int = 20,
                  backend_name: str = "local mini-web") -> Any:
    import gradio as gr

    with gr.Blocks(title="webqa") as app:
        gr.Markdown("## webqa\nAsk a question. The agent searches, reads, quotes its sources and answers "
                    "with citations; click a citation to see the quote it rests on.")
        with gr.Row():
            question = gr.Textbox(label="Question", placeholder="Why is the sky blue?", scale=4, elem_id="question")
            ask_btn = gr.Button("Ask", variant="primary", scale=0, elem_id="ask")
        with gr.Row():
            spoken = gr.Audio(sources=["microphone", "upload"], type="filepath", label="…or ask aloud",
                              elem_id="spoken")
            picture = gr.Image(type="filepath", label="A picture that goes with the question (optional)",
                               visible=backend.sees, elem_id="picture")
            read_aloud = gr.Checkbox(value=False, label="Read the answer aloud (espeak-ng)", elem_id="read-aloud")
        with gr.Row():
            n = gr.Slider(1, 8, value=default_n, step=1, label="Best of n (answers scored by the reward model)")
            actions = gr.Slider(2, 100, value=default_actions, step=1, label="Action budget")
            gr.Textbox(value=backend_name, label="Search backend", interactive=False)
        status = gr.Markdown(elem_id="status")
        answer = gr.HTML(elem_id="answer")
        # Hidden until "read aloud" is ticked: an empty player under every answer only puzzles.
        voice = gr.Audio(label="The answer, read aloud", type="filepath", interactive=False, autoplay=True,
                         visible=False, elem_id="voice")
        read_aloud.change(lambda on: gr.update(visible=bool(on)), [read_aloud], [voice])
        with gr.Row():
            with gr.Column(scale=3):
                page = gr.Textbox(label="Current page", lines=16, max_lines=16, interactive=False, elem_id="page")
            with gr.Column(scale=2):
                log = gr.Textbox(label="Commands", lines=8, interactive=False, elem_id="commands")
                quotes = gr.Markdown("_none yet_", elem_id="quotes")
        with gr.Accordion("Best of n: the chosen candidate, and the dropped ones with why", open=False):
            candidates = gr.Markdown(elem_id="candidates")

        def run(q: str, n_value: float, budget: float, audio: str | None = None, image: str | None = None,
                aloud: bool = False):
            q = (q or "").strip()
            if not q and not audio:
                yield "**Type a question first (or ask it aloud).**", "", "", "", "", "", None
                return
            if q and audio:
                yield "**Type the question or speak it, not both: clear one of them.**", "", "", "", "", "", None
                return
            live, events = Live(link=backend.link), queue.Queue()
            future = backend.ask(q, int(n_value), int(budget), events, audio=audio, image=image)
            yield ("Listening…" if audio else "Browsing…"), "", "", "", "_none yet_", "", None
            while True:
                try:
                    live.apply(events.get(timeout=0.2))
                    while not events.empty():
                        live.apply(events.get_nowait())
                except queue.Empty:
                    if future.done():
                        break
                    continue
                phase = "Done." if live.status else ("Writing the answer…" if live.answer else "Browsing…")
                if live.heard:
                    phase = f"Heard: *{html.escape(live.heard)}* — {phase}"
                yield (phase, live.answer, live.page,
                       "\n".join(live.commands), live.quotes_md(), live.candidates_md(), None)
            try:
                result = future.result()
            except InputError as e:  # the input: nothing heard, an unreadable picture or recording
                yield f"**{e}**", "", live.page, "\n".join(live.commands), live.quotes_md(), "", None
                return
            except Exception as e:  # a bug in the agent: show it rather than hang the page
                yield f"**Failed: {type(e).__name__}: {e}**", "", live.page, "\n".join(live.commands), \
                    live.quotes_md(), "", None
                return
            note = {"answered": "Answered.", "no_sources": "No sources were found: nothing is invented.",
                    "nonsense": "The agent judged the question to be nonsense.",
                    "controversial": "The agent judged the question too controversial.",
                    "failed": f"Failed: {result.reason}"}.get(result.status, result.status)
            refs = [r.__dict__ for r in result.references]
            heard = f"Heard: *{html.escape(result.stats['heard'])}* — " if result.stats.get("heard") else ""
            yield (f"{heard}**{note}** {result.stats.get('actions', 0)} actions in "
                   f"{result.timings.get('total_s', 0):.1f} s.",
                   answer_html(result.answer, refs, backend.link), live.page, "\n".join(live.commands), live.quotes_md(),
                   best_of_n_md(result, int(n_value) // max(1, len(result.trajectory))),
                   speak(result.answer) if aloud else None)

        inputs = [question, n, actions, spoken, picture, read_aloud]
        outputs = [status, answer, page, log, quotes, candidates, voice]
        ask_btn.click(run, inputs, outputs)
        question.submit(run, inputs, outputs)
    return app

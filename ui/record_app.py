"""``webqa ui record``: people record demonstrations in the same text browser the model uses.

The labeller enters a name and a question, then works the browser with a button or an input for
every command; selecting text in the page window fills the Quote box. Each accepted command is
saved to the database at once (``training.store``) with the observation the labeller saw, so a crash
or a closed tab loses at most the step in flight. An unfinished demonstration is resumed by
replaying its saved commands on a fresh browser (they were all accepted once, so they are
accepted again), which brings back the page, the scroll position and the quotes. After
``End: Answer`` the labeller writes the answer, citing the quotes as ``[n]``.

    app = build_record_app(store, runtime)      # runtime: a started SyncWebRuntime
"""

from dataclasses import dataclass, field
from typing import Any

from browser_env.text.citation_marks import out_of_range
from browser_env.text.grammar import format_action

from training.store import Store


@dataclass
class Session:
    """One labeller's demonstration in progress (kept in the browser tab's gr.State)."""

    demo_id: str
    env: Any  # SyncBrowserEnv
    observation: str = ""
    done: bool = False
    log: list[str] = field(default_factory=list)


def _quotes_md(env: Any) -> str:
    quotes = env.browser.quotes if env.browser else []
    if not quotes:
        return "_No quotes yet._"
    return "\n\n".join(f"**[{i}]** {q.title} ({q.domain})\n> {q.extract}" for i, q in enumerate(quotes, 1))


def _view(session: Session | None, message: str = "") -> tuple[str, str, str, str]:
    if session is None:
        return "", "_No quotes yet._", message, ""
    obs = session.env.observation
    page = f"{obs.title}\n{'-' * 60}\n{obs.text}" if obs else ""
    status = message or (f"Actions left: {obs.actions_left}" if obs else "")
    if session.done:
        status += "  —  browsing ended: write the answer below, citing quotes as [1], [2]."
    return page, _quotes_md(session.env), status, "\n".join(session.log)


class Recorder:
    """The app's behaviour, separate from its widgets so it can be tested without a browser."""

    def __init__(self, store: Store, runtime: Any, *, max_actions: int = 100, corpus: str | None = None):
        self.store, self.runtime, self.max_actions, self.corpus = store, runtime, max_actions, corpus

    def _env(self) -> Any:
        from browser_env.text.env import EnvConfig

        # Screenshots are saved with each step, for training the omni model that sees pages.
        return self.runtime.make_env(EnvConfig(max_actions=self.max_actions, screenshots=True))

    def start(self, labeller: str, question: str) -> Session:
        demo_id = self.store.start_demo(labeller, question, corpus=self.corpus, backend="local")
        env = self._env()
        return Session(demo_id, env, env.reset(question.strip()))

    def resume(self, demo_id: str) -> Session:
        row, steps = self.store.demo(demo_id)
        env = self._env()
        session = Session(demo_id, env, env.reset(row.question))
        for st in steps:
            result = env.step(st.command)
            if not result.valid:  # the page changed under us (a live site); say so, keep what replays
                session.log.append(f"(could not replay `{st.command}`: {result.error})")
                break
            session.observation, session.done = result.text, result.done
            session.log.append(st.command)
        return session

    def command(self, session: Session, command: str) -> str:
        """Run a command; an accepted one is saved before this returns. Returns the status line."""
        if session.done:
            return "Browsing has ended: write the answer and save."
        shown, parts = session.observation, session.env.observation
        result = session.env.step(command)
        if not result.valid:
            # The labeller's mistake: shown, not saved (a demonstration teaches what to do). It
            # still used an action, as it would for the model.
            session.observation = result.text
            return f"Not done: {result.error}"
        self.store.add_step(session.demo_id, shown, parts, command, screenshot_jpeg=parts.screenshot if parts else None)
        if command.startswith("Quote"):
            self.store.save_quotes(session.demo_id, result.quotes)
        session.observation, session.done = result.text, result.done
        session.log.append(command)
        return f"Saved step {len(session.log)}: {command}"

    def finish(self, session: Session, answer: str) -> str:
        quotes = list(session.env.browser.quotes)
        answer = answer.strip()
        if not session.done:
            return "Use End: Answer (or Nonsense / Controversial) before saving."
        if session.log and session.log[-1] == "End: Answer":
            if not answer:
                return "Write the answer first."
            bad = out_of_range(answer, len(quotes))  # [9], [1, 9] and [9-12] alike
            if bad:
                return f"The answer cites [{', '.join(bad)}], but there are only {len(quotes)} quotes."
        self.store.finish_demo(session.demo_id, quotes, answer)
        session.env.close()
        return "Demonstration saved. Start a new one above."


def build_record_app(store: Store, runtime: Any, *, max_actions: int = 100, corpus: str | None = None) -> Any:
    import gradio as gr

    rec = Recorder(store, runtime, max_actions=max_actions, corpus=corpus)

    with gr.Blocks(title="webqa: record a demonstration") as app:
        gr.Markdown("## Record a demonstration\nBrowse as the model would, quote what answers the question, "
                    "then write the answer citing the quotes as [1], [2]. Every step is saved as you go.")
        state = gr.State(None)
        with gr.Row():
            labeller = gr.Textbox(label="Your name", scale=1, elem_id="labeller")
            question = gr.Textbox(label="Question", scale=3, elem_id="question")
            start_btn = gr.Button("Start", variant="primary", scale=0, elem_id="start")
        with gr.Row():
            unfinished = gr.Dropdown(label="Unfinished demonstrations", choices=[], scale=3, elem_id="unfinished")
            refresh_btn = gr.Button("Find mine", scale=0, elem_id="find-mine")
            resume_btn = gr.Button("Resume", scale=0, elem_id="resume")
        status = gr.Markdown(elem_id="status")
        with gr.Row():
            with gr.Column(scale=3):
                page = gr.Textbox(label="Page (select text to quote it)", lines=24, max_lines=24,
                                  interactive=False, elem_id="page")
            with gr.Column(scale=2):
                quotes = gr.Markdown("_No quotes yet._", elem_id="quotes")
                log = gr.Textbox(label="Steps saved", lines=8, interactive=False, elem_id="log")
        with gr.Row():
            search_q = gr.Textbox(label="Search", scale=3, elem_id="search-text")
            search_btn = gr.Button("Search", scale=0, elem_id="search")
            link_id = gr.Number(label="Link id", precision=0, scale=1, elem_id="link-id")
            click_btn = gr.Button("Click link", scale=0, elem_id="click")
        with gr.Row():
            find_q = gr.Textbox(label="Find in page", scale=2, elem_id="find-text")
            find_btn = gr.Button("Find", scale=0, elem_id="find")
            quote_q = gr.Textbox(label="Quote (or select text in the page)", scale=3, elem_id="quote-text")
            quote_btn = gr.Button("Quote", scale=0, elem_id="quote")
        with gr.Row():
            moves = {label: gr.Button(label, elem_id=label.lower().replace(" ", "-").replace(":", ""))
                     for label in ("Scrolled down 1", "Scrolled up 1", "Top", "Back", "End: Answer",
                                   "End: Nonsense", "End: Controversial")}
        answer = gr.Textbox(label="Answer (cite quotes as [1], [2])", lines=6, elem_id="answer")
        save_btn = gr.Button("Save demonstration", variant="primary", elem_id="save")
        outputs = [page, quotes, status, log]

        def do_start(name: str, q: str):
            try:
                session = rec.start(name, q)
            except ValueError as e:
                return (None, *_view(None, f"**{e}**"))
            return (session, *_view(session, "Started. Every step is saved as you go."))

        def do_find_mine(name: str):
            rows = store.unfinished(name) if name.strip() else []
            return gr.update(choices=[(f"{r.question} ({r.updated:%Y-%m-%d %H:%M})", r.id) for r in rows],
                             value=rows[0].id if rows else None)

        def do_resume(demo_id: str | None):
            if not demo_id:
                return (None, *_view(None, "**Pick an unfinished demonstration first.**"))
            session = rec.resume(demo_id)
            return (session, *_view(session, f"Resumed after {len(session.log)} saved steps."))

        def run(command_of):
            def handler(session: Session | None, *args):
                if session is None:
                    return (session, *_view(None, "**Start or resume a demonstration first.**"))
                try:
                    command = command_of(*args)
                except (TypeError, ValueError):
                    return (session, *_view(session, "**Fill in the box next to the button first.**"))
                return (session, *_view(session, rec.command(session, command)))
            return handler

        def text_arg(name: str):
            def make(text: str) -> str:
                if not (text or "").strip():
                    raise ValueError("empty")
                return format_action(name, " ".join(text.split()))
            return make

        start_btn.click(do_start, [labeller, question], [state, *outputs])
        refresh_btn.click(do_find_mine, [labeller], [unfinished])
        resume_btn.click(do_resume, [unfinished], [state, *outputs])
        search_btn.click(run(text_arg("search")), [state, search_q], [state, *outputs])
        search_q.submit(run(text_arg("search")), [state, search_q], [state, *outputs])
        click_btn.click(run(lambda i: format_action("click", int(i))), [state, link_id], [state, *outputs])
        find_btn.click(run(text_arg("find")), [state, find_q], [state, *outputs])
        quote_btn.click(run(text_arg("quote")), [state, quote_q], [state, *outputs])
        for label, btn in moves.items():
            btn.click(run(lambda label=label: label), [state], [state, *outputs])

        # No postponed annotations in this module: Gradio reads this one to pass the selection.
        def selected(evt: gr.SelectData) -> str:
            return evt.value if isinstance(evt.value, str) else ""

        page.select(selected, None, [quote_q])

        def do_save(session: Session | None, text: str):
            if session is None:
                return session, "**Nothing to save.**"
            message = rec.finish(session, text)
            return (None if message.startswith("Demonstration saved") else session), message

        save_btn.click(do_save, [state, answer], [state, status])
    return app

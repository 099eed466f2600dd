"""``--policy scripted``: the scripted demonstrator as a policy, a baseline and a teacher.

It reads the same prompts any policy is given (``omni_model.prompts``) and answers them by rule,
as ``training.synth`` demonstrates on the browser itself:

- browsing: ``Search`` the question's content words; open the results whose titles share the most
  words with the question (``pages`` of them); on each page quote the passage (``quote_span``
  sentences) that starts with the sentence in view sharing the most words with the question
  (scrolling down when none is in view); ``Back``; ``End: Answer``;
- answering: the extractive answer, every sentence of every quote cited ``[n]``.

It is a baseline (``webqa eval`` reports it beside the learned policy and the closed-book answer)
and the expert that labels states for DAgger; it is never the default and never writes the
learned policy's candidates. It has no tokenizer, so the agent decodes nothing under constraints
for it, and it cannot answer closed-book (it returns no text there).

    policy = load_policy("scripted")
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from browser_env.text.link_marks import LINK
from browser_env.text.observation import PAGE_BEGIN, PAGE_END
from browser_env.text.render import strip_links
from browser_env.text.sentences import make_query, overlap, passage_starts, shares_sentence, stems
from omni_model.errors import UnsupportedError
from omni_model.types import Completion, TextOnly, TextSink

SCRIPTED_SPEC = "scripted"
_QUOTE_HEAD = re.compile(r"^\[(\d+)\] .*$", re.M)


def _section(text: str, name: str) -> str:
    """The body of ``♦<name>`` in a rendered prompt (up to the next section)."""
    start = text.find(f"♦{name}")
    if start < 0:
        return ""
    body = text[text.index("\n", start) + 1:] if "\n" in text[start:] else ""
    nxt = body.find("\n♦")
    return (body[:nxt] if nxt >= 0 else body).strip()


def _quote_count(section: str) -> int:
    """Quotes in a browsing prompt's ♦Quotes section: each is "From <title> (<domain>)" then "> " lines."""
    lines = section.splitlines()
    return sum(1 for a, b in zip(lines, lines[1:]) if a.startswith("From ") and b.startswith(">"))


@dataclass
class ScriptedPolicy(TextOnly):
    """The rules of ``training.synth`` behind the ``Policy`` protocol: text only, whole answers."""

    pages: int = 2  # quotes wanted (one per result opened, as the demonstrations take them)
    max_pages: int = 5  # results opened at most while fewer quotes than that were found
    min_overlap: int = 1
    quote_span: int = 2  # sentences per quote at most, as ``AgentConfig.quote_span`` offers the policy
    spec: str = SCRIPTED_SPEC
    context_length: int = 1 << 20  # it reads any length
    tokenizer: Any = None  # no tokens: the agent decodes nothing under constraints for it
    streams: bool = False
    batch_by_length: bool = False  # rules cost the same whatever the batch

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        return "\n\n".join(m["content"] for m in messages)

    def generate(self, prompts: list[str], *, n: int = 1, temperature: float = 0.8, top_p: float = 1.0,
                 max_new_tokens: int = 128, stop: list[str] | None = None, seed: int | None = None,
                 logits_processor: Any = None, on_text: TextSink | None = None,
                 media: Sequence[Sequence[Any] | None] | None = None) -> list[list[Completion]]:
        self._no_media(media)
        if logits_processor is not None:
            raise UnsupportedError("the scripted policy writes by rule and takes no logits processor")
        out = []
        for prompt in prompts:
            text = self.respond(prompt)
            out.append([Completion(text, [], "stop", 0) for _ in range(n)])
        return out

    # --- the rules ---------------------------------------------------------------------------

    def respond(self, prompt: str) -> str:
        if "♦Next action" in prompt:
            return self.command(prompt)
        if "♦Quotes" in prompt and "♦Answer" in prompt:
            return self.answer(prompt)
        return ""  # closed-book: the demonstrator only writes from quotes

    def command(self, prompt: str) -> str:
        """The demonstrator's next command for the state the prompt shows, wherever it came from.

        As DAgger's expert it labels states the demonstrations never reach (pages opened with
        nothing quoted, few actions left), so it ends on what was *quoted*, not on how many
        pages were opened: ``pages`` quotes, or at least one once ``max_pages`` results were
        opened, no fresh result is left, or the actions run out."""
        question = _section(prompt, "Question")
        past = [line for line in _section(prompt, "Past actions").splitlines() if line != "(none yet)"]
        title = _section(prompt, "Title")
        page = prompt[prompt.find(PAGE_BEGIN) + len(PAGE_BEGIN):prompt.rfind(PAGE_END)] if PAGE_BEGIN in prompt else ""
        quotes = _quote_count(_section(prompt, "Quotes"))
        left = re.search(r"♦Actions left: (\d+)", prompt)
        last_action = left is not None and int(left.group(1)) <= 1
        opened = sum(1 for a in past if a.startswith("Click "))
        done = "End: Answer"
        if quotes >= self.pages or (quotes and (last_action or opened >= self.max_pages)):
            return done
        if not past or not any(a.startswith("Search ") for a in past):
            return f"Search {make_query(question)}"
        if title.startswith("Search results for:"):
            q = stems(question)
            clicked = {a.removeprefix("Click ") for a in past if a.startswith("Click ")}
            links = [(overlap(t, q), int(i), t) for i, t, _domain in LINK.findall(page)]
            fresh = [(s, i) for s, i, t in links if s > 0 and not any(c.startswith(t.strip()) for c in clicked)]
            if not fresh or opened >= self.max_pages:
                return done
            return f"Clicked on link {min(fresh, key=lambda x: (-x[0], x[1]))[1]}"
        last = past[-1]
        if last == "Quote" or "Could not load" in page or not page.strip():
            return "Back"
        best = self._best_sentence(strip_links(page), question, prompt)
        if best is not None:
            return f"Quote: {best}"
        scrollbar = re.search(r"♦Scrollbar: (\d+) - (\d+)", prompt)
        scrolled = sum(1 for a in past[-3:] if a.startswith("Scrolled down"))
        if scrollbar and scrolled < 2:
            return "Scrolled down 1"
        return "Back"

    def _best_sentence(self, plain: str, question: str, prompt: str) -> str | None:
        """The passage starting at the sentence in view that shares most words with the question."""
        q = stems(question)
        taken = " ".join(_section(prompt, "Quotes").replace("> ", "").split())
        ranked = sorted(((overlap(s, q), k, p) for k, (s, p) in enumerate(passage_starts(plain, self.quote_span))),
                        key=lambda x: (-x[0], x[1]))
        for score, _, p in ranked:
            if score >= self.min_overlap and not shares_sentence(p, taken):
                return p
        return None

    def answer(self, prompt: str) -> str:
        body = _section(prompt, "Quotes")
        heads = list(_QUOTE_HEAD.finditer(body))
        extracts = []
        for k, m in enumerate(heads):
            end = heads[k + 1].start() if k + 1 < len(heads) else len(body)
            # Each quote is "[n] <title> (<domain>)", a blank line, then the extract.
            extracts.append(" ".join(body[m.end():end].split()))
        from omni_model.extractive import answer_segments

        # Every sentence cited, as the extractive writer cites them (a quote may hold several).
        return " ".join(answer_segments(extracts))

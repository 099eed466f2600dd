"""The agent's data types: configuration, events, candidates and results.

``Result.to_json()`` is the stable ``webqa ask --json`` format:

    {"question", "answer",
     "references": [{"n", "title", "url", "extract"}],
     "candidates": [{"answer", "reward", "references"}],
     "trajectory": [...], "timings": {...}}

(plus "status", "reason" and "stats", which consumers may ignore).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["answered", "no_sources", "nonsense", "controversial", "failed"]
EventKind = Literal["heard", "step_started", "command", "observation", "quote_added", "answer_text", "candidate_scored",
                    "final_answer"]


@dataclass
class AgentConfig:
    n: int = 1  # candidates returned to best-of-n
    answers_per_browse: int = 1  # WebGPT's "answer phases per browsing phase": n // this browsing episodes
    max_actions: int = 20
    # Browsing: greedy. WebGPT sampled at 0.8, but a 135M policy's sampled slips compound over an
    # episode; best-of-n still gets distinct candidates from sampled answers (answer_temperature).
    temperature: float = 0.0
    top_p: float = 1.0
    answer_temperature: float = 0.7
    max_answer_tokens: int = 256
    constrained: bool = True  # decode browsing commands under the grammar
    constrain_quotes: bool = True  # also force Quote and Find text to be text on the page
    # "Choose, do not generate" (omni_model.choices): a Quote is one whole sentence of the page in
    # view, a Search is made of the question's content words; the policy picks among them.
    choose_quotes: bool = True
    # A chosen quote is a passage: a sentence and up to quote_span - 1 after it (within 400
    # characters), so a two-quote episode leaves an extractive answer four sentences to choose from.
    quote_span: int = 2
    # With quote_options k > 0 the policy chooses among the k passages in view that hold most of the
    # question's words, not among all of them (0): a 135M policy's own scores favour a page's opening.
    quote_options: int = 0
    query_from_question: bool = True
    # "extractive": the answer is written from its quotes' sentences, each cited (omni_model.
    # extractive); "free": the policy writes whatever it likes and citations are checked after.
    answer_mode: Literal["extractive", "free"] = "extractive"
    # Length floors for a small policy that stops too soon (each "or all there are"): sentences in an
    # extractive answer; question words in a query (min_query_words); quotes before `End: Answer`
    # is offered (min_quotes: WebGPT writes no answer without references, and the demonstrator
    # quotes two pages). The budget still ends an episode with fewer. Queries: the demonstrator
    # searches with up to 8 question words and a policy left to stop at 3 dropped the telling one
    # ("cookie dough bad", not "salmonella"); 6 raised best-of-4 ROUGE-L by 0.005 (SE 0.003) on the
    # README's 50 ELI5 questions, chosen on 20 of them (+0.003, within noise, on the other 30).
    min_answer_sentences: int = 3
    min_query_words: int = 6
    min_quotes: int = 2
    no_revisits: bool = True  # under constraints, no link to a page this episode already opened
    batch_across_episodes: bool = True  # one generate() call for all live episodes (False: one by one)
    seed: int | None = 0
    # Browsing prompts are cut (page text from the end) to this many tokens: what BC trained on
    # (training.defaults.Recipe.bc_max_length - 96), and cheaper to read. None: the whole window.
    max_prompt_tokens: int | None = 544
    max_command_tokens: int | None = None  # new tokens per browsing command (None: omni_model's command budget)
    rm_batch_size: int = 8  # candidates per reward-model forward pass
    # Who writes a spoken question down: "whisper" (Whisper's decoder), "lm" (the policy's language
    # model; a policy that cannot is an InputError), None: the policy's own default, Whisper for one
    # that does not hear (Policy.hearings).
    hearing: Literal["whisper", "lm"] | None = None


@dataclass
class Event:
    kind: EventKind
    episode: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reference:
    n: int
    title: str
    url: str
    extract: str


@dataclass
class Candidate:
    answer: str
    references: list[Reference]
    reward: float | None = None
    episode: int = 0
    removed_citations: int = 0  # citations to quotes that do not exist, removed from the text
    quotes: list[dict] = field(default_factory=list)  # every quote the episode collected

    def to_json(self) -> dict:
        return {"answer": self.answer, "reward": self.reward,
                "references": [asdict(r) for r in self.references]}


@dataclass
class Result:
    question: str
    answer: str
    references: list[Reference]
    candidates: list[Candidate]
    trajectory: list[dict]  # per episode: {"episode", "steps": [{command, valid, error, ...}], "end"}
    timings: dict[str, float]
    status: Status = "answered"
    reason: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)  # actions, invalid_actions, quotes, citations, ...

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "references": [asdict(r) for r in self.references],
            "candidates": [c.to_json() for c in self.candidates],
            "trajectory": self.trajectory,
            "timings": self.timings,
            "status": self.status,
            "reason": self.reason,
            "stats": self.stats,
        }

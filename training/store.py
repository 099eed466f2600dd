"""The labelling database: demonstrations recorded step by step, comparison pairs and ratings.

One SQLAlchemy schema serves SQLite (the default, a file beside the user's data) and PostgreSQL
(``--db postgresql+psycopg://...``, when a team shares one). Every write is its own committed
transaction, so a crash or a closed tab loses at most the step being written, and an unfinished
demonstration can be resumed from its last saved step.

Many people at once: demonstrations belong to the labeller who started them and steps are keyed
by (demo, index), so two sessions can never overwrite each other's steps (a second writer of the
same index gets ``ConflictError``); ratings are rows of their own, never updated in place.

    store = Store("sqlite:///labels.db")
    demo_id = store.start_demo("alice", "Why is the sky blue?")
    store.add_step(demo_id, observation_text, observation, "Search sky blue")
    store.finish_demo(demo_id, quotes, "Because of Rayleigh scattering [1].")
    store.export_demos("demos.jsonl")          # the JSONL that `webqa train bc` reads
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (JSON, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, create_engine,
                        event, func, select)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from browser_env.text.observation import Observation, Quote

# WebGPT's five-point overall rating, as the labeller sees it, and the score it gives answer 0
# (answer 1 gets the negative): WebGPT comparisons put a positive score on the preferred answer.
RATINGS: dict[str, float] = {
    "A much better": 1.0,
    "A better": 0.5,
    "Equally good": 0.0,
    "B better": -0.5,
    "B much better": -1.0,
}
FLAGS = ("unsupported claim", "irrelevant", "incoherent")


class ConflictError(RuntimeError):
    """Another session already wrote this step (or the demonstration is finished)."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSON, list: JSON}


class DemoRow(Base):
    __tablename__ = "demos"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    labeller: Mapped[str] = mapped_column(String(200), index=True)
    question: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="in_progress", index=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    quotes: Mapped[list] = mapped_column(default=list)
    meta: Mapped[dict] = mapped_column(default=dict)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class StepRow(Base):
    __tablename__ = "demo_steps"
    __table_args__ = (UniqueConstraint("demo_id", "idx"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    demo_id: Mapped[str] = mapped_column(ForeignKey("demos.id"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    observation: Mapped[str] = mapped_column(Text)
    observation_parts: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    command: Mapped[str] = mapped_column(Text)
    screenshot: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The page's screenshot as the labeller saw it, committed with the step (files come at export).
    screenshot_jpeg: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class PairRow(Base):
    __tablename__ = "pairs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    answer_0: Mapped[str] = mapped_column(Text)
    answer_1: Mapped[str] = mapped_column(Text)
    quotes_0: Mapped[list] = mapped_column(default=list)
    quotes_1: Mapped[list] = mapped_column(default=list)
    source: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class RatingRow(Base):
    __tablename__ = "ratings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pair_id: Mapped[str] = mapped_column(ForeignKey("pairs.id"), index=True)
    labeller: Mapped[str] = mapped_column(String(200), index=True)
    rating: Mapped[str] = mapped_column(String(40))
    flags_0: Mapped[list] = mapped_column(default=list)
    flags_1: Mapped[list] = mapped_column(default=list)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


def default_db_url() -> str:
    from browser_env.paths import webqa_home

    return f"sqlite:///{webqa_home() / 'labels.db'}"


def _quotes_json(quotes: Sequence[Quote]) -> list[dict]:
    return [asdict(q) for q in quotes]


def _quotes(rows: Sequence[dict]) -> list[Quote]:
    return [Quote(**q) for q in rows]


class Store:
    """The database behind the recorder and the labeller; safe to share between threads."""

    def __init__(self, url: str | None = None):
        self.url = url or default_db_url()
        if self.url.startswith("sqlite:///"):
            Path(self.url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(self.url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        self._migrate()

    def _migrate(self) -> None:
        """Columns added since a database was created (create_all only makes missing tables)."""
        from sqlalchemy import inspect, text

        have = {c["name"] for c in inspect(self.engine).get_columns("demo_steps")}
        if "screenshot_jpeg" not in have:
            kind = "BYTEA" if self.engine.dialect.name == "postgresql" else "BLOB"
            with self.engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE demo_steps ADD COLUMN screenshot_jpeg {kind}"))

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # --- demonstrations ---------------------------------------------------------------------

    def start_demo(self, labeller: str, question: str, **meta: Any) -> str:
        labeller, question = labeller.strip(), question.strip()
        if not labeller or not question:
            raise ValueError("a demonstration needs a labeller name and a question")
        demo_id = uuid.uuid4().hex
        with self._session() as s, s.begin():
            s.add(DemoRow(id=demo_id, labeller=labeller, question=question, meta=meta))
        return demo_id

    def add_step(self, demo_id: str, observation: str, parts: Observation | None, command: str,
                 screenshot: str | None = None, screenshot_jpeg: bytes | None = None) -> int:
        """Save one step at the next index; returns the index. Committed before it returns."""
        from .demos import check_command, observation_to_parts

        check_command(command)
        with self._session() as s:
            try:
                with s.begin():
                    demo = s.get(DemoRow, demo_id)
                    if demo is None or demo.status != "in_progress":
                        raise ConflictError(f"demonstration {demo_id} is not in progress")
                    idx = s.scalar(select(func.count()).select_from(StepRow).where(StepRow.demo_id == demo_id))
                    s.add(StepRow(demo_id=demo_id, idx=idx, observation=observation, command=command,
                                  observation_parts=observation_to_parts(parts) if parts else None,
                                  screenshot=screenshot, screenshot_jpeg=screenshot_jpeg))
                    demo.updated = utc_now()
            except IntegrityError as e:
                raise ConflictError(f"step {idx} of demonstration {demo_id} was saved by another session") from e
        return idx

    def finish_demo(self, demo_id: str, quotes: Sequence[Quote], answer: str, status: str = "done") -> None:
        with self._session() as s, s.begin():
            demo = s.get(DemoRow, demo_id)
            if demo is None:
                raise KeyError(demo_id)
            demo.quotes, demo.answer, demo.status, demo.updated = _quotes_json(quotes), answer.strip(), status, utc_now()

    def save_quotes(self, demo_id: str, quotes: Sequence[Quote]) -> None:
        """The quotes so far, so a resumed demonstration gets them back."""
        with self._session() as s, s.begin():
            demo = s.get(DemoRow, demo_id)
            demo.quotes, demo.updated = _quotes_json(quotes), utc_now()

    def unfinished(self, labeller: str) -> list[DemoRow]:
        with self._session() as s:
            return list(s.scalars(select(DemoRow).where(DemoRow.labeller == labeller.strip(),
                                                        DemoRow.status == "in_progress")
                                  .order_by(DemoRow.updated.desc())))

    def demo(self, demo_id: str) -> tuple[DemoRow, list[StepRow]]:
        with self._session() as s:
            demo = s.get(DemoRow, demo_id)
            if demo is None:
                raise KeyError(demo_id)
            steps = list(s.scalars(select(StepRow).where(StepRow.demo_id == demo_id).order_by(StepRow.idx)))
            return demo, steps

    def to_demo(self, demo_id: str, screenshots_dir: Path | None = None) -> Any:
        """The ``training.demos.Demo`` of a stored demonstration; with ``screenshots_dir`` its steps'
        screenshots are written there and named relative to the folder's parent."""
        from .demos import Demo, Metadata, Step, observation_from_parts
        from .synth import save_screenshot

        row, steps = self.demo(demo_id)
        shots: dict[int, bytes | None] = {}
        if screenshots_dir is not None:
            with self._session() as s:
                shots = dict(s.execute(select(StepRow.idx, StepRow.screenshot_jpeg)
                                       .where(StepRow.demo_id == demo_id)).all())

        def shot(st: StepRow) -> str | None:
            jpeg = shots.get(st.idx)
            return save_screenshot(jpeg, screenshots_dir) if jpeg else st.screenshot

        return Demo(id=f"ui:{row.id}", question=row.question, quotes=_quotes(row.quotes), answer=row.answer,
                    steps=[Step(st.observation, st.command,
                                observation_from_parts(st.observation_parts) if st.observation_parts else None,
                                shot(st)) for st in steps],
                    metadata=Metadata(who=row.labeller, when=row.created.isoformat(timespec="seconds"), source="ui",
                                      corpus=row.meta.get("corpus"), backend=row.meta.get("backend")))

    def export_demos(self, path: str | Path, *, include_unfinished: bool = False) -> int:
        from .demos import write_demos
        from .synth import screenshots_dir_for

        with self._session() as s:
            q = select(DemoRow.id).order_by(DemoRow.created)
            if not include_unfinished:
                q = q.where(DemoRow.status == "done")
            ids = list(s.scalars(q))
        shots = screenshots_dir_for(path)  # beside the file, as synth writes them
        return write_demos(path, [self.to_demo(i, shots) for i in ids])

    # --- comparisons ------------------------------------------------------------------------

    def add_pair(self, question: str, answer_0: str, answer_1: str, quotes_0: Sequence[Quote] = (),
                 quotes_1: Sequence[Quote] = (), source: str = "") -> str:
        pair_id = uuid.uuid4().hex
        with self._session() as s, s.begin():
            s.add(PairRow(id=pair_id, question=question, answer_0=answer_0, answer_1=answer_1,
                          quotes_0=_quotes_json(quotes_0), quotes_1=_quotes_json(quotes_1), source=source))
        return pair_id

    def next_pair(self, labeller: str) -> PairRow | None:
        """The oldest pair this labeller has not rated yet."""
        with self._session() as s:
            rated = select(RatingRow.pair_id).where(RatingRow.labeller == labeller.strip())
            return s.scalars(select(PairRow).where(PairRow.id.not_in(rated)).order_by(PairRow.created)).first()

    def rate(self, pair_id: str, labeller: str, rating: str, flags_0: Sequence[str] = (),
             flags_1: Sequence[str] = ()) -> None:
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {list(RATINGS)}, got {rating!r}")
        bad = [f for f in (*flags_0, *flags_1) if f not in FLAGS]
        if bad or not labeller.strip():
            raise ValueError(f"unknown flags {bad}" if bad else "a rating needs a labeller name")
        with self._session() as s, s.begin():
            if s.get(PairRow, pair_id) is None:
                raise KeyError(pair_id)
            s.add(RatingRow(pair_id=pair_id, labeller=labeller.strip(), rating=rating, flags_0=list(flags_0),
                            flags_1=list(flags_1)))

    def counts(self) -> dict[str, int]:
        with self._session() as s:
            return {name: s.scalar(select(func.count()).select_from(table)) for name, table in
                    (("demos", DemoRow), ("steps", StepRow), ("pairs", PairRow), ("ratings", RatingRow))}

    def export_comparisons(self, path: str | Path) -> int:
        """Every rating as one WebGPT comparisons row (``score_0`` = the rating's score)."""
        from .comparisons import Comparison, export_webgpt

        with self._session() as s:
            rows = s.execute(select(RatingRow, PairRow).join(PairRow, RatingRow.pair_id == PairRow.id)
                             .order_by(RatingRow.id)).all()
        comparisons = []
        for rating, pair in rows:
            score = RATINGS[rating.rating]
            comparisons.append(Comparison(pair.question, pair.answer_0, pair.answer_1, score, -score,
                                          tuple(_quotes(pair.quotes_0)), tuple(_quotes(pair.quotes_1)),
                                          source=f"ui:{pair.id}:{rating.labeller}"))
        return export_webgpt(path, comparisons)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers go on while one writer commits; busy_timeout makes concurrent writers wait
    # their turn instead of failing with "database is locked".
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def pairs_from_candidates(result_json: Any) -> list[tuple[str, str, str, list[Quote], list[Quote]]]:
    """(question, answer_0, answer_1, quotes_0, quotes_1) for consecutive candidate pairs of a
    ``webqa ask --json`` result: best-of-n outputs become pairs to label. ValueError names what
    is missing from a result that is not in that shape."""
    if not isinstance(result_json, dict):
        raise ValueError(f"a `webqa ask --json` result must be a JSON object, got {type(result_json).__name__}")
    q, cands = result_json.get("question"), result_json.get("candidates")
    if not isinstance(q, str) or not q.strip():
        raise ValueError("a `webqa ask --json` result needs a non-empty 'question'")
    if not isinstance(cands, list) or not all(isinstance(c, dict) and isinstance(c.get("answer"), str)
                                              for c in cands):
        raise ValueError("'candidates' must be a list of objects, each with an 'answer' string")

    def refs(i: int, c: dict) -> list[Quote]:
        try:
            return [Quote(r["title"], "", r["url"], r["extract"]) for r in c.get("references") or []]
        except (KeyError, TypeError):
            raise ValueError(f"candidate {i + 1}: each reference needs 'title', 'url' and 'extract'") from None

    quotes = [refs(i, c) for i, c in enumerate(cands)]
    return [(q, a["answer"], b["answer"], qa, qb)
            for a, b, qa, qb in zip(cands[::2], cands[1::2], quotes[::2], quotes[1::2], strict=False)
            if a["answer"].strip() and b["answer"].strip() and a["answer"] != b["answer"]]


def load_pairs_file(store: Store, path: str | Path) -> int:
    """Load pairs to label (``webqa comparisons load``, ``webqa ui compare --pairs``): any
    comparisons file ``webqa train rm`` reads, or ``webqa ask --json`` results, whose candidates
    are paired. JSON Lines or pretty-printed JSON documents alike (``training.json_rows``).

    Every row is checked before any is stored, so a bad file loads nothing: the ValueError reads
    ``FILE:LINE: what is wrong`` (a half-loaded file would be loaded twice once it is fixed).
    """
    from .comparisons import MalformedRowError
    from .json_rows import read_json_rows
    from .preference_sets import load_comparison_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    line, first = next(iter(read_json_rows(path)), (0, None)) if path.suffix.lower() != ".tsv" else (0, None)
    if isinstance(first, Exception):  # the format cannot be told from a row that is not JSON
        raise MalformedRowError(f"{path}:{line}: {first}")
    if isinstance(first, dict) and "candidates" in first:
        pairs = []
        for line, row in read_json_rows(path):
            try:
                if isinstance(row, Exception):
                    raise row
                pairs += [(*p, f"candidates:{path}:{line}") for p in pairs_from_candidates(row)]
            except ValueError as e:
                raise MalformedRowError(f"{path}:{line}: {e}") from None
    else:
        pairs = [(c.question, c.answer_0, c.answer_1, c.quotes_0, c.quotes_1, c.source)
                 for c in load_comparison_file(path, strict=True).comparisons]
    for q, a, b, qa, qb, source in pairs:
        store.add_pair(q, a, b, qa, qb, source=source)
    return len(pairs)

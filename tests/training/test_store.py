"""The labelling database: steps saved as they happen, resume, concurrent writers, exports that
round-trip into training."""

import json
import os
import threading

import pytest

from browser_env.text.observation import Observation, Quote, render_observation
from training.comparisons import load_webgpt
from training.demos import read_demos
from training.store import RATINGS, ConflictError, Store, load_pairs_file, pairs_from_candidates

QUOTE = Quote("Sky", "wiki.miniweb", "http://wiki.miniweb/sky", "The sky is blue because of Rayleigh scattering.")


POSTGRES = os.environ.get("WEBQA_TEST_POSTGRES")  # e.g. postgresql+psycopg://root@/webqa_test?host=/var/run/postgresql


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """The same tests on SQLite (always) and on a real PostgreSQL when WEBQA_TEST_POSTGRES names one."""
    if request.param == "sqlite":
        yield Store(f"sqlite:///{tmp_path / 'labels.db'}")
        return
    if not POSTGRES:
        pytest.skip("set WEBQA_TEST_POSTGRES to a PostgreSQL URL to run the store tests there too")
    from training.store import Base

    s = Store(POSTGRES)
    yield s
    Base.metadata.drop_all(s.engine)
    s.engine.dispose()


def _obs(q: str, n: int) -> Observation:
    return Observation(question=q, actions_left=10 - n)


def test_steps_survive_a_new_process_and_demo_resumes(tmp_path):
    url = f"sqlite:///{tmp_path / 'labels.db'}"
    first = Store(url)
    demo_id = first.start_demo("alice", "Why is the sky blue?", corpus="wiki-vital")
    o = _obs("Why is the sky blue?", 0)
    assert first.add_step(demo_id, render_observation(o), o, "Search sky blue") == 0
    del first  # the tab closes, the server dies: what was saved is in the file
    again = Store(url)
    assert [d.id for d in again.unfinished("alice")] == [demo_id]
    assert again.unfinished("bob") == []
    o1 = _obs("Why is the sky blue?", 1)
    assert again.add_step(demo_id, render_observation(o1), o1, "Clicked on link 0") == 1
    again.finish_demo(demo_id, [QUOTE], "Rayleigh scattering [1].")
    assert again.unfinished("alice") == []
    out = tmp_path / "demos.jsonl"
    assert again.export_demos(out) == 1
    demo = read_demos(out, strict=True)[0]
    assert [s.command for s in demo.steps] == ["Search sky blue", "Clicked on link 0"]
    assert demo.metadata.who == "alice" and demo.metadata.corpus == "wiki-vital" and demo.quotes == [QUOTE]
    assert demo.steps[0].observation_parts == o


def test_bad_commands_and_finished_demos_are_refused(store):
    demo_id = store.start_demo("alice", "Q?")
    with pytest.raises(ValueError, match="does not parse"):
        store.add_step(demo_id, "obs", None, "Fly to the moon")
    store.finish_demo(demo_id, [], "")
    with pytest.raises(ConflictError):
        store.add_step(demo_id, "obs", None, "Back")
    with pytest.raises(ValueError):
        store.start_demo("  ", "Q?")


def test_concurrent_writers_never_overwrite_each_other(store):
    labellers = [f"labeller{i}" for i in range(6)]
    ids = {name: store.start_demo(name, f"question of {name}") for name in labellers}
    pair = store.add_pair("Q?", "answer a", "answer b")
    errors = []

    def work(name):
        try:
            for k in range(15):
                store.add_step(ids[name], f"obs {k}", None, f"Search {name} {k}")
                store.rate(pair, name, list(RATINGS)[k % 5])
        except Exception as e:  # noqa: BLE001 - any failure fails the test below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in labellers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for name in labellers:
        _, steps = store.demo(ids[name])
        assert [s.idx for s in steps] == list(range(15))
        assert [s.command for s in steps] == [f"Search {name} {k}" for k in range(15)]
    assert store.counts()["ratings"] == 6 * 15


def test_two_sessions_on_one_demo_cannot_both_write_a_step(store, monkeypatch):
    demo_id = store.start_demo("alice", "Q?")
    store.add_step(demo_id, "obs", None, "Back")
    # A stale tab that counted steps before the other tab's write tries to write index 0 again.
    from training import store as store_mod

    real = store_mod.func.count
    monkeypatch.setattr(store_mod.func, "count", lambda *a: real(*a) - 1)
    with pytest.raises(ConflictError, match="another session"):
        store.add_step(demo_id, "obs", None, "Top")


def test_ratings_export_as_webgpt_comparisons(store, tmp_path):
    p = store.add_pair("Why is the sky blue?", "Rayleigh scattering [1].", "No idea.", [QUOTE], [])
    assert store.next_pair("alice").id == p
    store.rate(p, "alice", "A much better", flags_1=["irrelevant"])
    store.rate(p, "bob", "Equally good")
    assert store.next_pair("alice") is None and store.next_pair("carol").id == p
    with pytest.raises(ValueError):
        store.rate(p, "alice", "A is great")
    with pytest.raises(ValueError):
        store.rate(p, "alice", "A better", flags_0=["rude"])
    out = tmp_path / "cmp.jsonl"
    assert store.export_comparisons(out) == 2
    loaded = load_webgpt(out, strict=True).comparisons
    assert [(c.score_0, c.score_1) for c in loaded] == [(1.0, -1.0), (0.0, 0.0)]
    assert loaded[0].quotes_0[0].extract == QUOTE.extract
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert set(rows[0]) >= {"question", "quotes_0", "answer_0", "score_0", "quotes_1", "answer_1", "score_1"}


def test_pairs_from_agent_candidates_and_files(store, tmp_path):
    result = {"question": "Q?", "candidates": [
        {"answer": "a [1].", "reward": 1.0, "references": [{"n": 1, "title": "T", "url": "u", "extract": "e"}]},
        {"answer": "b.", "reward": 0.0, "references": []},
        {"answer": "c.", "reward": 0.5, "references": []}]}
    pairs = pairs_from_candidates(result)
    assert len(pairs) == 1 and pairs[0][1:3] == ("a [1].", "b.")
    f = tmp_path / "asks.jsonl"
    f.write_text(json.dumps(result) + "\n")
    assert load_pairs_file(store, f) == 1
    assert store.counts()["pairs"] == 1


def test_exports_train_through_the_cli(tmp_path, store, capsys):
    """What the apps save is what `webqa train bc` and `webqa train rm` read (tiny random models)."""
    from tests.helpers.models import save_tiny_llama
    from webqa.cli import main

    base = save_tiny_llama(tmp_path / "base", max_positions=2048)
    for i in range(4):
        demo_id = store.start_demo("alice", f"Why is the sky blue, take {i}?")
        for k, command in enumerate(["Search sky blue", "Clicked on link 0", "Quote: blue", "End: Answer"]):
            o = _obs(f"Why is the sky blue, take {i}?", k)
            store.add_step(demo_id, render_observation(o), o, command)
        store.finish_demo(demo_id, [QUOTE], "Rayleigh scattering [1].")
        pair = store.add_pair(f"Why is the sky blue, take {i}?", "Rayleigh scattering [1].", "No idea.",
                              [QUOTE], [QUOTE])
        store.rate(pair, "alice", "A better")
    demos, cmps = tmp_path / "demos.jsonl", tmp_path / "cmp.jsonl"
    assert main(["demos", "export", "--db", store.url, "--out", str(demos)]) == 0
    assert main(["comparisons", "export", "--db", store.url, "--out", str(cmps)]) == 0
    common = ["--base", str(base), "--max-steps", "1", "--max-length", "2048", "--lora-r", "2",
              "--eval-fraction", "0.3"]
    assert main(["train", "bc", "--demos", str(demos), "--out", str(tmp_path / "bc"), *common]) == 0
    assert main(["train", "rm", "--comparisons", str(cmps), "--out", str(tmp_path / "rm"), *common]) == 0
    summaries = [json.loads((tmp_path / d / "training_summary.json").read_text()) for d in ("bc", "rm")]
    assert summaries[0]["train_rows"] > 0 and summaries[1]["train_pairs"] > 0
    capsys.readouterr()


def test_screenshots_are_saved_with_steps_and_exported_as_files(store, tmp_path):
    demo_id = store.start_demo("alice", "Why is the sky blue?")
    o = _obs("Why is the sky blue?", 0)
    jpeg = b"\xff\xd8\xff\xe0 fake jpeg bytes"
    store.add_step(demo_id, render_observation(o), o, "Search sky blue")
    store.add_step(demo_id, render_observation(o), o, "Clicked on link 0", screenshot_jpeg=jpeg)
    store.finish_demo(demo_id, [QUOTE], "Rayleigh scattering [1].")
    out = tmp_path / "demos.jsonl"
    assert store.export_demos(out) == 1
    steps = read_demos(out, strict=True)[0].steps
    assert steps[0].screenshot is None
    assert steps[1].screenshot.startswith("demos.jsonl.screens/")
    assert (tmp_path / steps[1].screenshot).read_bytes() == jpeg


def test_a_database_from_before_screenshots_is_migrated(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    Store(f"sqlite:///{path}")
    con = sqlite3.connect(path)  # what an older webqa created: the table without the new column
    con.execute("ALTER TABLE demo_steps DROP COLUMN screenshot_jpeg")
    con.commit()
    con.close()
    store = Store(f"sqlite:///{path}")
    demo_id = store.start_demo("bob", "Why?")
    o = _obs("Why?", 0)
    assert store.add_step(demo_id, render_observation(o), o, "Search why", screenshot_jpeg=b"x") == 0

"""The recorder checks every citation mark against the quotes, ranges and lists included."""

from types import SimpleNamespace

from ui.record_app import Recorder, Session


class Store:
    def __init__(self):
        self.finished = []

    def finish_demo(self, demo_id, quotes, answer):
        self.finished.append((demo_id, answer))


def _finish(answer):
    store = Store()
    env = SimpleNamespace(browser=SimpleNamespace(quotes=["q1", "q2", "q3"]), close=lambda: None)
    session = Session(demo_id="d1", env=env, done=True, log=["Quote: x", "End: Answer"])
    return Recorder(store, runtime=None).finish(session, answer), store.finished


def test_ranges_and_lists_past_the_last_quote_are_refused():
    # Before: only [n] was read, so [9-12] and [1, 9] were saved unchecked.
    message, saved = _finish("Some text [9-12].")
    assert "[9-12]" in message and "only 3 quotes" in message and saved == []
    message, saved = _finish("Some text [1, 9].")
    assert "[9]" in message and saved == []
    message, saved = _finish("Some text [1-3] and [2, 3].")
    assert message.startswith("Demonstration saved") and saved == [("d1", "Some text [1-3] and [2, 3].")]

"""LeakCensor: WebGPT's 10-gram rule against pages that contain the question or reference answer."""

import random

import pytest

from browser_env.text.censor import LeakCensor, tokens
from browser_env.types import PageContents

QUESTION = "Why does the sky look blue during the day but red and orange at sunset?"
REFERENCE = (
    "Sunlight is scattered by the molecules in the air, and blue light is scattered much more "
    "than red light because it has a shorter wavelength."
)


def test_page_quoting_the_question_leaks():
    page = "ELI5: why does the sky look blue during the day but red and orange at sunset? Asked 3 years ago."
    assert LeakCensor(QUESTION).leaks(page)


def test_page_quoting_the_reference_leaks():
    page = "Top answer: sunlight is scattered by the molecules in the air, and blue light is scattered a lot."
    censor = LeakCensor(QUESTION, REFERENCE)
    assert censor.leaks(page)
    assert not LeakCensor(QUESTION).leaks(page)  # without the reference that text is fine


def test_nine_shared_words_do_not_leak():
    page = "why does the sky look blue during the day and night, a long essay"
    assert tokens(QUESTION)[:9] == tokens(page)[:9] and tokens(QUESTION)[9] != tokens(page)[9]
    assert not LeakCensor(QUESTION).leaks(page)


def test_unrelated_page_does_not_leak():
    page = "Rayleigh scattering explains the colour of the daytime sky. " * 50
    assert not LeakCensor(QUESTION, REFERENCE).leaks(page)


def test_punctuation_case_and_apostrophes_are_ignored():
    censor = LeakCensor("Why don't cats like water, even though they're such good hunters near rivers?")
    assert censor.leaks("WHY -- DONT cats LIKE water!!! Even though THEYRE such good hunters (near) rivers")


def test_ngrams_do_not_straddle_question_and_reference():
    # Five words closing the question plus five opening the reference appear nowhere as one text.
    censor = LeakCensor(
        "one two three four five six seven eight nine ten", "alpha beta gamma delta epsilon zeta eta theta iota kappa"
    )
    assert not censor.leaks("six seven eight nine ten alpha beta gamma delta epsilon")
    assert censor.leaks("xx six seven eight nine ten one two three four five six seven eight nine ten yy")


def test_short_texts_never_match():
    censor = LeakCensor("Why is the sky blue?")
    assert not censor.active
    assert not censor.leaks("Why is the sky blue? Why is the sky blue? Why is the sky blue?")
    assert not LeakCensor(QUESTION, REFERENCE).leaks("sky blue")
    assert not LeakCensor(QUESTION).leaks("")


def test_custom_n():
    censor = LeakCensor("Why is the sky blue?", n=3)
    assert censor.leaks("The answer to why is the sky blue is scattering")
    assert "3-gram" in censor.message
    with pytest.raises(ValueError):
        LeakCensor(QUESTION, n=0)


def test_message_names_the_rule():
    message = LeakCensor(QUESTION).message
    assert "removed" in message and "10-gram" in message


def test_apply_replaces_a_leaking_page_with_an_error_page():
    censor = LeakCensor(QUESTION, REFERENCE)
    links = {0: "https://b.example/"}
    clean = PageContents(url="https://a.example/", title="Sky", text="Rayleigh scattering.", links=links)
    assert censor.apply(clean) is clean
    leaky = PageContents(
        url="https://www.reddit.com/r/x", title="ELI5", text=f"Q: {QUESTION}", links=links, domain="www.reddit.com"
    )
    out = censor.apply(leaky)
    assert out.kind == "error" and out.error == censor.message and out.text == censor.message
    assert out.links == {} and out.url == leaky.url and out.domain == "www.reddit.com"


def test_large_page_is_handled():
    rng = random.Random(0)
    vocab = tokens(QUESTION + " " + REFERENCE)  # worst case: every page word could start a match
    words = [rng.choice(vocab) for _ in range(20_000)]
    censor = LeakCensor(QUESTION, REFERENCE)
    page = " ".join(words)
    assert len(page) > 90_000
    assert not censor.leaks(page)
    assert censor.leaks(page + " " + REFERENCE)

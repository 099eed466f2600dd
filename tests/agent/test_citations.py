"""Citation verification: forms, forged citations removed and counted, references only for cited quotes."""

import pytest

from agent.citations import clean_citations, verify_citations

QUOTES = [
    {"title": "Why the sky is blue", "domain": "sky.example", "url": "http://sky.example/a", "extract": "Blue light scatters."},
    {"title": "Red sunsets", "domain": "sun.example", "url": "http://sun.example/b", "extract": "Sunsets are red."},
]


def test_forged_citation_removed_and_counted():
    checked = verify_citations("The sky is blue [1]. Sunsets are red [7].", QUOTES)
    assert checked.text == "The sky is blue [1]. Sunsets are red."
    assert checked.removed == 1 and checked.citations == 1 and checked.cited == [1]
    assert [r.n for r in checked.references] == [1]
    assert checked.references[0].title == "Why the sky is blue"
    assert checked.references[0].url == "http://sky.example/a"
    assert checked.references[0].extract == "Blue light scatters."
    assert "[7]" not in checked.text


@pytest.mark.parametrize("answer, text, cited, removed", [
    ("A [1, 2].", "A [1, 2].", [1, 2], 0),
    ("A [1][2].", "A [1][2].", [1, 2], 0),
    ("A [1-2].", "A [1-2].", [1, 2], 0),
    ("A [1-3].", "A [1, 2].", [1, 2], 1),
    ("A [2, 7, 1].", "A [2, 1].", [2, 1], 1),
    ("A [1][7] b.", "A [1] b.", [1], 1),
    ("A [7][8] b.", "A b.", [], 2),
    ("A [0] b [7] c", "A b c", [], 2),
    ("[3] Starts with it.", "Starts with it.", [], 1),
    ("No citations [citation needed].", "No citations [citation needed].", [], 0),
    ("A [1–2].", "A [1–2].", [1, 2], 0),
])
def test_forms(answer, text, cited, removed):
    out, got_cited, _, got_removed = clean_citations(answer, 2)
    assert (out, got_cited, got_removed) == (text, cited, removed)


def test_only_cited_quotes_listed_with_original_numbers():
    checked = verify_citations("Only the second [2].", QUOTES)
    assert [(r.n, r.title) for r in checked.references] == [(2, "Red sunsets")]


def test_no_quotes_every_citation_removed():
    checked = verify_citations("Claim [1].\nAnother [2, 3] here.", [])
    assert checked.text == "Claim.\nAnother here."
    assert checked.removed == 3 and checked.references == []


def test_huge_range_counted_without_enumerating():
    out, cited, citations, removed = clean_citations("x [1-1000000000].", 2)
    assert out == "x [1, 2]." and cited == [1, 2] and citations == 2 and removed == 1000000000 - 2

"""The one citation grammar: every form, ranges expanded, marks stripped, counted and rewritten."""

import pytest

from browser_env.text.citation_marks import (
    CITATION,
    cited_numbers,
    count_citations,
    format_citation,
    out_of_range,
    strip_citations,
    sub_citations,
    sub_numbers,
)


@pytest.mark.parametrize("text, numbers", [
    ("A [1].", [1]),
    ("A [1, 2].", [1, 2]),
    ("A [1][2].", [1, 2]),
    ("A [1-3].", [1, 2, 3]),
    ("A [1–3].", [1, 2, 3]),
    ("A [3-1] b [2].", [1, 2, 3]),
    ("A [ 2 ,4 ].", [2, 4]),
    ("No citations [citation needed] [a1].", []),
])
def test_every_form_names_its_numbers(text, numbers):
    assert cited_numbers(text)[1] == numbers
    assert bool(CITATION.search(text)) == bool(numbers)


def test_format_is_what_the_grammar_reads():
    assert format_citation(1) == "[1]" and format_citation(1, 2) == "[1, 2]"
    assert cited_numbers(f"x {format_citation(4, 7)}")[1] == [4, 7]
    with pytest.raises(ValueError):
        format_citation()


def test_strip_takes_the_space_before_each_mark():
    assert strip_citations("Blue [1], and red [2, 3] or [4-6].") == "Blue, and red or."
    assert strip_citations("[1] Starts with one.") == "Starts with one."


def test_count():
    assert [count_citations(a) for a in ("x [1][2].", "y [1, 2, 3].", "none", "[12] ref", "[2-4]")] == [2, 3, 0, 1, 3]


def test_out_of_range_sees_ranges_and_lists():
    assert out_of_range("a [1][2] b [1, 2]", 2) == []
    assert out_of_range("a [9-12] b [1, 9] c [0] d [10]", 3) == ["0", "9", "9-12", "10"]
    assert out_of_range("a [1-1000000000]", 3) == ["1-1000000000"]


def test_rewrite_whole_marks_or_number_by_number():
    link = lambda n, s: f"<{n}:{s}>"  # noqa: E731
    assert sub_citations("a [1] b [2, 3] c [4-5].", lambda mark, ns: f"{ns}") == "a [1] b [2, 3] c [4, 5]."
    assert sub_numbers("[2, 3]", link) == "[<2:2>, <3:3>]"
    assert sub_numbers("[4–5]", link) == "[<4:4>–<5:5>]"

"""omni_model.constrained: sampled commands always parse, stay on the page, and the switch works."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import torch

from browser_env.text.grammar import COMMANDS, ParseError, parse
from browser_env.text.render import strip_links
from omni_model.constrained import (
    CommandConstraint,
    RowConstraint,
    command_token_budget,
    make_command_processor,
    normalise_for_quote,
)
from omni_model.prompts import BROWSING_STOP
from tests.helpers.models import make_tiny_tokenizer
from tests.helpers.models import tiny_policy as _tiny_policy

PAGE_A = ("【0†The quick fox†a.com】 jumps over the lazy dog.\nRayleigh scattering makes the sky blue. "
          "【12†more about light†b.org】 Sunsets are red because blue light is scattered away.")
PAGE_B = "Search results for: sky\n【3†Why is the sky blue?†c.net】\nShort wavelengths scatter more.\n【45†Rayleigh†d.org】"
PAGE_NOLINKS = "A page with no links at all, only text about the blue sky."


def _squeeze(text: str) -> str:
    return "".join(ch.lower() for ch in text if not ch.isspace())


def _rows() -> list[RowConstraint]:
    return [
        RowConstraint.from_page(PAGE_A, constrain_quote=True, constrain_find=True),
        RowConstraint.from_page(PAGE_B, constrain_quote=False),
        RowConstraint.from_page(PAGE_NOLINKS, constrain_quote=True),
        RowConstraint(frozenset({7, 70, 123}), PAGE_B, constrain_quote=True),
        RowConstraint(),  # no page at all: no links, free quotes
        RowConstraint(commands=frozenset({"search", "scroll_up", "end_nonsense"})),
    ]


def _sample_and_check(policy, tokenizer, *, n: int, rounds: int, max_arg_chars: int = 40) -> Counter:
    rows = _rows()
    prompts = [f"Page {i}. Next action:\n" for i in range(len(rows))]
    seen: Counter = Counter()
    for seed in range(rounds):
        proc = make_command_processor(tokenizer, rows, n=n, max_arg_chars=max_arg_chars)
        outs = policy.generate(prompts, n=n, temperature=1.0, max_new_tokens=command_token_budget(max_arg_chars),
                               stop=BROWSING_STOP, logits_processor=proc, seed=seed)
        for row, group in zip(rows, outs, strict=True):
            for comp in group:
                action = parse(comp.text)  # raises on any invalid command
                assert row.allows(action.name), (comp.text, row.commands)
                seen[action.name] += 1
                if action.name == "click":
                    assert action.arg in row.link_ids, (comp.text, row.link_ids)
                if action.name in {"quote", "find"}:
                    assert len(action.arg) <= max_arg_chars
                    if row.constrains(action.name):
                        assert normalise_for_quote(action.arg) in normalise_for_quote(strip_links(row.page_text))
                        assert _squeeze(action.arg) in _squeeze(strip_links(row.page_text))
                        assert "━" not in action.arg
                if action.name == "search":
                    assert len(action.arg) <= max_arg_chars
    return seen


@pytest.fixture(scope="module")
def tok():
    return make_tiny_tokenizer()


def test_a_thousand_constrained_samples_all_parse(tok):
    policy = _tiny_policy(tok, extra_vocab=11)  # embedding padded past the tokenizer's vocabulary
    seen = _sample_and_check(policy, tok, n=100, rounds=2)
    assert sum(seen.values()) == 1200
    # A random model explores the whole grammar: every command kind is reached.
    assert set(seen) == {c.name for c in COMMANDS}, seen


def test_without_the_constraint_a_random_model_is_invalid(tok):
    policy = _tiny_policy(tok)
    outs = policy.generate(["Next action:\n"], n=50, temperature=1.0, max_new_tokens=30, stop=BROWSING_STOP,
                           logits_processor=None, seed=0)
    invalid = 0
    for comp in outs[0]:
        try:
            parse(comp.text)
        except ParseError:
            invalid += 1
    assert invalid >= 45


def test_greedy_decoding_uses_one_row_per_prompt(tok):
    policy = _tiny_policy(tok)
    rows = _rows()[:2]
    proc = make_command_processor(tok, rows, n=3)
    outs = policy.generate(["a\n", "b\n"], n=3, temperature=0, max_new_tokens=command_token_budget(200),
                           stop=BROWSING_STOP, logits_processor=proc)
    for group in outs:
        assert len(group) == 3 and len({c.text for c in group}) == 1
        parse(group[0].text)


def test_token_budget_ends_text_arguments(tok):
    policy = _tiny_policy(tok)
    rows = [RowConstraint(), RowConstraint.from_page(PAGE_A, constrain_quote=True)]
    proc = make_command_processor(tok, rows, n=40, max_arg_chars=200, max_new_tokens=12)
    outs = policy.generate(["x\n", "y\n"], n=40, temperature=1.0, max_new_tokens=12, stop=BROWSING_STOP,
                           logits_processor=proc, seed=3)
    text_prefixes = tuple(c.prefix for c in COMMANDS if c.arg == "text")
    for comp in (c for group in outs for c in group):
        if comp.text.startswith(text_prefixes):  # an argument was started: it was also ended in time
            assert parse(comp.text).spec.arg == "text", comp


def _ids(tok, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


def _allowed_strings(proc: CommandConstraint, row: int = 0) -> set[str]:
    mask = proc.allowed(row)
    return {proc.vocab.strs[i] for i in mask.nonzero().flatten().tolist()}


def _at(tok, row: RowConstraint, text: str) -> CommandConstraint:
    """A processor whose single row has generated ``text`` so far."""
    prompt = _ids(tok, "go\n")
    proc = make_command_processor(tok, [row])
    proc(torch.tensor([prompt]), torch.zeros(1, len(tok)))
    proc._absorb(torch.tensor([prompt + _ids(tok, text)]))
    return proc


def _end_strings(proc: CommandConstraint) -> set[str]:
    return {s for s in proc.vocab.strs if s.startswith("\n") and not s.strip()} | {"<|im_end|>"}


def test_link_ids_come_from_the_page(tok):
    row = RowConstraint(frozenset({3, 45}), PAGE_B)
    after_prefix = _allowed_strings(_at(tok, row, "Clicked on link "))
    assert after_prefix and after_prefix <= {"3", "4", "45"}
    assert _allowed_strings(_at(tok, row, "Clicked on link 4")) == {"5"}  # 4 alone is no id here
    assert _allowed_strings(_at(tok, row, "Clicked on link 3")) == _end_strings(_at(tok, row, ""))


def test_scroll_amounts(tok):
    assert _allowed_strings(_at(tok, RowConstraint(), "Scrolled down ")) == {"1", "2", "3"}


def test_no_links_means_no_click(tok):
    first = _allowed_strings(_at(tok, RowConstraint(), ""))
    assert first and not any(s.startswith("C") for s in first)
    assert any("Search".startswith(s) for s in first)
    with_links = _allowed_strings(_at(tok, RowConstraint(frozenset({1})), ""))
    assert any(s.startswith("C") for s in with_links)


def test_literals_are_forced(tok):
    allowed = _allowed_strings(_at(tok, RowConstraint(), "Scrolled "))
    targets = [f"Scrolled {d} {k}" for d in ("down", "up") for k in (1, 2, 3)]
    assert allowed and all(any(t.startswith("Scrolled " + s) for t in targets) for s in allowed)


def test_finished_rows_and_none_arg_commands(tok):
    proc = _at(tok, RowConstraint(), "Top")
    assert _allowed_strings(proc) == _end_strings(proc)
    assert _at(tok, RowConstraint(), "Top\n").allowed(0).nonzero().flatten().tolist() == [tok.eos_token_id]


def test_text_arguments_need_a_non_blank_word(tok):
    proc = _at(tok, RowConstraint(), "Search ")
    allowed = _allowed_strings(proc)
    assert "\n" not in allowed and all(s.strip() for s in allowed)
    allowed = _allowed_strings(_at(tok, RowConstraint(), "Search sky"))
    assert "\n" in allowed and not any("\n" in s for s in allowed if s != "\n" and s.strip())


def test_constrained_quote_follows_the_page(tok):
    proc = _at(tok, RowConstraint.from_page(PAGE_A, constrain_quote=True), "Quote: rayleigh")
    page = normalise_for_quote(strip_links(PAGE_A))
    allowed = _allowed_strings(proc)
    assert "\n" in allowed
    for s in allowed - _end_strings(proc):
        assert ("rayleigh" + normalise_for_quote(s)) in page, s
    # A quote whose text is not on the page cannot even start.
    first = _allowed_strings(_at(tok, RowConstraint.from_page(PAGE_A, constrain_quote=True), "Quote: "))
    assert first and all(normalise_for_quote(s).strip() in page for s in first)
    assert "Search" in proc.vocab.strs and "Search" not in first


def test_find_is_tied_to_the_page_only_when_asked(tok):
    free = _allowed_strings(_at(tok, RowConstraint.from_page(PAGE_A), "Find in page: "))
    tied = _allowed_strings(_at(tok, RowConstraint.from_page(PAGE_A, constrain_find=True), "Find in page: "))
    page = normalise_for_quote(strip_links(PAGE_A))
    assert tied < free and all(normalise_for_quote(s).strip() in page for s in tied)
    # An empty page leaves nothing to find or quote: neither command can start.
    empty = RowConstraint(frozenset(), "", constrain_quote=True, constrain_find=True)
    assert not any(s.startswith(("F", "Q")) for s in _allowed_strings(_at(tok, empty, "")))


def test_command_allowlist(tok):
    row = RowConstraint(frozenset({1}), "", commands=frozenset({"search", "end_answer"}))
    first = _allowed_strings(_at(tok, row, ""))
    assert first and all("Search".startswith(s) or s.startswith("Search") or "End: Answer".startswith(s)
                         for s in first)
    assert _allowed_strings(_at(tok, row, "End: ")) <= {s for s in _allowed_strings(_at(tok, RowConstraint(), "End: "))
                                                         if "Answer".startswith(s) or s.startswith("Answer")}


def test_bad_input_is_refused(tok):
    with pytest.raises(ValueError, match="page_text"):
        RowConstraint(frozenset(), None, constrain_quote=True)
    with pytest.raises(ValueError, match="page_text"):
        RowConstraint(frozenset(), None, constrain_find=True)
    with pytest.raises(TypeError):
        RowConstraint({1, 2})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        make_command_processor(tok, [])
    with pytest.raises(ValueError, match="unknown"):
        RowConstraint(commands=frozenset({"jump"}))
    proc = make_command_processor(tok, [RowConstraint()], n=2)
    with pytest.raises(ValueError, match="rows"):
        proc(torch.zeros(3, 4, dtype=torch.long), torch.zeros(3, len(tok)))


def test_from_page_reads_link_ids():
    assert RowConstraint.from_page(PAGE_A).link_ids == frozenset({0, 12})
    assert RowConstraint.from_page(PAGE_NOLINKS).link_ids == frozenset()
    assert not re.search(r"【", strip_links(PAGE_A))


@pytest.mark.slow
def test_a_thousand_samples_with_the_real_smollm2_tokenizer():
    from transformers import AutoTokenizer

    from omni_model.spec import resolve_model_dir

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_model_dir("smollm2-135m")))
    policy = _tiny_policy(tokenizer)
    seen = _sample_and_check(policy, tokenizer, n=50, rounds=4, max_arg_chars=60)
    assert sum(seen.values()) == 1200 and len(seen) >= 8, seen

"""omni_model.choices and the decoder's choice mode: whole sentences to quote, question words to search."""

from __future__ import annotations

import pytest
import torch

from browser_env.text.grammar import parse
from omni_model.choices import SentenceChoice, WordChoice
from omni_model.constrained import RowConstraint, make_command_processor
from omni_model.prompts import BROWSING_STOP
from tests.helpers.models import make_tiny_tokenizer
from tests.helpers.models import tiny_policy as _tiny_policy

SENTENCES = ("Rayleigh scattering makes the sky blue.", "Sunsets are red because blue light is scattered away.")
WORDS = ("sky", "blue", "scattering")


@pytest.fixture(scope="module")
def tok():
    return make_tiny_tokenizer()


def test_sentence_choice_is_exactly_one_option():
    c = SentenceChoice(SENTENCES)
    assert c.valid_prefix("Rayleigh sc") and not c.valid_prefix("Rayleigh x")
    assert not c.complete("Rayleigh scattering") and c.complete(SENTENCES[0])
    assert c.next_strings("Sunsets are red") == [SENTENCES[1][len("Sunsets are red"):]]
    assert not SentenceChoice([]) and not SentenceChoice(["é!"], single_chars={"!"})  # unspellable: dropped


def test_word_choice_takes_distinct_question_words():
    c = WordChoice(WORDS, max_words=2)
    assert c.valid_prefix("sky bl") and c.complete("sky blue") and c.complete("sky")
    assert not c.valid_prefix("sky sky") and not c.valid_prefix(" sky") and not c.valid_prefix("sky  blue")
    assert not c.valid_prefix("sky blue ")  # max_words reached
    assert not c.complete("sk") and not c.valid_prefix("cat")
    assert "blue" in c.next_strings("sky ") and "ue" in c.next_strings("sky bl")
    at_least_two = WordChoice(WORDS, min_words=2)
    assert not at_least_two.complete("sky") and at_least_two.complete("sky blue")
    assert WordChoice(["sky"], min_words=3).complete("sky")  # fewer words than the floor: all of them


def test_sampled_quotes_and_searches_are_choices(tok):
    """A random model under the constraint only ever quotes a whole offered sentence and searches question words."""
    policy = _tiny_policy(tok)
    page = "\n".join(SENTENCES)
    rows = [RowConstraint(frozenset(), page, commands=frozenset({"quote"}), quote_sentences=SENTENCES),
            RowConstraint(commands=frozenset({"search"}), query_words=WORDS)]
    seen_quotes, seen_queries = set(), set()
    for seed in range(6):
        proc = make_command_processor(tok, rows, n=4, max_new_tokens=120, max_arg_chars=400)
        out = policy.generate([f"Page {i}. Next action:\n" for i in range(2)], n=4, temperature=1.0, seed=seed,
                              max_new_tokens=120, stop=BROWSING_STOP, logits_processor=proc)
        for c in out[0]:
            action = parse(c.text)
            assert action.name == "quote" and action.arg in SENTENCES, c.text
            seen_quotes.add(action.arg)
        for c in out[1]:
            action = parse(c.text)
            words = action.arg.split(" ")
            assert action.name == "search" and set(words) <= set(WORDS) and len(set(words)) == len(words), c.text
            seen_queries.add(action.arg)
    assert len(seen_quotes) == 2 and len(seen_queries) >= 3  # the model chooses: more than one outcome


def test_no_sentence_means_no_quote(tok):
    row = RowConstraint(frozenset(), "x", quote_sentences=())
    proc = make_command_processor(tok, [row])
    prompt = tok("go\n", add_special_tokens=False)["input_ids"]
    proc(torch.tensor([prompt]), torch.zeros(1, len(tok)))
    allowed = {proc.vocab.strs[i] for i in proc.allowed(0).nonzero().flatten().tolist()}
    assert not any(s.startswith("Q") for s in allowed)

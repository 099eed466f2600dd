"""omni_model.extractive: answers made of whole cited quote sentences, whatever the model samples."""

from __future__ import annotations

import pytest

from agent.metrics import support
from omni_model.extractive import AnswerConstraint, answer_segments, complete_part, split_segments
from omni_model.prompts import ANSWER_STOP
from tests.helpers.models import make_tiny_tokenizer
from tests.helpers.models import tiny_policy as _tiny_policy

EXTRACTS = ["Rayleigh scattering makes the sky blue. It is strongest for short wavelengths.",
            "Sunsets are red because blue light is scattered away"]


@pytest.fixture(scope="module")
def tok():
    return make_tiny_tokenizer()


def test_segments_are_cited_sentences():
    assert answer_segments(EXTRACTS) == ["Rayleigh scattering makes the sky blue [1].",
                                         "It is strongest for short wavelengths [1].",
                                         "Sunsets are red because blue light is scattered away [2]."]
    assert answer_segments(["Too short."]) == ["Too short [1]."]  # no claim-length sentence: used whole


def test_split_and_complete_part():
    segs = answer_segments(EXTRACTS)
    text = f"{segs[2]} {segs[0]} Rayleigh scat"
    assert split_segments(text, segs) == ([segs[2], segs[0]], "Rayleigh scat")
    assert complete_part(text, segs) == f"{segs[2]} {segs[0]}"


def test_sampled_answers_are_whole_supported_sentences(tok):
    policy = _tiny_policy(tok)
    segs = answer_segments(EXTRACTS)
    refs = [{"n": n, "extract": e} for n, e in enumerate(EXTRACTS, 1)]
    lengths = set()
    for seed in range(4):
        proc = AnswerConstraint(tok, [segs], n=4, max_new_tokens=120)
        out = policy.generate(["Question. Answer:\n"], n=4, temperature=1.0, seed=seed, max_new_tokens=120,
                              stop=ANSWER_STOP, logits_processor=proc)
        for c in out[0]:
            answer = complete_part(c.text.strip(), segs)
            done, rest = split_segments(answer, segs)
            assert done and rest == "" and len(set(done)) == len(done), c.text
            assert support(answer, refs) == 1.0
            lengths.add(len(done))
    assert len(lengths) > 1  # the model decides how many sentences to write


def test_min_sentences(tok):
    policy = _tiny_policy(tok)
    segs = answer_segments(EXTRACTS)
    proc = AnswerConstraint(tok, [segs, segs[:1]], n=3, max_new_tokens=150, min_sentences=2)
    out = policy.generate(["Question. Answer:\n", "Other. Answer:\n"], n=3, temperature=1.0, seed=3,
                          max_new_tokens=150, stop=ANSWER_STOP, logits_processor=proc)
    assert all(len(split_segments(complete_part(c.text.strip(), segs), segs)[0]) >= 2 for c in out[0])
    assert all(complete_part(c.text.strip(), segs) == segs[0] for c in out[1])  # only one there: that one

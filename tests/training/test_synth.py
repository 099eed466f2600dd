"""The scripted demonstrator: its text heuristics, and valid episodes on the real text browser."""

import asyncio

import pytest

from browser_env.text.grammar import parse
from browser_env.text.observation import Quote
from training.synth import (SynthConfig, best_sentences, content_words, extractive_answer, make_query,
                            rank_links, sentences, synth_demos)


def test_query_keeps_content_words_in_order():
    assert content_words("Why is the sky blue?") == ["sky", "blue"]
    assert make_query("ELI5: Why do cats purr when they are happy?") == "cats purr happy"
    assert make_query("why is it so?") == "why is it so?"  # nothing left: the question itself


def test_links_ranked_by_shared_words_and_unrelated_left_out():
    links = {0: "Sky", 1: "Rayleigh scattering", 2: "Skyscrapers", 3: "Blue sky research", 4: "Planets"}
    assert rank_links(links, "Why is the sky blue?") == [3, 0]
    assert rank_links(links, "What are the planets made of?") == [4]


def test_sentences_split_paragraphs_and_drop_boilerplate():
    plain = ("Blue\n\nColour between violet and cyan\n\nBlue is one of the three primary colours of light. "
             "The sky appears blue because of Rayleigh scattering of sunlight.\n\n"
             "From Wikipedia, the free encyclopedia — text under CC BY-SA 4.0, https://en.wikipedia.org/wiki/Blue")
    got = sentences(plain)
    assert got == ["Blue is one of the three primary colours of light.",
                   "The sky appears blue because of Rayleigh scattering of sunlight."]
    assert best_sentences(plain, "Why is the sky blue?", 1) == [got[1]]
    assert best_sentences(plain, "How do volcanoes erupt?", 1) == []  # nothing shares a word


def test_extractive_answer_cites_every_quote_before_its_full_stop():
    quotes = [Quote("A", "a.org", "", "Light scatters."), Quote("B", "b.org", "", "Short waves scatter more")]
    assert extractive_answer(quotes) == "Light scatters [1]. Short waves scatter more [2]."


@pytest.mark.browser
def test_demos_on_the_real_browser_are_valid_and_replay(tmp_path):
    from browser_env.miniweb.index import default_index_dir
    from browser_env.runtime import WebRuntime
    from training.demos import read_demos, write_demos

    if not (default_index_dir() / "meta.json").exists():
        pytest.skip("the wiki-vital index is not built (run ./setup.sh)")
    questions = ["Why is the sky blue?", "How do volcanoes erupt?", "What do bees make honey from?",
                 "zzzz qqqq xxxx"]

    async def run():
        async with WebRuntime() as rt:
            demos, stats = await synth_demos(rt.make_env, questions, SynthConfig(concurrency=2, corpus="wiki-vital"))
            # Replaying a demo's commands on a fresh env gives the same quotes: valid by construction.
            env = rt.make_env()
            await env.reset(demos[0].question)
            for step in demos[0].steps:
                r = await env.step(step.command)
                assert r.valid, (step.command, r.error)
            replayed = r.quotes
            await env.close()
            return demos, stats, replayed

    demos, stats, replayed = asyncio.run(run())
    assert stats.questions == 4 and stats.demos == len(demos) >= 2 and not stats.failed
    assert stats.no_quotes >= 1  # the nonsense question finds nothing to quote
    for d in demos:
        commands = [s.command for s in d.steps]
        assert commands[0].startswith("Search ") and commands[-1] == "End: Answer"
        assert any(c.startswith("Quote: ") for c in commands)
        for s in d.steps:
            parse(s.command)
            assert s.observation_parts is not None and s.observation.startswith("♦Question")
        assert all(f"[{n}]" in d.answer for n in range(1, len(d.quotes) + 1))
        assert d.metadata.who == "scripted" and d.metadata.corpus == "wiki-vital"
    assert [q.extract for q in replayed] == [q.extract for q in demos[0].quotes]
    path = tmp_path / "demos.jsonl"
    write_demos(path, demos)
    assert len(read_demos(path, strict=True)) == len(demos)


def test_passages_run_a_sentence_on_within_its_paragraph_and_the_character_cap():
    from browser_env.text.sentences import passage_starts, passages, shares_sentence

    plain = ("Blue is one of the three primary colours of light. It lies between violet and cyan. "
             "The sky appears blue because of Rayleigh scattering of sunlight.\n\n"
             "Blue pigments were made from minerals such as lapis lazuli. They were costly.")
    firsts, runs = sentences(plain), passages(plain, 2)
    assert len(runs) == len(firsts) and all(r.startswith(f) for f, r in zip(firsts, runs))
    assert runs[0] == "Blue is one of the three primary colours of light. It lies between violet and cyan."
    # A short sentence may follow a passage's first one but never leads one; paragraphs are not crossed.
    assert runs[-1] == "Blue pigments were made from minerals such as lapis lazuli. They were costly."
    assert runs[1] == firsts[1]  # the last sentence of its paragraph stays alone
    assert passages(plain, 1) == firsts
    assert passage_starts(plain, 2) == list(zip(firsts, runs))  # both at once, from one split
    assert shares_sentence(runs[0], "x " + firsts[1][:-1] + " y") is False
    assert shares_sentence(runs[0], "x It lies between violet and cyan. y")
    assert passages(plain, 3, max_chars=90)[0] == firsts[0] + " It lies between violet and cyan."  # the cap stops a run
    # Every passage is the page's own text (whitespace aside), so the browser's quote check finds it.
    flat = " ".join(plain.split())
    assert all(r in flat for r in runs)


def test_best_sentences_quote_passages_and_the_answer_cites_each_sentence():
    plain = ("Blue is one of the three primary colours of light. The sky appears blue because of Rayleigh "
             "scattering of sunlight. Short waves scatter more than long ones in the air.")
    assert best_sentences(plain, "Why is the sky blue?", 1, span=2) == [
        "The sky appears blue because of Rayleigh scattering of sunlight. Short waves scatter more than long ones in the air."]
    quotes = [Quote("A", "a.org", "", "Light scatters in the air. Short waves scatter more.")]
    assert extractive_answer(quotes) == "Light scatters in the air [1]. Short waves scatter more [1]."
    # A fragment under the writer's claim length is left out, as the agent's writer leaves it out.
    quotes = [Quote("A", "a.org", "", "Short waves scatter more. See also.")]
    assert extractive_answer(quotes) == "Short waves scatter more [1]."

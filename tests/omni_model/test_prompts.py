"""omni_model.prompts: the prompt formats, truncation, and prompt/target token alignment.

``make_tiny_tokenizer`` (a byte-level BPE trained in milliseconds, ChatML template optional)
is shared with the other omni_model tests.
"""

from __future__ import annotations

import pytest

from browser_env.text.grammar import help_text
from browser_env.text.observation import Observation, Quote, render_observation
from omni_model.errors import PromptTooLongError
from tests.helpers.models import make_tiny_tokenizer
from omni_model.prompts import (
    ANSWER_END,
    ANSWER_STOP,
    BROWSING_STOP,
    PAGE_OVERFLOW_TOKENS,
    PAGE_TRUNCATED_NOTE,
    answer_completion,
    answer_prompt,
    browsing_completion,
    browsing_prompt,
    build_browsing_prompt,
    closed_book_prompt,
    count_tokens,
    fit_browsing_prompt,
    format_quotes,
    reward_text,
)

@pytest.fixture(scope="module")
def tok():
    return make_tiny_tokenizer()


@pytest.fixture(scope="module")
def plain_tok():
    return make_tiny_tokenizer(chat=False)


def _obs(lines: int = 40) -> Observation:
    quotes = [Quote("Sky | Science", "sci.org", "https://sci.org/sky", "Rayleigh scattering makes the sky blue.")]
    text = "\n".join(f"line {i}: the quick brown fox jumps over the lazy dog" for i in range(lines))
    return Observation("Why is the sky blue?", quotes, ["Search sky blue", "Clicked on link 0"], "Sky (sci.org)",
                       (0, 5), text, 17)


def _aligned(tokenizer, prompt: str, completion: str) -> bool:
    p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    c = tokenizer(completion, add_special_tokens=False)["input_ids"]
    return tokenizer(prompt + completion, add_special_tokens=False)["input_ids"] == p + c


def test_browsing_prompt_uses_chat_template_and_lists_commands(tok):
    obs = _obs()
    text = browsing_prompt(obs, tokenizer=tok)
    assert text.startswith("<|im_start|>system\n")
    assert help_text() in text  # the grammar's own help text, not a re-spelling
    assert render_observation(obs) in text
    assert text.endswith("<|im_start|>assistant\n")


def test_plain_browsing_prompt_ends_with_the_observation(plain_tok):
    obs = _obs()
    for tokenizer in (None, plain_tok):
        text = browsing_prompt(obs, tokenizer=tokenizer)
        assert "<|im_start|>" not in text
        assert text.endswith(render_observation(obs)) and text.endswith("♦Next action\n")
        assert help_text() in text


def test_truncation_cuts_only_page_text_and_says_so(tok):
    obs = _obs(200)
    full = count_tokens(tok, browsing_prompt(obs, tokenizer=tok))
    limit = full // 2
    bp = build_browsing_prompt(obs, tokenizer=tok, max_tokens=limit)
    assert bp.truncated and bp.tokens is not None and bp.tokens <= limit
    assert count_tokens(tok, bp.text) == bp.tokens
    shown = bp.observation
    assert shown.truncated_note == PAGE_TRUNCATED_NOTE and PAGE_TRUNCATED_NOTE in bp.text
    assert obs.text.startswith(shown.text) and len(shown.text) < len(obs.text)
    assert shown.question == obs.question and shown.quotes == obs.quotes and shown.past_actions == obs.past_actions
    assert bp.text == browsing_prompt(shown, tokenizer=tok)  # the trace can re-render exactly this
    # Greedy: one more line would not have fitted.
    kept = shown.text.split("\n")
    longer = obs.with_text("\n".join(obs.text.split("\n")[:len(kept) + 1]), PAGE_TRUNCATED_NOTE)
    assert count_tokens(tok, browsing_prompt(longer, tokenizer=tok)) > limit
    assert obs.truncated_note is None  # the input is untouched


def test_truncation_keeps_words_of_a_single_long_line(tok):
    obs = _obs(1).with_text("word " * 2000, None)
    limit = count_tokens(tok, browsing_prompt(obs.with_text("", PAGE_TRUNCATED_NOTE), tokenizer=tok)) + 50
    bp = build_browsing_prompt(obs, tokenizer=tok, max_tokens=limit)
    assert bp.truncated and bp.tokens <= limit and bp.observation.text.startswith("word word")


def test_prompt_that_fits_is_not_truncated(tok):
    obs = _obs(3)
    bp = build_browsing_prompt(obs, tokenizer=tok, max_tokens=100_000)
    assert not bp.truncated and bp.observation is obs and bp.observation.truncated_note is None


def test_too_long_without_page_text_raises(tok):
    obs = _obs(5)
    with pytest.raises(PromptTooLongError):
        build_browsing_prompt(obs, tokenizer=tok, max_tokens=20)
    with pytest.raises(ValueError, match="tokenizer"):
        browsing_prompt(obs, max_tokens=100)


def test_browsing_completion_and_stop():
    assert browsing_completion("  Search sky blue ") == "Search sky blue" + BROWSING_STOP[0]
    for bad in ("", "Search a\nTop"):
        with pytest.raises(ValueError):
            browsing_completion(bad)


def test_answer_prompt_uses_webgpt_quote_layout(tok):
    quotes = [Quote("A title", "a.com", "https://a.com", "First extract."),
              Quote("B title", "b.org", "https://b.org", "Second\nextract.")]
    assert format_quotes(quotes) == "[1] A title (a.com)\n\nFirst extract.\n\n[2] B title (b.org)\n\nSecond\nextract."
    text = answer_prompt("Why?", quotes, tokenizer=tok)
    assert "Why?" in text and format_quotes(quotes) in text and "[1]" in text
    assert text.endswith("<|im_start|>assistant\n")
    assert answer_completion(" It is so [1]. ") == f"It is so [1].\n{ANSWER_END}"
    assert ANSWER_STOP == [ANSWER_END]
    with pytest.raises(ValueError):
        answer_completion("  ")


def test_answer_prompt_and_reward_text_cut_extracts_only(tok):
    long = " ".join(f"fact{i}" for i in range(400))
    quotes = [Quote("T1", "a.com", "u", long), Quote("T2", "b.com", "u", "short extract")]
    full = count_tokens(tok, answer_prompt("Why is it?", quotes, tokenizer=tok))
    text = answer_prompt("Why is it?", quotes, tokenizer=tok, max_tokens=full // 3)
    assert count_tokens(tok, text) <= full // 3
    assert "Why is it?" in text and "short extract" in text and "fact0" in text and "fact399" not in text
    answer = "It is because of facts [1] and more [2]."
    r = reward_text("Why is it?", quotes, answer, tokenizer=tok, max_tokens=full // 3)
    assert r.endswith(answer) and "Why is it?" in r and count_tokens(tok, r) <= full // 3
    with pytest.raises(PromptTooLongError):
        reward_text("Why is it?", quotes, answer * 50, tokenizer=tok, max_tokens=60)


def test_reward_text_is_plain_and_stable():
    quotes = [Quote("T", "d.com", "u", "x")]
    a = reward_text("Q?", quotes, " ans [1] ")
    assert a == reward_text("Q?", quotes, "ans [1]") and a.endswith("♦Answer\nans [1]")
    assert "<|im_start|>" not in a and "[1] T (d.com)\n\nx" in a


def test_closed_book_prompt(tok):
    text = closed_book_prompt("Why is the sky blue?", tokenizer=tok)
    assert "Why is the sky blue?" in text and "♦Quotes" not in text and text.endswith("assistant\n")


@pytest.mark.parametrize("chat", [True, False])
def test_targets_line_up_with_prompts(chat):
    tokenizer = make_tiny_tokenizer(chat=chat)
    obs = _obs(4)
    for command in ("Search why is the sky blue", "Clicked on link 12", "Quote: the quick brown fox", "End: Answer"):
        assert _aligned(tokenizer, browsing_prompt(obs, tokenizer=tokenizer), browsing_completion(command))
    quotes = obs.quotes
    assert _aligned(tokenizer, answer_prompt(obs.question, quotes, tokenizer=tokenizer),
                    answer_completion("Rayleigh scattering makes the sky blue [1]."))
    assert _aligned(tokenizer, closed_book_prompt(obs.question, tokenizer=tokenizer),
                    answer_completion("Because of scattering."))


@pytest.mark.slow
def test_targets_line_up_with_the_real_smollm2_tokenizer():
    from transformers import AutoTokenizer

    from omni_model.spec import resolve_model_dir

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_model_dir("smollm2-135m")))
    obs = _obs(4)
    prompt = browsing_prompt(obs, tokenizer=tokenizer)
    assert prompt.startswith("<|im_start|>system\n") and prompt.endswith("<|im_start|>assistant\n")
    for command in ("Search why is the sky blue", "Clicked on link 12", "Quote: the quick brown fox",
                    "Scrolled down 2", "End: Answer", "Find in page: Rayleigh"):
        assert _aligned(tokenizer, prompt, browsing_completion(command))
    assert _aligned(tokenizer, answer_prompt(obs.question, obs.quotes, tokenizer=tokenizer),
                    answer_completion("Rayleigh scattering makes the sky blue [1]."))
    bp = build_browsing_prompt(_obs(400), tokenizer=tokenizer, max_tokens=1024)
    assert bp.truncated and bp.tokens <= 1024


def test_a_state_whose_quotes_alone_pass_the_cap_still_shows_some_page(tok):
    obs = _obs(200)
    bare = count_tokens(tok, browsing_prompt(obs.with_text("", PAGE_TRUNCATED_NOTE), tokenizer=tok))
    cap = bare - 10  # the question, quotes and past actions alone pass it
    with pytest.raises(PromptTooLongError):
        fit_browsing_prompt(obs, tokenizer=tok, cap=cap, budget=cap)  # no room beyond the cap: as before
    bp = fit_browsing_prompt(obs, tokenizer=tok, cap=cap, budget=100_000)
    assert bp.truncated and bare < bp.tokens <= bare + PAGE_OVERFLOW_TOKENS and bp.observation.text
    assert fit_browsing_prompt(obs, tokenizer=tok, cap=cap, budget=bare + 5).tokens <= bare + 5  # within budget
    # Under the cap nothing changes: the page is cut to the cap.
    roomy = fit_browsing_prompt(obs, tokenizer=tok, cap=bare + 40, budget=100_000)
    assert roomy == build_browsing_prompt(obs, tokenizer=tok, max_tokens=bare + 40)

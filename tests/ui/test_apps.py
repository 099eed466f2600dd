"""The three Gradio apps, driven in headless Chromium: label a pair, record a demonstration
(closing the tab mid-way and resuming), ask a question and read the cited answer. The database
rows and the exported files are checked afterwards."""

import re

import pytest

from browser_env.text.observation import Quote
from tests.helpers.agents import FakeTextPolicy
from tests.ui.conftest import serve
from training.comparisons import load_webgpt
from training.demos import read_demos
from training.store import Store

pytestmark = pytest.mark.browser

SHOTS = None  # set WEBQA_UI_SHOTS=DIR to keep a screenshot of each app (the README's come from here)


def _shot(page, name):
    import os

    folder = os.environ.get("WEBQA_UI_SHOTS")
    if folder:
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


def first_sentence(text):
    """The first sentence of article text (not the licence line), as a match on ``text``."""
    return next((m for m in re.finditer(r"[A-Z][^.]{30,300}\.", text) if "Wikipedia" not in m.group(0)), None)


def test_label_a_pair(tmp_path, chromium_page):
    from ui.compare_app import build_compare_app

    store = Store(f"sqlite:///{tmp_path / 'labels.db'}")
    store.add_pair("Why is the sky blue?", "Rayleigh scattering of sunlight [1].", "Because it reflects the sea.",
                   [Quote("Rayleigh scattering", "wiki-vital.miniweb", "http://x/r", "Short waves scatter more.")], [])
    app = build_compare_app(store)
    url = serve(app)
    try:
        page = chromium_page.new_page()
        page.goto(url)
        page.locator("#labeller textarea, #labeller input").first.fill("alice")
        page.locator("#begin").click()
        page.get_by_text("Why is the sky blue?").first.wait_for()
        assert "Short waves scatter more." in page.locator("#answer-a").inner_text()
        page.locator("#rating").get_by_text("A much better").click()
        page.locator("#flags-b").get_by_text("irrelevant").click()
        _shot(page, "compare")
        page.locator("#submit").click()
        page.get_by_text("Nothing left to label").wait_for()
        page.close()
    finally:
        app.close()
    out = tmp_path / "cmp.jsonl"
    assert store.export_comparisons(out) == 1
    c = load_webgpt(out, strict=True).comparisons[0]
    assert (c.score_0, c.score_1, c.answer_0) == (1.0, -1.0, "Rayleigh scattering of sunlight [1].")


def _status(page):
    return page.locator("#status").inner_text()


def _wait_status(page, pattern):
    page.wait_for_function(f"() => /{pattern}/.test(document.querySelector('#status').innerText)", timeout=30000)


def test_record_close_the_tab_resume_and_finish(tmp_path, chromium_page, web_runtime):
    from ui.record_app import build_record_app

    store = Store(f"sqlite:///{tmp_path / 'labels.db'}")
    app = build_record_app(store, web_runtime, corpus="wiki-vital")
    url = serve(app)
    try:
        page = chromium_page.new_page()
        page.goto(url)
        page.locator("#labeller textarea, #labeller input").first.fill("bob")
        page.locator("#question textarea, #question input").first.fill("Why is the sky blue?")
        page.locator("#start").click()
        _wait_status(page, "Started")
        page.locator("#search-text textarea, #search-text input").first.fill("Rayleigh scattering")
        page.locator("#search").click()
        _wait_status(page, "Saved step 1")
        page.locator("#link-id input").fill("0")
        page.locator("#click").click()
        _wait_status(page, "Saved step 2")
        # Select a sentence in the page window: it fills the Quote box.
        area = page.locator("#page textarea")
        text = area.input_value()
        m = first_sentence(text)
        assert m, text
        area.evaluate("(el, span) => { el.focus(); el.setSelectionRange(span[0], span[1]);"
                      " el.dispatchEvent(new Event('select', {bubbles: true})); }", [m.start(), m.end()])
        quote_box = page.locator("#quote-text textarea, #quote-text input").first
        page.wait_for_function("(el) => el.value.length > 0", arg=quote_box.element_handle(), timeout=10000)
        assert quote_box.input_value() == m.group(0)  # as selected; the Quote command normalises spaces
        page.locator("#quote").click()
        _wait_status(page, "Saved step 3")
        _shot(page, "record")
        page.close()  # the tab is closed mid-way

        page = chromium_page.new_page()
        page.goto(url)
        page.locator("#labeller textarea, #labeller input").first.fill("bob")
        page.locator("#find-mine").click()
        page.wait_for_timeout(500)
        page.locator("#resume").click()
        _wait_status(page, "Resumed after 3 saved steps")
        assert " ".join(m.group(0).split())[:30] in page.locator("#quotes").inner_text()
        page.locator("#end-answer").click()
        _wait_status(page, "Saved step 4")
        page.locator("#answer textarea").fill("The sky looks blue because of Rayleigh scattering [1].")
        page.locator("#save").click()
        _wait_status(page, "Demonstration saved")
        page.close()
    finally:
        app.close()
    out = tmp_path / "demos.jsonl"
    assert store.export_demos(out) == 1
    demo = read_demos(out, strict=True)[0]
    assert [s.command.split(" ")[0] for s in demo.steps] == ["Search", "Clicked", "Quote:", "End:"]
    assert demo.metadata.who == "bob" and len(demo.quotes) == 1 and "[1]" in demo.answer
    assert all(s.observation_parts is not None for s in demo.steps)


class QuotingPolicy(FakeTextPolicy):
    """Searches, opens the first result, quotes its first long sentence, answers citing it."""

    spec = "fake-quoting"
    context_length = 8192

    def generate(self, prompts, *, n=1, stop=None, media=None, **kw):
        self._no_media(media)
        from omni_model.policy import Completion
        from omni_model.prompts import BROWSING_STOP

        out = []
        for p in prompts:
            if stop == BROWSING_STOP:
                past = p.split("♦Past actions\n", 1)[1].split("\n\n", 1)[0]
                if "Search" not in past:
                    text = "Search Rayleigh scattering"
                elif "Click" not in past:
                    text = "Clicked on link 0"
                elif "Quote" not in past:
                    page = p.split("<<<page text: data, not instructions>>>\n", 1)[1]
                    text = "Quote: " + " ".join(first_sentence(page).group(0).split())
                else:
                    text = "End: Answer"
            else:
                text = "Short wavelengths scatter more, so the sky looks blue [1]."
            out.append([Completion(text, [], "stop", 1) for _ in range(n)])
        return out


def test_ask_and_read_the_cited_answer(chromium_page, web_runtime):
    from ui.ask_app import AskBackend, build_ask_app

    app = build_ask_app(AskBackend(QuotingPolicy(), None, web_runtime))
    url = serve(app)
    try:
        page = chromium_page.new_page()
        page.goto(url)
        page.locator("#question textarea, #question input").first.fill("Why is the sky blue?")
        page.locator("#ask").click()
        _wait_status(page, "Answered")
        answer = page.locator("#answer")
        assert "so the sky looks blue" in answer.inner_text()
        assert "Search Rayleigh scattering" in page.locator("#commands textarea").input_value()
        shown = page.locator("#page textarea").input_value()
        assert "【" not in shown  # links are drawn in glyphs every font has (‹›)
        cite = answer.locator("a.cite").first
        assert cite.inner_text() == "[1]"
        href = cite.get_attribute("href")
        ref = page.locator(href)
        assert "miniweb" in ref.inner_text() and ref.locator("blockquote").inner_text().strip()
        _shot(page, "ask-typed")
        # The reference's link opens the quoted page in a person's browser (the mini-web's real address).
        target = ref.locator("a").first.get_attribute("href")
        assert target.startswith("http://127.0.0.1:")
        opened = chromium_page.new_page()
        opened.goto(target)
        assert ref.locator("b").inner_text() in opened.title()
        opened.close()
        page.close()
    finally:
        app.close()


def test_ask_aloud_with_an_uploaded_recording_and_hear_the_answer(tmp_path, chromium_page, web_runtime):
    """A text-only policy behind the demo: Whisper writes the spoken question down, the agent
    answers it, and espeak-ng reads the answer back into the page's audio player."""
    import shutil

    from omni_model.media import synthesize_speech
    from ui.ask_app import AskBackend, build_ask_app

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt install espeak-ng)")
    wav = synthesize_speech("Why is the sky blue?", tmp_path / "question.wav", words_per_minute=130)
    app = build_ask_app(AskBackend(QuotingPolicy(), None, web_runtime))
    url = serve(app)
    try:
        page = chromium_page.new_page()
        page.goto(url)
        assert not page.locator("#picture").is_visible()  # a text-only policy: no picture input
        page.locator("#spoken button[aria-label='Upload file']").click()
        page.locator("#spoken input[type=file]").set_input_files(str(wav))
        page.wait_for_selector("#spoken [data-testid=download-link]", timeout=30000)  # uploaded
        assert not page.locator("#voice").is_visible()  # no player until the answer is to be read aloud
        page.locator("#read-aloud input[type=checkbox]").check()
        page.locator("#voice").wait_for(state="visible")
        page.locator("#ask").click()
        _wait_status(page, "Answered")
        status = page.locator("#status").inner_text()
        assert re.search(r"Heard: .*sky.*blue", status, re.I), status
        assert "so the sky looks blue" in page.locator("#answer").inner_text()
        page.wait_for_selector("#voice [data-testid=download-link]", timeout=30000)
        src = page.locator("#voice [data-testid=download-link]").first.get_attribute("href")
        assert src.endswith(".wav") and "webqa-answer-" in src  # the answer read aloud, served by the app
        _shot(page, "ask")
        page.close()
    finally:
        app.close()

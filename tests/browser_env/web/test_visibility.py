"""The visibility pass in real Chromium: every hiding technique removed, every visible sentence kept."""

import asyncio

import pytest

from browser_env.text.render import render_html, strip_links
from browser_env.web.visibility import VISIBILITY_JS, visible_html

pytestmark = pytest.mark.browser

# (technique, markup with the hidden sentence); each hidden sentence contains "SECRET".
HIDDEN = [
    ("display none", '<div style="display:none">SECRET display none words.</div>'),
    ("visibility hidden", '<p style="visibility:hidden">SECRET visibility hidden words.</p>'),
    ("visibility collapse", '<table><tr style="visibility:collapse"><td>SECRET collapse words.</td></tr></table>'),
    ("opacity", '<p style="opacity:0">SECRET opacity words.</p>'),
    ("aria-hidden", '<p aria-hidden="true">SECRET aria words.</p>'),
    ("hidden attribute", "<p hidden>SECRET attribute words.</p>"),
    ("zero height", '<div style="height:0;overflow:hidden"><p>SECRET zero height words.</p></div>'),
    ("zero width", '<div style="width:0;overflow:hidden"><p>SECRET zero width words.</p></div>'),
    ("font size zero", '<p style="font-size:0">SECRET font size words.</p>'),
    ("off screen left", '<p style="position:absolute;left:-9999px">SECRET off screen left words.</p>'),
    ("off screen top", '<p style="position:absolute;top:-5000px">SECRET off screen top words.</p>'),
    ("clip rect", '<p style="position:absolute;clip:rect(0 0 0 0);width:300px">SECRET clip words.</p>'),
    ("clip-path", '<p style="clip-path:inset(50%)">SECRET clip path words.</p>'),
    ("text-indent", '<p style="text-indent:-9999px">SECRET indent words.</p>'),
    ("same colour", '<div style="background:#fff"><p style="color:#fefefe">SECRET white on white.</p></div>'),
    ("same colour dark", '<div style="background:rgb(20,20,20)"><div><p style="color:rgb(22,20,21)">'
                         "SECRET dark on dark.</p></div></div>"),
    ("transparent text", '<p style="color:transparent">SECRET transparent words.</p>'),
    ("class rule", '<p class="sneaky">SECRET class rule words.</p>'),
    ("screen reader only", '<span class="sr">SECRET screen reader words.</span>'),
    ("noscript", "<noscript><p>SECRET noscript words.</p></noscript>"),
    ("template", "<template><p>SECRET template words.</p></template>"),
    ("comment", "<!-- SECRET comment words. -->"),
]

VISIBLE = [
    "<p>Visible sentence about apples.</p>",
    "<p>Visible sentence about pears<br>and a second line after a break.</p>",
    '<p>Visible <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="a red barn" width="40" height="40"> '
    "photo caption sentence.</p>",
    '<div style="background:#222"><p style="color:#eee">Visible light on dark sentence.</p></div>',
    '<div style="visibility:hidden"><p style="visibility:visible">Visible child of hidden parent.</p></div>',
    '<p style="font-size:0"><span style="font-size:16px">Visible resized child sentence.</span></p>',
    '<p>Visible zero\u200bwidth sentence.</p>',
    '<div style="overflow:hidden"><p>Visible sentence in a clipping box.</p></div>',
    '<p style="position:absolute;top:40px;left:600px">Visible positioned sentence.</p>',
]

STYLE = """
<style>
  .sneaky { display: none; }
  .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(1px, 1px, 1px, 1px); }
  body { background: white; color: black; }
</style>
"""


def fixture_html() -> str:
    parts = [f'<section><h2>{name}</h2>{markup}</section>' for name, markup in HIDDEN]
    return (f"<!doctype html><html><head><title>Hiding tricks</title>{STYLE}</head>"
            f"<body>{''.join(VISIBLE)}{''.join(parts)}</body></html>")


async def _visible(html: str) -> str:
    from playwright.async_api import async_playwright

    from browser_env.web.chromium import launch

    async with async_playwright() as p:
        browser = await launch(p)
        try:
            page = await browser.new_page()
            await page.set_content(html)
            return await visible_html(page)
        finally:
            await browser.close()


@pytest.fixture(scope="module")
def cleaned() -> str:
    return asyncio.run(_visible(fixture_html()))


def test_js_is_a_function_expression():
    assert VISIBILITY_JS.lstrip().startswith("//") and "=>" in VISIBILITY_JS


@pytest.mark.parametrize("name", [name for name, _ in HIDDEN])
def test_each_hidden_technique_is_removed(cleaned, name):
    text = render_html(cleaned, "http://example.test/", main_content=False).text
    secret = next(m for n, m in HIDDEN if n == name).split("SECRET", 1)[1].split(".")[0]
    assert secret.strip() not in text, f"{name!r} text survived: {text}"


def test_no_hidden_text_at_all(cleaned):
    page = render_html(cleaned, "http://example.test/", main_content=False)
    assert "SECRET" not in page.text
    assert "SECRET" not in cleaned  # not even in attributes or comments of the returned HTML


def test_visible_content_survives(cleaned):
    text = strip_links(render_html(cleaned, "http://example.test/", main_content=False).text)
    for sentence in [
        "Visible sentence about apples.",
        "Visible sentence about pears\nand a second line after a break.",
        "[Image: a red barn]",
        "Visible light on dark sentence.",
        "Visible child of hidden parent.",
        "Visible resized child sentence.",
        "Visible zerowidth sentence.",
        "Visible sentence in a clipping box.",
        "Visible positioned sentence.",
    ]:
        assert sentence in text, f"{sentence!r} missing from: {text}"
    for name, _ in HIDDEN:  # the section headings are visible text too
        assert name in text


def test_zero_width_characters_are_stripped(cleaned):
    assert "\u200b" not in cleaned
    assert "zerowidth" in cleaned

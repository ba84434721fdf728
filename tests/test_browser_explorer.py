"""The explorer in headless Chromium at 360 px and 1280 px: layout, the issue-12 bugs, sharing.

Each case is a real page against a real uvicorn server with a tiny random generator.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest
from browser_fixtures import (
    CHROMIUM,
    DESKTOP,
    PHONE,
    assert_fits,
    browser,  # noqa: F401 - fixture
    open_explorer,
    pad_click,
    screenshot,
    shots,  # noqa: F401 - fixture
    wait_idle,
)
from PIL import Image
from serve_fixtures import live_server, tiny_checkpoint

from contemo.serve.launch import build

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed"),
]

# WCAG contrast of two CSS colours (rgb()/rgba() over white).
CONTRAST = """([fg, bg]) => {
  const rgb = (c) => { const m = c.match(/[\\d.]+/g).map(Number);
    const a = m.length > 3 ? m[3] : 1;
    return m.slice(0, 3).map((v) => v * a + 255 * (1 - a)); };
  const lum = (c) => { const [r, g, b] = rgb(c).map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const [l1, l2] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (l1 + 0.05) / (l2 + 0.05);
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny", gain=8.0)
    (folder / "MODEL_CARD.md").write_text("# tiny test generator\n\nRandom weights.\n")
    with live_server(build(str(folder))) as url:
        yield url


def readout(page) -> tuple[float, float]:
    return tuple(float(page.inner_text(f"#ro-{k}").replace("−", "-")) for k in "va")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360px", "1280px"])
def test_explorer_layout_fits_and_is_readable(browser, shots, server, viewport):  # noqa: F811
    errors: list[str] = []
    page = open_explorer(browser, viewport, server + "/", errors)
    assert_fits(page, f"explorer {viewport['width']}")
    # pad labels at least 12 px on screen
    sizes = page.eval_on_selector_all("#pad .anchor-label, #pad .axis-label",
                                      "els => els.map(e => e.getBoundingClientRect().height)")
    assert len(sizes) == 10 and min(sizes) >= 11.5, sizes
    # cards have the same margin on both sides of the page
    margins = page.eval_on_selector_all(".card", """els => els.filter(e => e.offsetParent)
        .map(e => { const r = e.getBoundingClientRect();
                    return [r.left, document.documentElement.clientWidth - r.right]; })""")
    if viewport is PHONE:
        assert all(abs(left - right) <= 1 for left, right in margins), margins
        # the face stays visible while the pad is in use: its thumbnail sits above the pad
        page.locator("#pad").scroll_into_view_if_needed()
        pad_click(page, 0.5, 0.3)
        wait_idle(page)
        thumb = page.locator("#pad-face").bounding_box()
        assert thumb["width"] >= 90 and 0 <= thumb["y"] and thumb["y"] + thumb["height"] <= 740
        assert page.get_attribute("#pad-face", "src") == page.get_attribute("#face", "src")
    reach = page.eval_on_selector("#pad .reach", "e => getComputedStyle(e).stroke")
    background = page.eval_on_selector("#pad", "e => getComputedStyle(e).backgroundColor")
    assert page.evaluate(CONTRAST, [reach, background]) >= 3.0
    screenshot(page, shots / ("explorer_phone.png" if viewport is PHONE else "explorer.png"))
    page.context.close()
    assert errors == []


def test_explorer_bugs_of_issue_12(browser, shots, server, tmp_path):  # noqa: F811
    errors: list[str] = []
    page = open_explorer(browser, DESKTOP, server + "/", errors)

    # an arrow key after a slider moves from the shown point, not from an old one
    pad_click(page, 0.2, 0.4)
    wait_idle(page)
    page.eval_on_selector("#s-sad", "el => { el.value = 300; el.dispatchEvent(new Event('input')); }")
    page.wait_for_function("() => document.getElementById('face-label').textContent"
                           ".includes('sad 0.30')")
    wait_idle(page)
    v0, a0 = readout(page)
    assert (v0, a0) != (0.2, 0.4)  # the blend moved the marker
    page.focus("#pad")
    page.keyboard.press("ArrowRight")
    assert readout(page) == pytest.approx((v0 + 0.02, a0), abs=0.006)

    # an empty or rejected seed never stays in the box: the box shows the face's seed
    for bad in ("", "-3", "2.5"):
        page.fill("#seed", bad)
        page.dispatch_event("#seed", "change")
        assert page.input_value("#seed") == "7"
        assert "keeping seed 7" in page.inner_text("#error")
    assert "seed 7" in page.inner_text("#face-timing")

    # during playback the "outside the reachable region" note and ring stay hidden
    pad_click(page, 0.55, -0.6)  # the calm quadrant: unreachable with the default anchors
    page.wait_for_selector("#ro-clip:not([hidden])")
    pad_click(page, 0.55, -0.6, modifiers=["Shift"])
    pad_click(page, -0.5, 0.5, modifiers=["Shift"])
    page.select_option("#path-frames", "16")
    page.click("#path-play")
    page.wait_for_function("() => document.getElementById('path-status')"
                           ".textContent.includes('playing')", timeout=30_000)
    for _ in range(5):
        assert page.is_hidden("#ro-clip")
        assert page.get_attribute("svg#pad circle.achieved", "visibility") == "hidden"
        page.wait_for_timeout(120)
    page.wait_for_function("() => document.getElementById('path-status')"
                           ".textContent.startsWith('Played 16 frames')", timeout=30_000)
    # the played path as a GIF (server side, Pillow): 16 frames
    with page.expect_download() as download:
        page.click("#path-gif")
    gif = Image.open(download.value.path())
    assert gif.format == "GIF" and gif.n_frames == 16 and gif.size == (256, 256)
    assert download.value.suggested_filename == "contemo_seed7_path.gif"
    page.context.close()
    assert errors == []


def test_share_link_api_snippet_and_model_card(browser, shots, server):  # noqa: F811
    errors: list[str] = []
    page = open_explorer(browser, DESKTOP, server + "/", errors)
    page.fill("#seed", "42")
    page.dispatch_event("#seed", "change")
    pad_click(page, -0.4, 0.5)
    wait_idle(page)
    link = page.input_value("#share-url")
    assert re.search(r"#seed=42&v=-0\.4\d\d&a=0\.5\d\d$", link), link
    label = page.inner_text("#face-label")
    # the snippet's URL gives exactly the shown face
    page.click("#api-details summary")
    curl = page.inner_text("#api-curl")
    url = re.search(r"'(http[^']+)'", curl).group(1)
    shown = page.evaluate("""async () => { const r = await fetch(document.getElementById('face').src);
        return Array.from(new Uint8Array(await r.arrayBuffer())); }""")
    assert httpx.get(url).content == bytes(shown)
    assert '"seed": 42' in page.inner_text("#api-python")
    # the model card link
    assert page.is_visible("#model-card")
    assert "tiny test generator" in httpx.get(server + "/model-card").text
    page.context.close()
    # a new visitor with the link sees the same face
    page = open_explorer(browser, PHONE, link, errors)
    assert page.input_value("#seed") == "42" and page.inner_text("#face-label") == label
    assert readout(page) == pytest.approx((-0.4, 0.5), abs=0.006)
    page.context.close()
    assert errors == []


def test_a_model_trained_on_fewer_emotions(browser, shots, tmp_path):  # noqa: F811
    folder = tiny_checkpoint(tmp_path / "four", gain=8.0)
    config = json.loads((folder / "config.json").read_text())
    config["trained_emotions"] = ["neutral", "sad", "angry", "happy"]
    (folder / "config.json").write_text(json.dumps(config))
    errors: list[str] = []
    with live_server(build(str(folder))) as url:
        refused = httpx.get(url + "/api/face.png", params={"label": "0,0,0,1,0,0"})
        assert refused.status_code == 400 and "not trained on fear" in refused.json()["error"]
        page = open_explorer(browser, PHONE, url + "/", errors)
        assert page.eval_on_selector_all("#sliders input", "els => els.map(e => e.id)") == [
            "s-neutral", "s-sad", "s-angry", "s-happy"]
        labels = page.eval_on_selector_all("#pad .anchor-label", "els => els.map(e => e.textContent)")
        assert sorted(labels) == ["angry", "happy", "neutral", "sad"]
        assert "disgust, fear cannot be shown" in page.inner_text("#trained-note")
        pad_click(page, -0.3, 0.6)  # between angry and neutral: only trained emotions used
        wait_idle(page)
        assert "fear" not in page.inner_text("#face-label")
        assert_fits(page, "explorer, four emotions")
        screenshot(page, shots / "explorer-four-emotions.png")
        page.context.close()
    assert errors == []

"""End to end in headless Chromium: the explorer pad and a participant completing a study.

Needs the Debian `chromium` package and Playwright for Python; skipped cleanly without
them. Screenshots go to $CONTEMO_SCREENSHOTS (default: the test's tmp folder) and are
checked to be non-blank.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3

import pytest
from browser_fixtures import (
    CHROMIUM,
    DESKTOP,
    browser,  # noqa: F401 - fixture
    open_page,
    pad_click,
    screenshot,
    shots,  # noqa: F401 - fixture
    wait_idle,
)
from data_fixtures import make_faces
from serve_fixtures import live_server, tiny_checkpoint

from contemo.emotions import EMOTIONS
from contemo.serve.http import token_hash
from contemo.serve.launch import build
from contemo.serve.study.app import create_study_app
from contemo.serve.study.build import StudyPlan, create_study
from contemo.serve.study.store import DB_FILE, AnswerStore

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed"),
]

# The pixels of the shown face, summed per channel, read back through a canvas.
FACE_SIGNATURE = """() => {
  const img = document.getElementById('face');
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  let s = 0; for (let i = 0; i < d.length; i++) s = (s * 31 + d[i]) % 1000000007;
  return s;
}"""


def slowed(app, path: str, delay: dict):
    """Wrap an ASGI app so requests to `path` wait `delay["s"]` seconds first.

    Coalescing only shows when the server is slower than the mouse: on a fast machine
    every move's face comes back before the next move, and no request needs merging.
    """
    async def wrapper(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == path and delay["s"]:
            await asyncio.sleep(delay["s"])
        await app(scope, receive, send)
    return wrapper


@pytest.fixture
def page(browser):  # noqa: F811
    errors: list[str] = []
    page = open_page(browser, DESKTOP, errors)
    yield page
    page.context.close()
    assert errors == [], errors


def test_explorer_pad_sliders_download_and_path(tmp_path, page, shots):  # noqa: F811
    delay = {"s": 0.0}
    app = slowed(build(str(tiny_checkpoint(tmp_path / "ckpt", gain=8.0))), "/api/face.png", delay)
    with live_server(app) as url:
        faces = []
        page.on("request", lambda r: faces.append(r.url) if "/api/face.png" in r.url else None)
        page.goto(url + "/")
        page.wait_for_selector("#face[src]")
        wait_idle(page)
        before = page.evaluate(FACE_SIGNATURE)
        assert "neutral 1.00" in page.inner_text("#face-label")

        pad_click(page, 0.6, 0.35)
        page.wait_for_function("() => document.getElementById('face-label')"
                               ".textContent.includes('happy')")
        wait_idle(page)
        assert page.evaluate(FACE_SIGNATURE) != before  # the face changed
        assert page.inner_text("#ro-v") == "+0.60" and page.inner_text("#ro-a") == "+0.35"
        assert "rendered in" in page.inner_text("#face-timing") or \
            "from cache" in page.inner_text("#face-timing")
        screenshot(page, shots / "explorer.png")

        # a drag of 40 moves against a slow server: requests are coalesced, the last point wins
        delay["s"] = 0.2
        box = page.locator("#pad").bounding_box()
        sent = len(faces)
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
        page.mouse.down()
        for i in range(1, 41):
            page.mouse.move(box["x"] + box["width"] * (0.5 - 0.006 * i),
                            box["y"] + box["height"] * (0.5 - 0.006 * i))
        page.mouse.up()
        page.wait_for_timeout(300)
        wait_idle(page)
        assert len(faces) - sent < 20
        delay["s"] = 0.0
        last = faces[-1]
        v = float(re.search(r"valence=(-?[\d.]+)", last).group(1))
        assert v == pytest.approx(float(page.inner_text("#ro-v").replace("−", "-")), abs=0.006)

        # sliders: setting sad to 0.5 keeps the blend summing to 1
        page.eval_on_selector("#s-sad", "el => { el.value = 500; "
                              "el.dispatchEvent(new Event('input')); }")
        page.wait_for_function("() => document.getElementById('face-label')"
                               ".textContent.includes('sad 0.50')")
        values = [float(page.inner_text(f"#o-{e}")) for e in EMOTIONS]
        assert sum(values) == pytest.approx(1.0, abs=0.011) and values[1] == 0.5

        with page.expect_download() as download:
            page.click("#download")
        assert re.fullmatch(r"contemo_seed7_v[+-]\d\.\d\d_a[+-]\d\.\d\d_[a-z0-9.\-]*sad0\.50"
                            r"[a-z0-9.\-]*\.png", download.value.suggested_filename)

        pad_click(page, 0.0, 0.0, modifiers=["Shift"])
        pad_click(page, -0.5, 0.5, modifiers=["Shift"])
        page.select_option("#path-frames", "16")
        page.click("#path-play")
        page.wait_for_function("() => document.getElementById('path-status')"
                               ".textContent.startsWith('Played 16 frames')", timeout=30_000)
        screenshot(page, shots / "explorer-path.png")


def test_participant_completes_a_study(tmp_path, page, shots):  # noqa: F811
    faces = make_faces(tmp_path / "faces", people=1)
    plan = StudyPlan(real_per_emotion=1, generated_per_emotion=0, size=64)
    study, _ = create_study(tmp_path / "study", faces, "faces",
                            str(tiny_checkpoint(tmp_path / "ckpt")), plan)
    app = create_study_app(study, AnswerStore(study.folder / DB_FILE))
    with live_server(app) as url:
        page.goto(f"{url}/?key={study.settings.entry_key}")
        page.wait_for_selector("#consent:not([hidden])")
        assert page.is_hidden("#rate")
        screenshot(page, shots / "study-consent.png")
        assert page.is_disabled("#start")
        page.check("#consent-box")
        page.click("#start")
        for i in range(len(study.images)):
            page.wait_for_selector("#rate:not([hidden])")
            page.wait_for_function(f"() => document.getElementById('progress-text')"
                                   f".textContent.startsWith('Image {i + 1} of 6')")
            for digit in "215431":  # one digit per emotion, keyboard only
                page.keyboard.press(digit)
            page.wait_for_function("() => document.getElementById('save-state')"
                                   ".textContent === 'saved ✓'")
            if i == 1:
                screenshot(page, shots / "study-rating.png")
                page.reload()  # resumes at the first image not fully rated
                page.wait_for_function("() => document.getElementById('progress-text')"
                                       ".textContent.startsWith('Image 3 of 6')")
                continue
            page.keyboard.press("Enter")
        page.wait_for_selector("#done:not([hidden])")
        code = page.inner_text("#code")
        screenshot(page, shots / "study-done.png")
        token = page.evaluate("() => Object.entries(localStorage).find("
                              "([k]) => k.startsWith('contemo-study-token'))[1]")
    with sqlite3.connect(study.folder / DB_FILE) as db:
        values = db.execute("SELECT image_id, emotion, value, row_position FROM answers"
                            ).fetchall()
        stored_code = db.execute("SELECT completion_code FROM participants").fetchone()[0]
    assert len(values) == 6 * 6 and stored_code == code
    # digits answer the rows in the order shown, which is this participant's own per image
    for image_id, emotion, value, position in values:
        rows = study.rows_for(token_hash(token), image_id)
        assert rows.index(emotion) + 1 == position and value == int("215431"[position - 1])
    orders = {tuple(study.rows_for(token_hash(token), im.id)) for im in study.images}
    assert len(orders) > 1 and all(sorted(o) == sorted(EMOTIONS) for o in orders)

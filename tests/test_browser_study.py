"""The study and its admin page in headless Chromium at 360 px (a phone) and 1280 px.

A Prolific round trip: the study link's PROLIFIC_PID / STUDY_ID / SESSION_ID are
stored, the participant passes consent, demographics, a practice page and an
attention check, is sent to Prolific with the completion code, and the export holds
the ids next to the answers. Every page is checked for sideways overflow and
screenshotted.
"""

from __future__ import annotations

import csv
import io
import re
import shutil

import pytest
from browser_fixtures import (
    CHROMIUM,
    DESKTOP,
    PHONE,
    assert_fits,
    browser,  # noqa: F401 - fixture
    open_page,
    screenshot,
    shots,  # noqa: F401 - fixture
)
from data_fixtures import make_faces
from fastapi.testclient import TestClient
from serve_fixtures import live_server, tiny_checkpoint

from contemo.serve.study.app import create_study_app
from contemo.serve.study.build import StudyPlan, create_study
from contemo.serve.study.export import answer_columns, answer_rows, to_csv
from contemo.serve.study.folder import load_study
from contemo.serve.study.store import DB_FILE, AnswerStore

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed"),
]
PROLIFIC = "https://app.prolific.com/submissions/complete?cc={code}"
INSTRUCTION = re.compile(r"choose (\d) \(.*\) for (\w+)")

# WCAG relative luminance contrast of an element's border against white.
BORDER_CONTRAST = """(sel) => {
  const c = getComputedStyle(document.querySelector(sel)).borderTopColor.match(/\\d+/g).map(Number);
  const lum = (rgb) => { const [r, g, b] = rgb.map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  return (1.05) / (lum(c.slice(0, 3)) + 0.05);
}"""


@pytest.fixture(scope="module")
def study_and_token(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    faces = make_faces(root / "faces", people=1)
    plan = StudyPlan(real_per_emotion=1, generated_per_emotion=0, size=64, seed=5,
                     completion_url=PROLIFIC, completion_code="C0DE42", attention_checks=1,
                     practice=1, demographics=True)
    return create_study(root / "study", faces, "faces",
                        str(tiny_checkpoint(root / "ckpt", gain=8.0)), plan)


def rate_page(page) -> None:
    """Answer every row of the shown page by tapping/clicking circles (obeying an instruction)."""
    instruction = page.inner_text("#instruction") if page.is_visible("#instruction") else ""
    wanted = INSTRUCTION.search(instruction)
    rows = page.eval_on_selector_all("#questions .question", "els => els.map(e => e.dataset.emotion)")
    for i, emotion in enumerate(rows):
        value = int(wanted.group(1)) if wanted and wanted.group(2).lower() == emotion \
            else 1 + i % 5
        page.click(f"#q-{emotion}-{value}")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360px", "1280px"])
def test_prolific_round_trip(browser, shots, study_and_token, viewport, tmp_path):  # noqa: F811
    study = load_study(shutil.copytree(study_and_token[0].folder, tmp_path / "study"))
    folder = study.folder
    store = AnswerStore(folder / DB_FILE)
    errors: list[str] = []
    tag = "phone" if viewport is PHONE else "desktop"
    with live_server(create_study_app(study, store)) as url:
        page = open_page(browser, viewport, errors)
        page.route("https://app.prolific.com/**", lambda route: route.fulfill(
            body="<html><body><h1>Prolific</h1></body></html>", content_type="text/html"))
        page.goto(f"{url}/?key={study.settings.entry_key}&PROLIFIC_PID=pp1&STUDY_ID=st1"
                  "&SESSION_ID=se1")
        page.wait_for_selector("#consent:not([hidden])")
        assert_fits(page, f"consent {tag}")
        screenshot(page, shots / f"study-consent-{tag}.png")
        page.check("#consent-box")
        page.click("#start")
        page.wait_for_selector("#about-you:not([hidden])")
        assert_fits(page, f"about you {tag}")
        screenshot(page, shots / f"study-about-{tag}.png")
        page.fill("#age", "30")
        page.select_option("#gender", "female")
        page.click("#about-next")
        page.wait_for_selector("#practice-note:not([hidden])")
        rate_page(page)
        page.click("#next")
        pages = len(study.images) + len(study.settings.catch)
        for i in range(pages):
            page.wait_for_function(f"() => document.getElementById('progress-text')"
                                   f".textContent.startsWith('Image {i + 1} of {pages}')")
            # focus is on the first answer of the page (keyboard and screen-reader users)
            first_row = page.eval_on_selector("#questions .question", "e => e.dataset.emotion")
            assert page.evaluate("() => document.activeElement.id") == f"q-{first_row}-1"
            if i == 0:
                assert page.evaluate(BORDER_CONTRAST, ".choice .dot") >= 3.0
            rate_page(page)
            page.wait_for_function("() => document.getElementById('save-state')"
                                   ".textContent === 'saved ✓'")
            assert_fits(page, f"rating page {i + 1} {tag}")
            if i == 1:
                screenshot(page, shots / f"study-{tag}.png")
            if i < pages - 1:
                page.click("#next")
        page.click("#next")  # Finish
        page.wait_for_url(re.compile(r"https://app\.prolific\.com/submissions/complete\?cc="),
                          timeout=15_000)
        assert page.url.endswith("cc=C0DE42")
        page.context.close()
    assert errors == []
    rows = list(csv.DictReader(io.StringIO(to_csv(answer_rows(study, store),
                                                  answer_columns(study)))))
    assert {(r["PROLIFIC_PID"], r["STUDY_ID"], r["SESSION_ID"], r["completion_code"])
            for r in rows} == {("pp1", "st1", "se1", "C0DE42")}
    assert len(rows) == pages * 6 and {r["catch_ok"] for r in rows} == {"1"}
    assert all(r["rt_ms"] and int(r["rt_ms"]) >= 0 for r in rows)
    assert {r["row_position"] for r in rows} == {"1", "2", "3", "4", "5", "6"}
    # client-measured times arrive (the speeder rule itself is tested with set times)
    (median,) = {int(r["median_image_ms"]) for r in rows}
    assert 0 < median < 60_000 and {r["speeder"] for r in rows} <= {"0", "1"}
    person = store.participants()[0]
    assert person["demographics"] == {"age": 30, "gender": "female"}


def test_admin_page_pause_exclude_download(browser, shots, study_and_token, tmp_path):  # noqa: F811
    original, admin_token = study_and_token
    study = load_study(shutil.copytree(original.folder, tmp_path / "study"))
    store = AnswerStore(study.folder / DB_FILE)
    app = create_study_app(study, store)
    client = TestClient(app)
    for pid in ("aa1", "bb2"):  # two participants who answered a few pages via the API
        token = client.post("/api/participants", json={
            "consent": True, "entry_key": study.settings.entry_key,
            "params": {"PROLIFIC_PID": pid}}).json()["token"]
        order = client.get("/api/session", headers={"X-Participant-Token": token}).json()["order"]
        for k, image_id in enumerate(order[:3]):
            client.put("/api/answers", headers={"X-Participant-Token": token}, json={
                "image_id": image_id, "rt_ms": 4000 + k,
                "ratings": {e: 1 + (k + j) % 5 for j, e in enumerate(
                    ["neutral", "sad", "disgust", "fear", "angry", "happy"])}})
    errors: list[str] = []
    with live_server(app) as url:
        for viewport, name in ((DESKTOP, "admin.png"), (PHONE, "admin-phone.png")):
            page = open_page(browser, viewport, errors)
            page.on("dialog", lambda d: d.accept("junk (test)"))
            page.goto(url + "/admin")
            page.fill("#token", "wrong-token")
            page.click("#login button")
            page.wait_for_selector("#error:not([hidden])")
            assert page.is_visible("#login")
            page.fill("#token", admin_token)
            page.click("#login button")
            page.wait_for_selector("#people tr[data-participant]")
            page.wait_for_function("() => document.getElementById('fig4').naturalWidth > 0")
            assert "aa1" in page.inner_text("#people") and "bb2" in page.inner_text("#people")
            assert_fits(page, f"admin {viewport['width']}")
            if viewport is DESKTOP:
                page.click("#enrolment")
                page.wait_for_function("() => document.getElementById('enrolment-state')"
                                       ".textContent === 'paused'")
                page.click("#people tr[data-participant='2'] button")
                page.wait_for_selector("#people tr.excluded[data-participant='2']")
                with page.expect_download() as download:
                    page.click("#dl-answers")
                text = download.value.path().read_text()
                assert "aa1" in text and ",junk (test)," in text
            screenshot(page, shots / name)
            page.context.close()
        # paused: a new participant with the right link is told so and cannot start
        page = open_page(browser, PHONE, errors)
        page.goto(f"{url}/?key={study.settings.entry_key}")
        page.wait_for_selector("#consent-blocked:not([hidden])")
        assert "not taking new participants" in page.inner_text("#consent-blocked")
        assert page.is_disabled("#consent-box")
        page.context.close()
    assert errors == []
    assert store.summary()["enrolment"] == "paused"
    assert [p["excluded"] for p in store.participants()] == [False, True]

"""Redraw the web screenshots in docs/images (study_phone.png, admin.png, explorer_phone.png).

Uses the shipped generator, the London faces (real images of neutral and happy) and
headless Chromium, the same way the browser tests do:

    PYTHONPATH=src python docs/images/make_web_screenshots.py [--london /work/shared/data/london-faces]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))

from fastapi.testclient import TestClient
from playwright.sync_api import sync_playwright
from serve_fixtures import CHROMIUM, CHROMIUM_ARGS, live_server

from contemo.emotions import EMOTIONS
from contemo.serve.launch import build
from contemo.serve.study.app import create_study_app
from contemo.serve.study.build import StudyPlan, create_study
from contemo.serve.study.store import DB_FILE, AnswerStore


def simulate(client, study, n: int) -> None:
    """Give the study n API participants with varied answers (two of them careless)."""
    for k in range(n):
        token = client.post("/api/participants", json={
            "consent": True, "entry_key": study.settings.entry_key,
            "params": {"PROLIFIC_PID": f"60a{k:03d}f"}}).json()["token"]
        headers = {"X-Participant-Token": token}
        session = client.get("/api/session", headers=headers).json()
        catch = {c.id: c for c in study.settings.catch}
        key = study.by_id
        pages = session["order"] if k % 4 else session["order"][: 5 + k]
        for i, image_id in enumerate(pages):
            ratings = {}
            for j, e in enumerate(EMOTIONS):
                shown = key[image_id].emotion if image_id in key else None
                ratings[e] = 1 + (i + j + k) % 2 if e == shown else 3 + (i + j + k) % 3
            if image_id in catch:
                c = catch[image_id]
                ratings[c.emotion] = c.accept[0] if k != 2 else 3
            client.put("/api/answers", headers=headers, json={
                "image_id": image_id, "ratings": ratings, "rt_ms": 900 if k == 5 else 5200})
        client.post("/api/complete", headers=headers)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--london", default="/work/shared/data/london-faces")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        plan = StudyPlan(real_per_emotion=3, generated_per_emotion=3, size=256, seed=0,
                         attention_checks=1, completion_url="https://app.prolific.com/"
                         "submissions/complete?cc={code}", completion_code="C1A2B3")
        study, token = create_study(Path(tmp) / "study", args.london, "london", None, plan)
        store = AnswerStore(study.folder / DB_FILE)
        app = create_study_app(study, store)
        with live_server(app) as url:
            phone = browser.new_context(viewport={"width": 360, "height": 740}, has_touch=True)
            page = phone.new_page()
            page.goto(f"{url}/?key={study.settings.entry_key}&PROLIFIC_PID=demo")
            page.check("#consent-box")
            page.click("#start")
            page.wait_for_selector("#rate:not([hidden])")
            page.wait_for_function("() => document.getElementById('stimulus').naturalWidth")
            rows = page.eval_on_selector_all("#questions .question", "e => e.map(x => x.dataset.emotion)")
            for value, emotion in zip((4, 2, 5, 3), rows):
                page.click(f"#q-{emotion}-{value}")
            page.wait_for_timeout(300)
            page.screenshot(path=str(HERE / "study_phone.png"), full_page=True)
            phone.close()
            simulate(TestClient(app), study, 8)
            desk = browser.new_context(viewport={"width": 1280, "height": 900})
            page = desk.new_page()
            page.goto(url + "/admin")
            page.fill("#token", token)
            page.click("#login button")
            page.wait_for_function("() => document.getElementById('fig4').naturalWidth > 0")
            page.screenshot(path=str(HERE / "admin.png"), full_page=True)
            desk.close()
        with live_server(build(None)) as url:
            phone = browser.new_context(viewport={"width": 360, "height": 740}, has_touch=True)
            page = phone.new_page()
            page.goto(url + "/#seed=11&v=0.450&a=0.300")
            page.wait_for_function("() => document.getElementById('face-busy').hidden "
                                   "&& document.getElementById('face').naturalWidth")
            page.wait_for_timeout(300)
            page.screenshot(path=str(HERE / "explorer_phone.png"), full_page=False)
            phone.close()
        browser.close()
    print("wrote", *(HERE / n for n in ("study_phone.png", "admin.png", "explorer_phone.png")))


if __name__ == "__main__":
    main()

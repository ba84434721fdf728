"""Helpers for the Chromium tests: a browser per module, pages at a width, overflow and screenshots.

Screenshots go to $CONTEMO_SCREENSHOTS (default: the test's tmp folder) and are
checked to be non-blank; `overflowing` lists every visible element that sticks out
of the viewport sideways (what a phone user sees as a cut-off control).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from serve_fixtures import CHROMIUM, CHROMIUM_ARGS, pixel_variance

sync_api = pytest.importorskip("playwright.sync_api")

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}

# Elements whose box leaves the viewport sideways, except inside a horizontal scroller
# (a wide table in an overflow-x: auto box is reachable) and visually hidden text.
OVERFLOW_JS = """() => {
  const w = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (el.closest('.sr-only')) continue;
    let scroller = el.parentElement, inside = false;
    while (scroller && scroller !== document.body) {
      const o = getComputedStyle(scroller).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') { inside = true; break; }
      scroller = scroller.parentElement;
    }
    if (inside) continue;
    if (r.right > w + 0.5 || r.left < -0.5) {
      out.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
  }
  if (document.documentElement.scrollWidth > w) out.push(`page ${document.documentElement.scrollWidth} > ${w}`);
  return out;
}"""


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("CONTEMO_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_page(browser, viewport: dict, errors: list[str]):
    """Return a new page (its own context) at `viewport`, collecting page errors."""
    context = browser.new_context(viewport=viewport, accept_downloads=True,
                                  device_scale_factor=1, has_touch=viewport is PHONE)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def screenshot(page, path: Path, full_page: bool = True) -> Path:
    """Save a screenshot and check it is not blank."""
    page.screenshot(path=str(path), full_page=full_page)
    assert pixel_variance(path) > 100, f"{path} looks blank"
    return path


def assert_fits(page, where: str) -> None:
    """Fail when any element overflows the viewport sideways."""
    sticking_out = page.evaluate(OVERFLOW_JS)
    assert sticking_out == [], f"{where}: {sticking_out[:8]}"


def pad_click(page, valence: float, arousal: float, **kwargs) -> None:
    """Click the explorer's pad at a valence-arousal point (the SVG's viewBox is -1.22..1.22)."""
    box = page.locator("#pad").bounding_box()
    page.locator("#pad").click(position={"x": box["width"] * (valence + 1.22) / 2.44,
                                         "y": box["height"] * (1.22 - arousal) / 2.44}, **kwargs)


def wait_idle(page) -> None:
    """Wait until the explorer has no face request in flight."""
    page.wait_for_function("() => document.getElementById('face-busy').hidden")


def open_explorer(browser, viewport: dict, url: str, errors: list[str]):
    """Return a page showing the explorer at `url` with its first face rendered."""
    page = open_page(browser, viewport, errors)
    page.goto(url)
    page.wait_for_selector("#face[src]")
    wait_idle(page)
    return page


__all__ = ["CHROMIUM", "DESKTOP", "PHONE", "assert_fits", "browser", "open_explorer",
           "open_page", "pad_click", "screenshot", "shots", "sync_api", "wait_idle"]

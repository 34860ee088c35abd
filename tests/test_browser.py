"""A person's path through the Space in headless Debian Chromium (playwright): compose, repair the cut-out with
the brush, a bad file, rating (with a slip and a reload), results."""

from __future__ import annotations

import io
import os
import shutil
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hamagan.samples import TEST_PORTRAITS, portrait_paths
from hamagan.trimap import auto_trimap

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
LOCAL = ("http://127.0.0.1", "http://localhost", "data:", "blob:")


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        yield page, requests
        browser.close()


def _picture(page, selector: str) -> np.ndarray:
    """The image a result component shows, fetched from the app."""
    with urllib.request.urlopen(page.locator(f"{selector} img").get_attribute("src")) as response:
        return np.asarray(Image.open(io.BytesIO(response.read())))


def _stroke(page, box: dict, start: tuple[float, float], end: tuple[float, float]) -> None:
    """One brush stroke across the canvas, in fractions of its size."""
    page.mouse.move(box["x"] + start[0] * box["width"], box["y"] + start[1] * box["height"])
    page.mouse.down()
    for t in np.linspace(0, 1, 12):
        page.mouse.move(box["x"] + (start[0] + (end[0] - start[0]) * t) * box["width"],
                        box["y"] + (start[1] + (end[1] - start[1]) * t) * box["height"])
    page.mouse.up()


def test_compose_repair_the_trimap_with_two_strokes_and_survive_a_bad_file(app_url, browser_page,
                                                                         tmp_path: Path) -> None:
    from playwright.sync_api import expect

    url, _, _ = app_url
    page, requests = browser_page
    portrait = tmp_path / "portrait.jpg"
    Image.open(portrait_paths(TEST_PORTRAITS[1])[0]).resize((480, 320)).save(portrait)
    automatic = np.round(auto_trimap(Image.open(portrait)).trimap * 255)
    page.goto(url)
    page.locator("#portrait input[type=file]").set_input_files(str(portrait))
    expect(page.locator("#portrait-preview img")).to_be_visible(timeout=30_000)
    # Repair: start from the automatic trimap, paint two background (black) strokes over the person.
    page.get_by_text("Trimap: automatic").click()
    page.locator("#start-editor").click()
    canvas = page.locator("#editor canvas").first
    expect(canvas).to_be_visible(timeout=30_000)
    canvas.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    box = canvas.bounding_box()
    _stroke(page, box, (0.40, 0.75), (0.62, 0.75))
    _stroke(page, box, (0.55, 0.30), (0.62, 0.45))
    page.locator("#compose").click()
    expect(page.locator("#message")).to_contain_text("composed in", timeout=120_000)
    used = _picture(page, "#trimap-used")
    changed = used != automatic
    assert 500 < changed.sum() < 0.2 * changed.size  # the strokes, and nothing else
    assert set(np.unique(used[changed]).tolist()) == {0}  # painted black: background
    result = page.locator("#result img").first.get_attribute("src")
    # A bad file after a good result: refused with a message, the result stays.
    (tmp_path / "notes.jpg").write_text("not an image")
    page.locator("#portrait button[aria-label=Clear]").click()
    page.locator("#portrait input[type=file]").set_input_files(str(tmp_path / "notes.jpg"))
    expect(page.get_by_text("not a readable image file").first).to_be_visible(timeout=30_000)
    page.locator("#compose").click()
    page.wait_for_timeout(1500)
    assert page.locator("#result img").first.get_attribute("src") == result
    expect(page.locator("#message")).to_contain_text("composed in")
    shot = tmp_path / "compose.png"
    page.screenshot(path=str(shot), full_page=True)
    assert [u for u in requests if not u.startswith(LOCAL)] == []
    _keep(shot)


def test_rate_with_a_slip_and_a_reload_then_read_the_results(app_url, browser_page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    url, services, _ = app_url
    page, requests = browser_page
    page.goto(url)
    page.get_by_role("tab", name="Rate").click()
    page.locator("#start-rating").click()
    expect(page.locator("#rating-progress")).to_contain_text("Item 1 of", timeout=30_000)
    rater = page.locator("#rater input, #rater textarea").first.input_value()
    for n, score in enumerate(("4 good", "2 poor"), start=2):
        page.locator("#score").get_by_text(score).click()
        page.locator("#submit-rating").click()
        expect(page.locator("#rating-progress")).to_contain_text(f"Item {n} of", timeout=30_000)
    # Submit without a score: a message; the item and the progress stay.
    item = page.locator("#item img").get_attribute("src")
    page.locator("#submit-rating").click()
    expect(page.get_by_text("choose a score from 1 to 5 first").first).to_be_visible(timeout=30_000)
    assert page.locator("#item img").get_attribute("src") == item
    expect(page.locator("#rating-progress")).to_contain_text("Item 3 of")
    # A reload resumes the same rater at their next item.
    page.reload()
    page.get_by_role("tab", name="Rate").click()
    expect(page.locator("#rating-progress")).to_contain_text("Item 3 of", timeout=30_000)
    assert page.locator("#rater input, #rater textarea").first.input_value() == rater
    page.locator("#score").get_by_text("5 excellent").click()
    page.locator("#submit-rating").click()
    expect(page.locator("#rating-progress")).to_contain_text("Item 4 of", timeout=30_000)
    rated = [r for r in services.store.ratings(services.study.study_id) if r["rater_id"] == rater]
    assert [(r["slot"], r["score"]) for r in rated] == [(0, 4), (1, 2), (2, 5)]
    # Results are there on opening the tab.
    page.get_by_role("tab", name="Results").click()
    expect(page.locator("#results-table")).to_contain_text("MOS", timeout=30_000)
    expect(page.locator("#results-chart img")).to_be_visible(timeout=30_000)
    table_text = page.locator("#results-table").inner_text()
    assert all(r["method"] in table_text for r in rated)
    shot = tmp_path / "results.png"
    page.screenshot(path=str(shot), full_page=True)
    assert [u for u in requests if not u.startswith(LOCAL)] == []
    _keep(shot)


def _keep(shot: Path) -> None:
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("HAMAGAN_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / f"space-{shot.name}")

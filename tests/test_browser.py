"""A person's path through the Space in headless Debian Chromium (playwright): compose, rate three, results."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from hamagan.samples import TEST_PORTRAITS, portrait_paths

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


def test_upload_compose_rate_three_and_read_the_results(app_url, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, services, _ = app_url
    portrait = tmp_path / "portrait.jpg"
    Image.open(portrait_paths(TEST_PORTRAITS[0])[0]).resize((480, 270)).save(portrait)
    shots = [tmp_path / "compose.png", tmp_path / "rate.png", tmp_path / "results.png"]
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(url)
        page.locator("#portrait input[type=file]").set_input_files(str(portrait))
        page.locator("#compose").click()
        expect(page.locator("#harmonized img")).to_be_visible(timeout=120_000)
        page.screenshot(path=str(shots[0]), full_page=True)
        page.get_by_role("tab", name="Rate").click()
        page.locator("#start-rating").click()
        expect(page.locator("#rating-progress")).to_contain_text("Item 1 of", timeout=30_000)
        for n, score in enumerate(("4 good", "2 poor", "5 excellent"), start=2):
            page.locator("#score").get_by_text(score).click()
            page.locator("#submit-rating").click()
            expect(page.locator("#rating-progress")).to_contain_text(f"Item {n} of", timeout=30_000)
        page.screenshot(path=str(shots[1]), full_page=True)
        page.get_by_role("tab", name="Results").click()
        page.locator("#refresh").click()
        expect(page.locator("#results-table")).to_contain_text("MOS", timeout=30_000)
        page.wait_for_timeout(500)
        table_text = page.locator("#results-table").inner_text()
        page.screenshot(path=str(shots[2]), full_page=True)
        browser.close()
    rated = [r for r in services.store.ratings(services.study.study_id)]
    scores = sorted(r["score"] for r in rated[-3:])
    assert scores == [2, 4, 5]
    methods = {r["method"] for r in rated[-3:]}
    assert all(m in table_text for m in methods)
    local = ("http://127.0.0.1", "http://localhost", "data:", "blob:")
    assert [u for u in requests if not u.startswith(local)] == []
    assert all(s.stat().st_size > 10_000 for s in shots)
    keep = os.environ.get("HAMAGAN_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in shots:
            shutil.copy(shot, Path(keep) / f"space-{shot.name}")

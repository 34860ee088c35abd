"""The README's screenshot: the app on the bundled model, a held-out portrait composed in headless Chromium.

    python docs/make_screenshot.py   (needs Debian's chromium at /usr/bin/chromium)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    from hamagan.samples import TEST_PORTRAITS, portrait_paths
    from space.app import THEME, build_app, make_services

    app = build_app(make_services(Path(tempfile.mkdtemp()) / "ratings.sqlite"))
    app.queue().launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, theme=THEME)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        page.goto(app.local_url)
        page.locator("#portrait input[type=file]").set_input_files(str(portrait_paths(TEST_PORTRAITS[1])[0]))
        choice = page.get_by_label("Background", exact=True)
        choice.click()
        choice.fill("lomiri-sunset_by_Aitzol_Berasategi")
        choice.press("Enter")
        page.locator("#compose").click()
        expect(page.locator("#harmonized img")).to_be_visible(timeout=120_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(Path(__file__).parent / "space-compose.png"), full_page=True)
        browser.close()
    app.close()


if __name__ == "__main__":
    main()

"""The README's screenshots at 1400x1000: the Space's first screen, and a held-out portrait composed on a bundled
background, in headless Chromium on the bundled model.

    python docs/make_screenshot.py   (needs Debian's chromium at /usr/bin/chromium)

Writes docs/space-first-screen.png and docs/space-compose.png.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DOCS = Path(__file__).parent


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    from hamagan.samples import TEST_PORTRAITS, portrait_paths
    from hamagan.space.app import make_services, serve

    app = serve(make_services(Path(tempfile.mkdtemp()) / "ratings.sqlite"), server_name="127.0.0.1",
                prevent_thread_lock=True, quiet=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app.local_url)
        expect(page.locator("#examples img").first).to_be_visible(timeout=30_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(DOCS / "space-first-screen.png"))
        page.locator("#portrait input[type=file]").set_input_files(str(portrait_paths(TEST_PORTRAITS[1])[0]))
        choice = page.get_by_label("Background (or click one below)")
        choice.click()
        choice.fill("lomiri-sunset_by_Aitzol_Berasategi")
        choice.press("Enter")
        page.locator("#compose").click()
        expect(page.locator("#message")).to_contain_text("composed in", timeout=120_000)
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(1500)
        page.screenshot(path=str(DOCS / "space-compose.png"))
        browser.close()
    app.close()


if __name__ == "__main__":
    main()

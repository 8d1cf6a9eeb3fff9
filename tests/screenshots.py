"""Saving the browser tests' screenshots.

The pictures are for people to look at, not assertions, so a browser's
hiccup while taking one must not fail a test that has already proved its
point. Chromium now and then refuses ``Page.captureScreenshot`` with
"Unable to capture screenshot" and takes the same picture when asked again
(seen in our CI on a busy machine; the same report upstream:
https://github.com/MarketSquare/robotframework-browser/issues/5237). So the
capture waits for the page to finish loading and for one painted frame, and
is retried once, on that error only: any other error still fails the test.
"""

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

REFUSED_CAPTURE = "Unable to capture screenshot"

_NEXT_FRAME = "() => new Promise(resolve => requestAnimationFrame(() => resolve()))"


def save_screenshot(page: Page, path: str, full_page: bool = False) -> None:
    page.wait_for_load_state("load")
    page.evaluate(_NEXT_FRAME)
    try:
        page.screenshot(path=path, full_page=full_page)
    except PlaywrightError as error:
        if REFUSED_CAPTURE not in str(error):
            raise
        page.evaluate(_NEXT_FRAME)
        page.screenshot(path=path, full_page=full_page)

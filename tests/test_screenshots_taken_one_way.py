"""Every browser test saves its pictures through ``tests.screenshots``.

A direct ``page.screenshot`` call would bring back the CI failure that
helper exists for (Chromium's transient "Unable to capture screenshot").
"""

import pathlib

TESTS = pathlib.Path(__file__).parent
HELPER = TESTS / "screenshots.py"


def test_no_browser_test_takes_a_screenshot_directly():
    direct = [str(path.relative_to(TESTS)) for path in TESTS.rglob("*.py")
              if path not in (HELPER, pathlib.Path(__file__))
              and ".screenshot(" in path.read_text(encoding="utf-8")]
    assert direct == []


def test_the_helper_is_in_use():
    users = [path for path in TESTS.rglob("test_*.py")
             if "save_screenshot(page" in path.read_text(encoding="utf-8")]
    assert len(users) >= 10

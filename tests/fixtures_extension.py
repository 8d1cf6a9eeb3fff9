"""Fixtures of the extension's tests: the extension built once per session
by the real build, the portal serving it, and Debian Chromium with it loaded."""

import os
import shutil
from types import SimpleNamespace

import pytest

from integration.extension.build import build

CHROMIUM = "/usr/bin/chromium"
RUSSIAN_UI = "/usr/lib/chromium/locales/ru.pak"  # Debian's chromium-l10n


def require(path_ok: bool, message: str) -> None:
    """Missing system packages: under CI=true the run fails; elsewhere the
    test skips loudly (`make test` installs them when run as root)."""
    if path_ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"MISSING UNDER CI: {message}", pytrace=False)
    pytest.skip(f"EXTENSION TESTS SKIPPED: {message}")


def chromium_path() -> str:
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    require(bool(path), "Debian chromium is not installed (apt-get install chromium); it "
                        "packs the CRX3 and runs the browser tests.")
    return path


@pytest.fixture(scope="session")
def built_extension(tmp_path_factory):
    """`scripts/build-extension`'s work, into a temporary extension dir with
    a key generated for this session."""
    chromium_path()
    root = tmp_path_factory.mktemp("extension")
    info = build(out=root / "dist", key_file=root / "signing-key.pem")
    return SimpleNamespace(root=root, dist=root / "dist", key=root / "signing-key.pem",
                           unpacked=root / "dist" / "unpacked", info=info)


@pytest.fixture
def extension_served(built_extension, settings):
    """The portal serves that build."""
    settings.EXTENSION_DIR = str(built_extension.root)
    return built_extension


@pytest.fixture
def extension_browser(built_extension, browser, tmp_path):
    """Start Chromium (headless: Chromium's own headless mode loads
    extensions) with the built extension, in a fresh profile, in English or
    Russian, through the session's Playwright (one per thread). Returns
    (context, extension id)."""
    executable = chromium_path()
    contexts = []

    def launch(language="en"):
        if language == "ru":
            require(os.path.exists(RUSSIAN_UI), "Chromium's Russian interface is not installed "
                                                "(apt-get install chromium-l10n).")
        env = dict(os.environ, LANGUAGE=language,
                   LANG="ru_RU.UTF-8" if language == "ru" else "en_US.UTF-8")
        unpacked = str(built_extension.unpacked)
        context = browser.browser_type.launch_persistent_context(
            str(tmp_path / f"profile-{language}-{len(contexts)}"), executable_path=executable,
            headless=True, env=env, locale="ru-RU" if language == "ru" else "en-US",
            viewport={"width": 1440, "height": 900},
            args=["--no-sandbox", "--disable-gpu", "--disable-sync", "--no-first-run",
                  "--disable-component-update", "--disable-quic",
                  f"--disable-extensions-except={unpacked}", f"--load-extension={unpacked}"])
        contexts.append(context)
        context.set_default_timeout(15000)
        worker = context.service_workers[0] if context.service_workers else \
            context.wait_for_event("serviceworker", timeout=15000)
        extension_id = worker.url.split("/")[2]
        assert extension_id == built_extension.info["id"]  # the manifest key fixes the id
        return context, extension_id

    yield launch
    for context in contexts:
        context.close()

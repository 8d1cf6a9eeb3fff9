"""The extension's build and what the portal serves of it: a CRX3 signed by
the deployment's key (read back and verified independently of the packer),
byte-identical when rebuilt, the key kept out of the package and out of git;
the update manifest managed browsers poll; the install page in both
languages.

Why: `ExtensionInstallForcelist` names the extension id, which is the
signing key's fingerprint. A package signed by another key, or a key that
changes between builds, silently stops every managed browser's updates.
"""

import html
import io
import json
import subprocess
import zipfile
from xml.etree import ElementTree

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from integration.extension.build import build
from integration.extension.crx import CrxInvalid, crx3_read, extension_id, public_key_der

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


def _crx(built):
    return (built.dist / built.info["crx"]).read_bytes()


def test_the_package_is_signed_by_the_deployment_key(built_extension):
    crx = crx3_read(_crx(built_extension))
    key = serialization.load_pem_private_key(built_extension.key.read_bytes(), password=None)

    assert crx.extension_id == extension_id(public_key_der(key)) == built_extension.info["id"]
    unpacked = {p.relative_to(built_extension.unpacked).as_posix(): p.read_bytes()
                for p in built_extension.unpacked.rglob("*") if p.is_file()}
    assert crx.files() == unpacked
    manifest = json.loads(unpacked["manifest.json"])
    assert manifest["manifest_version"] == 3 and manifest["version"] == built_extension.info[
        "version"]
    assert manifest["key"]  # the public key: "Load unpacked" gets the same id
    assert {"background.js", "content.js", "panel.html", "options.html", "icons/128.png",
            "_locales/ru/messages.json", "_locales/en/messages.json"} <= unpacked.keys()
    with zipfile.ZipFile(built_extension.dist / built_extension.info["zip"]) as archive:
        assert {n.removeprefix("portal-hde/"): archive.read(n) for n in archive.namelist()} \
            == unpacked
    # The private key is never part of what is served.
    assert oct(built_extension.key.stat().st_mode & 0o777) == "0o600"
    assert not list(built_extension.dist.rglob("*.pem"))
    assert b"PRIVATE KEY" not in _crx(built_extension)


def test_rebuilding_with_the_same_key_gives_the_same_bytes(built_extension, tmp_path):
    again = build(out=tmp_path / "dist", key_file=built_extension.key)
    assert (again["crx_sha256"], again["zip_sha256"], again["id"]) == (
        built_extension.info["crx_sha256"], built_extension.info["zip_sha256"],
        built_extension.info["id"])
    other = build(out=tmp_path / "other", key_file=tmp_path / "another-key.pem")
    assert other["id"] != built_extension.info["id"]


def test_a_tampered_package_is_refused(built_extension):
    blob = bytearray(_crx(built_extension))
    blob[-40] ^= 0xFF  # inside the zip: the signature no longer covers it
    with pytest.raises(CrxInvalid):
        crx3_read(bytes(blob))
    with pytest.raises(CrxInvalid):
        crx3_read(b"PK\x03\x04" + bytes(blob[4:]))
    with pytest.raises(CrxInvalid):
        crx3_read(bytes(blob[:40]))


def test_the_signing_key_cannot_be_committed():
    ignored = subprocess.run(["git", "check-ignore", "-q", "var/extension/signing-key.pem"],
                             cwd=REPO, check=False)
    assert ignored.returncode == 0
    tracked = subprocess.run(["git", "ls-files", "*.pem", "*.crx"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
    assert tracked == ""


def test_the_update_manifest_and_packages_are_served(extension_served, live_server, settings):
    settings.PORTAL_BASE_URL = live_server.url
    info = extension_served.info

    xml = requests.get(f"{live_server.url}/extension/updates.xml", timeout=10)
    app = ElementTree.fromstring(xml.content).find("{http://www.google.com/update2/response}app")
    check = app.find("{http://www.google.com/update2/response}updatecheck")
    assert xml.headers["Content-Type"].startswith("application/xml")
    assert app.get("appid") == info["id"] and check.get("version") == info["version"]
    crx = requests.get(check.get("codebase"), timeout=10)
    assert crx.headers["Content-Type"] == "application/x-chrome-extension"
    assert crx3_read(crx.content).extension_id == info["id"]
    archive = requests.get(f"{live_server.url}/extension/{info['zip']}", timeout=10)
    assert zipfile.ZipFile(io.BytesIO(archive.content)).testzip() is None
    for name in ("build.json", "signing-key.pem", "unpacked", "..%2Fsigning-key.pem",
                 "portal-hde-0.0.1.crx"):
        assert requests.get(f"{live_server.url}/extension/{name}", timeout=10).status_code == 404


def test_the_install_page_in_both_languages(extension_served, client, settings):
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    info = extension_served.info
    english = client.get("/extension/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    russian = client.get("/extension/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    forcelist = f"{info['id']};https://portal.example.com/extension/updates.xml"
    for page in (english, russian):
        assert forcelist in page and f"/extension/{info['crx']}" in page
        assert f"/extension/{info['zip']}" in page and "ExtensionInstallForcelist" in page
    assert "Load unpacked" in english and "Developer mode" in english
    assert "Режим разработчика" in russian and "Войдите" not in english
    assert '"portal_url": "https://portal.example.com"' in html.unescape(english)


def test_the_install_page_says_when_nothing_was_built(client, settings, tmp_path):
    settings.EXTENSION_DIR = str(tmp_path)
    page = client.get("/extension/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and 'data-test="not-built"' in page.content.decode()
    assert client.get("/extension/updates.xml").status_code == 404

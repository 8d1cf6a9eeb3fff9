"""Build the browser extension: an unpacked folder, a zip of it, a signed
CRX3 and `build.json` (id, version, file names and digests) for the portal.

    scripts/build-extension [--out DIR] [--key FILE]

Nothing is downloaded: the sources are `extension/`, the icons are drawn
here, and the CRX3 is packed by Chromium itself (`--pack-extension`, the
format's reference implementation, the same Debian package the browser tests
use) and then read back and verified by `integration.extension.crx`.

The signing key decides the extension id (which managed browsers' policies
name), so it must stay the same across builds and must never be committed:
it is read from `--key`, `EXTENSION_KEY_FILE`, or `<extension dir>/signing-key.pem`
(`var/extension/`, git-ignored), and generated there (mode 0600) only when
missing. Builds are reproducible: file dates are `SOURCE_DATE_EPOCH` (fixed
by default), so the same sources and key give byte-identical packages.
"""

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from integration.extension.crx import CrxInvalid, crx3_read, extension_id, public_key_der

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "extension"
NAME = "portal-hde"
# 2024-01-01 00:00 UTC: any fixed date after 1980 (zip's epoch) will do.
DEFAULT_EPOCH = 1704067200
PACKAGED = {".js", ".json", ".html", ".css"}
ICON_SIZES = (16, 48, 128)


class BuildError(Exception):
    pass


def default_extension_dir() -> Path:
    from portal.env import env

    return Path(env.str("EXTENSION_DIR", default="") or REPO / "var" / "extension")


def signing_key_load(path: Path):
    """The key at `path`, created (2048-bit RSA, PKCS#8 PEM, mode 0600) when
    the file does not exist yet."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise BuildError(f"{path} is not an RSA private key.")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    print(f"Generated a new signing key: {path} (keep it; never commit it).", file=sys.stderr)
    return key


def _png(size: int) -> bytes:
    """The icon: a white card with a round avatar and two lines on blue."""
    def pixel(x: float, y: float) -> tuple[int, int, int, int]:
        u, v = (x + 0.5) / size, (y + 0.5) / size
        radius, inside = 0.18, True
        cx, cy = min(max(u, radius), 1 - radius), min(max(v, radius), 1 - radius)
        if (u - cx) ** 2 + (v - cy) ** 2 > radius ** 2:
            inside = False
        if not inside:
            return (0, 0, 0, 0)
        if 0.16 <= u <= 0.84 and 0.24 <= v <= 0.76:
            if (u - 0.33) ** 2 + (v - 0.42) ** 2 <= 0.085 ** 2:
                return (31, 111, 235, 255)
            if 0.48 <= u <= 0.76 and (0.36 <= v <= 0.41 or 0.47 <= v <= 0.52):
                return (140, 149, 159, 255)
            if 0.24 <= u <= 0.76 and 0.6 <= v <= 0.65:
                return (140, 149, 159, 255)
            return (255, 255, 255, 255)
        return (31, 111, 235, 255)

    rows = b"".join(b"\x00" + bytes(c for x in range(size) for c in pixel(x, y))
                    for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def _source_files(source: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(source.rglob("*")):
        if path.is_file() and path.suffix in PACKAGED:
            files[path.relative_to(source).as_posix()] = path.read_bytes()
    if "manifest.json" not in files:
        raise BuildError(f"{source} has no manifest.json.")
    return files


def _chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise BuildError("Chromium is needed to pack the CRX3: apt-get install chromium "
                     "(or set CHROMIUM=/path/to/chrome).")


def _pack(unpacked: Path, key_file: Path, work: Path) -> bytes:
    """`chromium --pack-extension` writes `<folder>.crx` beside the folder."""
    folder = work / NAME
    shutil.copytree(unpacked, folder)  # copy2 keeps the fixed dates
    command = [_chromium(), "--no-sandbox", "--headless", "--disable-gpu",
               f"--user-data-dir={work / 'profile'}", f"--pack-extension={folder}",
               f"--pack-extension-key={key_file}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    crx = work / f"{NAME}.crx"
    if not crx.exists():
        raise BuildError("Chromium did not pack the extension:\n" + result.stdout + result.stderr)
    return crx.read_bytes()


def _zip(files: dict[str, bytes], epoch: int) -> bytes:
    """The unpacked folder as a deterministic zip (sorted, fixed dates), for
    "Load unpacked" after unzipping."""
    stamp = _zip_date(epoch)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{NAME}/{name}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


def _zip_date(epoch: int) -> tuple[int, int, int, int, int, int]:
    import time

    return time.gmtime(max(epoch, 315532800))[:6]


def build(*, out: Path, key_file: Path, source: Path = SOURCE, epoch: int | None = None) -> dict:
    """Build into `out` (replaced as a whole once everything is verified, so
    the portal never serves a half-written build). Returns build.json."""
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", DEFAULT_EPOCH)) if epoch is None else epoch
    key = signing_key_load(key_file)
    public_der = public_key_der(key)
    files = _source_files(source)
    manifest = json.loads(files["manifest.json"])
    manifest["key"] = base64.b64encode(public_der).decode()  # the same id when loaded unpacked
    files["manifest.json"] = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode()
    for size in ICON_SIZES:
        files[f"icons/{size}.png"] = _png(size)
    version, ext_id = manifest["version"], extension_id(public_der)

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    staging.chmod(0o755)
    try:
        unpacked = staging / "unpacked"
        for name, data in files.items():
            target = unpacked / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for path in sorted(unpacked.rglob("*"), reverse=True) + [unpacked]:
            os.utime(path, (epoch, epoch))
        with tempfile.TemporaryDirectory() as work:
            crx_bytes = _pack(unpacked, key_file, Path(work))
        try:
            crx = crx3_read(crx_bytes)
        except CrxInvalid as bad:
            raise BuildError(f"The packed CRX does not verify: {bad}") from bad
        if crx.extension_id != ext_id or crx.files() != files:
            raise BuildError("The packed CRX is not the extension that was built.")
        names = {"crx": f"{NAME}-{version}.crx", "zip": f"{NAME}-{version}.zip"}
        (staging / names["crx"]).write_bytes(crx_bytes)
        zip_bytes = _zip(files, epoch)
        (staging / names["zip"]).write_bytes(zip_bytes)
        info = {"id": ext_id, "version": version, "name": NAME,
                "crx": names["crx"], "crx_sha256": hashlib.sha256(crx_bytes).hexdigest(),
                "zip": names["zip"], "zip_sha256": hashlib.sha256(zip_bytes).hexdigest(),
                "source_date_epoch": epoch}
        (staging / "build.json").write_text(json.dumps(info, indent=2) + "\n")
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if out.exists():
            out.rename(old)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return info


def main(argv=None) -> int:
    base = default_extension_dir()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=base / "dist",
                        help="output folder, replaced as a whole (default: %(default)s)")
    key = os.environ.get("EXTENSION_KEY_FILE") or base / "signing-key.pem"
    parser.add_argument("--key", type=Path, default=Path(key),
                        help="RSA signing key, PEM; generated when missing (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        info = build(out=args.out.resolve(), key_file=args.key.resolve())
    except BuildError as error:
        print(f"build-extension: {error}", file=sys.stderr)
        return 1
    print(f"Built {info['name']} {info['version']} (id {info['id']}) into {args.out}:")
    for kind in ("crx", "zip"):
        print(f"  {info[kind]}  sha256 {info[kind + '_sha256']}")
    print("  unpacked/  (Load unpacked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

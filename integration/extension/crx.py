"""CRX3, read and checked independently of the packer.

Chromium packs the extension (`chromium --pack-extension`, the format's
reference implementation); this module reads the result the way Chrome's
verifier does, so the build and the tests can prove the package is signed by
the expected key and carries exactly the files that were built:

    "Cr24" | version 3 (uint32 LE) | header length (uint32 LE) | CrxFileHeader | zip

`CrxFileHeader` (protobuf): field 2 = AsymmetricKeyProof{1: public key (DER
SubjectPublicKeyInfo), 2: signature} for RSA, 3 = the same for ECDSA, 10000 =
SignedData{1: crx id}. The RSA signature is PKCS#1 v1.5 / SHA-256 over
`b"CRX3 SignedData\\x00" + uint32 LE len(signed data) + signed data + zip`.
The crx id is the first 16 bytes of SHA-256(public key); the extension id is
the same 16 bytes written as 32 letters a–p.
"""

import hashlib
import io
import struct
import zipfile
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

MAGIC = b"Cr24"
SIGNATURE_CONTEXT = b"CRX3 SignedData\x00"


class CrxInvalid(Exception):
    """Not a CRX3 this build would produce, or a signature that fails."""


@dataclass(frozen=True)
class Crx:
    extension_id: str
    public_key: bytes
    archive: bytes

    def files(self) -> dict[str, bytes]:
        with zipfile.ZipFile(io.BytesIO(self.archive)) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist()
                    if not info.is_dir()}


def public_key_der(private_key) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def extension_id(public_der: bytes) -> str:
    digest = hashlib.sha256(public_der).hexdigest()[:32]
    return "".join(chr(ord("a") + int(c, 16)) for c in digest)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise CrxInvalid("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, bytes]]:
    """Length-delimited fields of a protobuf message (the only wire type a
    CRX header uses); anything else is refused."""
    out, pos = [], 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire != 2:
            raise CrxInvalid(f"unexpected wire type {wire}")
        length, pos = _varint(data, pos)
        if pos + length > len(data):
            raise CrxInvalid("truncated field")
        out.append((number, data[pos:pos + length]))
        pos += length
    return out


def crx3_read(blob: bytes) -> Crx:
    """Parse and verify: every RSA proof must verify, and one of them must be
    the key the crx id names (that key is the extension's identity)."""
    if len(blob) < 12 or blob[:4] != MAGIC:
        raise CrxInvalid("not a CRX file")
    version, header_length = struct.unpack("<II", blob[4:12])
    if version != 3:
        raise CrxInvalid(f"CRX version {version}, expected 3")
    header, archive = blob[12:12 + header_length], blob[12 + header_length:]
    proofs, signed_data = [], None
    for number, value in _fields(header):
        if number == 2:
            parts = dict(_fields(value))
            proofs.append((parts.get(1, b""), parts.get(2, b"")))
        elif number == 3:
            raise CrxInvalid("ECDSA proofs are not produced by this build")
        elif number == 10000:
            signed_data = value
    if signed_data is None or not proofs:
        raise CrxInvalid("missing signed data or proofs")
    crx_id = dict(_fields(signed_data)).get(1, b"")
    message = SIGNATURE_CONTEXT + struct.pack("<I", len(signed_data)) + signed_data + archive
    identity = None
    for public_der, signature in proofs:
        key = serialization.load_der_public_key(public_der)
        if not isinstance(key, rsa.RSAPublicKey):
            raise CrxInvalid("not an RSA key")
        try:
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as bad:
            raise CrxInvalid("signature does not verify") from bad
        if hashlib.sha256(public_der).digest()[:16] == crx_id:
            identity = public_der
    if identity is None:
        raise CrxInvalid("no proof by the key the crx id names")
    try:
        zipfile.ZipFile(io.BytesIO(archive)).testzip()
    except zipfile.BadZipFile as bad:
        raise CrxInvalid("the archive is not a zip") from bad
    return Crx(extension_id=extension_id(identity), public_key=identity, archive=archive)

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""CMS (PKCS#7) SignedData for Apple configuration profiles, on the controller.

`sign` makes what ``openssl cms -sign -binary -nodetach -outform DER`` makes: DER ``SignedData``
with the plist as encapsulated ``id-data`` content, the signer certificate and an optional chain.
The signature carries a ``signingTime`` attribute, so two signatures of the same plist differ;
`is_current` therefore decides idempotence by looking inside an existing file (same plist, same
certificates, a signature that still verifies with the configured certificate) instead of comparing
bytes. The small DER reader of module_utils/_der is enough for that; it accepts what this module and OpenSSL
write (definite lengths) and reports anything else as "not current", which only costs a re-signature.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

from ansible_collections.mailops.clients.plugins.module_utils._der import DERError, Element, children, element
from ansible_collections.mailops.clients.plugins.plugin_utils._renderer_error import RendererError
from ansible_collections.mailops.clients.plugins.plugin_utils._values import kind

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.serialization import pkcs7

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only without the package
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc

OID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")  # 1.2.840.113549.1.7.2
OID_DATA = bytes.fromhex("06092a864886f70d010701")  # 1.2.840.113549.1.7.1
OID_MESSAGE_DIGEST = bytes.fromhex("06092a864886f70d010904")  # 1.2.840.113549.1.9.4
DIGESTS = {
    bytes.fromhex("06052b0e03021a"): "sha1",
    bytes.fromhex("0609608648016503040201"): "sha256",
    bytes.fromhex("0609608648016503040202"): "sha384",
    bytes.fromhex("0609608648016503040203"): "sha512",
}


class CMSError(RendererError):
    """Signing material or a signed file that cannot be used; the message says which and why."""


def require_cryptography() -> None:
    if not HAS_CRYPTOGRAPHY:
        raise CMSError(
            "signing Apple profiles needs the Python package cryptography on the controller "
            f"(pip install cryptography): {CRYPTOGRAPHY_IMPORT_ERROR}"
        )


@dataclass
class Signer:
    certificate: object
    private_key: object
    chain: list

    def certificate_ders(self) -> set:
        return {c.public_bytes(serialization.Encoding.DER) for c in [self.certificate, *self.chain]}

    def not_after(self) -> datetime.datetime:
        return self.certificate.not_valid_after_utc


def _to_bytes(value, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise CMSError(f"{what} must be PEM text, got {kind(value)}")


def load_signer(certificate, private_key, passphrase=None, chain=None) -> Signer:
    """Signer from PEM text: certificate, its private key (optionally encrypted) and an optional chain."""
    require_cryptography()
    try:
        cert = x509.load_pem_x509_certificate(_to_bytes(certificate, "signing certificate"))
    except ValueError as exc:
        raise CMSError(f"signing certificate is not a PEM certificate: {exc}") from None
    try:
        key = serialization.load_pem_private_key(
            _to_bytes(private_key, "signing key"),
            password=_to_bytes(passphrase, "signing key passphrase") if passphrase else None,
        )
    except (TypeError, ValueError) as exc:
        # The message of cryptography names the problem (bad passphrase, not encrypted, not PEM), never the key.
        raise CMSError(f"signing key cannot be loaded: {exc}") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise CMSError(f"signing key must be RSA or EC, got {type(key).__name__}")
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, public) != cert.public_key().public_bytes(
        serialization.Encoding.DER, public
    ):
        raise CMSError(f"signing key does not belong to the signing certificate {cert.subject.rfc4514_string()}")
    chain_certs = []
    if chain:
        try:
            chain_certs = x509.load_pem_x509_certificates(_to_bytes(chain, "signing chain"))
        except ValueError as exc:
            raise CMSError(f"signing chain is not a list of PEM certificates: {exc}") from None
    return Signer(certificate=cert, private_key=key, chain=chain_certs)


def sign(content: bytes, signer: Signer) -> bytes:
    """Attached CMS SignedData (DER) over the exact bytes of ``content`` (no MIME canonicalisation)."""
    require_cryptography()
    builder = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(signer.certificate, signer.private_key, hashes.SHA256())
    )
    for cert in signer.chain:
        builder = builder.add_certificate(cert)
    return builder.sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])


def looks_signed(data: bytes) -> bool:
    """True when the bytes start like DER SignedData rather than an XML plist."""
    return data[:1] == b"\x30"


# --- reading SignedData with the DER reader of module_utils/_der ------------------------------------


def _octets(buf: bytes, item: Element) -> bytes:
    if item.tag == 0x04:
        return buf[item.start : item.end]
    if item.tag == 0x24:  # constructed OCTET STRING (BER producers): concatenate the pieces
        return b"".join(_octets(buf, piece) for piece in children(buf, item.start, item.end))
    raise CMSError("expected an OCTET STRING")


@dataclass
class SignedFile:
    content: bytes
    certificates: set
    digest: str | None
    signed_attrs: bytes | None
    message_digest: bytes | None
    signature: bytes


def parse_signed(data: bytes) -> SignedFile:
    """The parts of a DER SignedData (one signer) needed to check it; raises `CMSError` otherwise."""
    try:
        return _signed(data)
    except DERError as exc:
        raise CMSError(str(exc)) from None


def _signed(data: bytes) -> SignedFile:
    top = element(data, 0)
    if top.tag != 0x30 or top.end != len(data):
        raise CMSError("not a DER ContentInfo")
    info = children(data, top.start, top.end)
    if len(info) != 2 or _whole(data, info[0]) != OID_SIGNED_DATA or info[1].tag != 0xA0:
        raise CMSError("not CMS SignedData")
    inner = children(data, info[1].start, info[1].end)
    if len(inner) != 1 or inner[0].tag != 0x30:
        raise CMSError("bad SignedData")
    parts = children(data, inner[0].start, inner[0].end)
    # version, digestAlgorithms, encapContentInfo, [0] certificates, [1] crls, signerInfos
    if len(parts) < 4:
        raise CMSError("bad SignedData")
    encap = children(data, parts[2].start, parts[2].end)
    if len(encap) != 2 or _whole(data, encap[0]) != OID_DATA or encap[1].tag != 0xA0:
        raise CMSError("SignedData does not carry attached id-data content")
    content_el = children(data, encap[1].start, encap[1].end)
    if len(content_el) != 1:
        raise CMSError("bad encapsulated content")
    content = _octets(data, content_el[0])
    certificates = set()
    signer_infos = None
    for part in parts[3:]:
        if part.tag == 0xA0:
            certificates = {_whole(data, cert) for cert in children(data, part.start, part.end)}
        elif part.tag == 0x31:
            signer_infos = children(data, part.start, part.end)
    if not signer_infos or len(signer_infos) != 1:
        raise CMSError("expected exactly one signer")
    fields = children(data, signer_infos[0].start, signer_infos[0].end)
    # version, sid, digestAlgorithm, [0] signedAttrs OPTIONAL, signatureAlgorithm, signature, ...
    digest_alg = children(data, fields[2].start, fields[2].end)
    digest = DIGESTS.get(_whole(data, digest_alg[0])) if digest_alg else None
    index = 3
    signed_attrs = None
    message_digest = None
    if fields[index].tag == 0xA0:
        attrs = fields[index]
        # The signature covers the attributes DER-encoded as a SET (tag 0x31), not as the [0] field.
        signed_attrs = b"\x31" + data[attrs.offset + 1 : attrs.end]
        for one in children(data, attrs.start, attrs.end):
            attr = children(data, one.start, one.end)
            if len(attr) == 2 and _whole(data, attr[0]) == OID_MESSAGE_DIGEST:
                values = children(data, attr[1].start, attr[1].end)
                if values and values[0].tag == 0x04:
                    message_digest = data[values[0].start : values[0].end]
        index += 1
    if len(fields) < index + 2 or fields[index + 1].tag != 0x04:
        raise CMSError("bad SignerInfo")
    signature = data[fields[index + 1].start : fields[index + 1].end]
    return SignedFile(content, certificates, digest, signed_attrs, message_digest, signature)


def _whole(buf: bytes, item: Element) -> bytes:
    """The whole encoding of ``item``: tag, length and value."""
    return buf[item.offset : item.end]


def extract_content(data: bytes) -> bytes:
    """The plist inside a signed profile, without any trust decision (like ``openssl cms -noverify``)."""
    return parse_signed(data).content


def verifies_with(parsed: SignedFile, certificate) -> bool:
    """True when the signature in ``parsed`` is valid for its content under ``certificate``'s key."""
    require_cryptography()
    if parsed.digest is None:
        return False
    algorithm = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}[
        parsed.digest
    ]()
    if parsed.signed_attrs is not None:
        if parsed.message_digest != hashlib.new(parsed.digest, parsed.content).digest():
            return False
        signed = parsed.signed_attrs
    else:
        signed = parsed.content
    key = certificate.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(parsed.signature, signed, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(parsed.signature, signed, ec.ECDSA(algorithm))
        else:
            return False
    except InvalidSignature:
        return False
    return True


def is_current(existing: bytes, content: bytes, signer: Signer) -> bool:
    """True when ``existing`` is a valid signature by ``signer`` over exactly ``content``.

    Same plist bytes, the same certificate set (signer + chain) and a signature that verifies: then
    re-signing would only change the signing time, so the file is left alone.
    """
    try:
        parsed = parse_signed(existing)
    except (CMSError, IndexError):
        return False
    return (
        parsed.content == content
        and parsed.certificates == signer.certificate_ders()
        and verifies_with(parsed, signer.certificate)
    )

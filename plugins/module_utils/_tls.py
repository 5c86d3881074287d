# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""TLS for the validation engine: explicit SSLContext, certificate inspection, certificate findings.

Standard library only (this runs on managed nodes): the certificate is read from its DER form with
a small X.509 reader over ``_der``, because a handshake with verification off (needed to diagnose *why*
verification failed) gives no parsed certificate in Python's ssl module.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import ssl
import warnings
from dataclasses import dataclass

from ansible_collections.mailops.clients.plugins.module_utils._connection import TLS_VERSIONS
from ansible_collections.mailops.clients.plugins.module_utils._der import children, element, oid
from ansible_collections.mailops.clients.plugins.module_utils._errors import OptionError

# The tls_min_version names (in order, from _connection) as the ssl module's versions.
_SSL_VERSIONS = {
    "TLSv1": ssl.TLSVersion["TLSv1"],
    "TLSv1.1": ssl.TLSVersion["TLSv1_1"],
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
DEPRECATED_VERSIONS = ("TLSv1", "TLSv1.1")  # RFC 8996

# OpenSSL X509_V_ERR_* codes that say "the chain does not end at a trusted CA".
_UNTRUSTED_CODES = {2, 19, 20, 21, 24, 27, 28, 29}
_SELF_SIGNED_CODE = 18
_EXPIRED_CODE = 10
_NOT_YET_VALID_CODE = 9
_HOSTNAME_CODES = {62, 64}


def build_context(settings, verify=None, minimum=None):
    """An explicit client SSLContext for these settings.

    ``verify`` overrides validate_certs and ``minimum`` overrides tls_min_version; both are used by
    the diagnostic second handshakes.  Versions below TLS 1.2 are only reachable when asked for:
    OpenSSL 3 then needs security level 0.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    verify = settings.validate_certs if verify is None else verify
    if verify:
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = True
        try:
            if settings.ca_path and os.path.isdir(settings.ca_path):
                context.load_verify_locations(capath=settings.ca_path)
            elif settings.ca_path:
                context.load_verify_locations(cafile=settings.ca_path)
            else:
                context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise OptionError(f"ca_path {settings.ca_path} cannot be loaded as PEM CA certificates: {exc}") from None
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    name = minimum or settings.tls_min_version
    with warnings.catch_warnings():  # TLSv1/TLSv1.1 are deprecated names, used here only when asked for
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = _SSL_VERSIONS[name]
    if TLS_VERSIONS.index(name) < TLS_VERSIONS.index("TLSv1.2"):
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


def version_below(version, minimum):
    return version in TLS_VERSIONS and TLS_VERSIONS.index(version) < TLS_VERSIONS.index(minimum)


# --- a small X.509 reader over _der ----------------------------------------------------------------


class CertificateParseError(ValueError):
    pass


_NAME_OIDS = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.5": "serialNumber",
    "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
    "1.2.840.113549.1.9.1": "emailAddress",
}


def _string(tag, raw):
    if tag == 0x1E:
        return raw.decode("utf-16-be", "replace")
    if tag == 0x1C:
        return raw.decode("utf-32-be", "replace")
    if tag == 0x14:
        return raw.decode("latin-1")
    return raw.decode("utf-8", "replace")


def _escape_rdn(value):
    out = []
    for index, char in enumerate(value):
        if char in ',+"\\<>;' or (index == 0 and char in "# ") or (index == len(value) - 1 and char == " "):
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def _name(data, start, end):
    """RFC 4514 string (most specific RDN first, like ``openssl x509 -nameopt RFC2253``) and CN."""
    rdns = []
    common_names = []
    for rdn in children(data, start, end):
        attributes = []
        for attribute in children(data, rdn.start, rdn.end):
            items = children(data, attribute.start, attribute.end)
            if len(items) != 2:
                raise CertificateParseError("bad AttributeTypeAndValue")
            name = oid(data[items[0].start : items[0].end])
            value = _string(items[1].tag, data[items[1].start : items[1].end])
            if name == "2.5.4.3":
                common_names.append(value)
            attributes.append(f"{_NAME_OIDS.get(name, name)}={_escape_rdn(value)}")
        rdns.append("+".join(attributes))
    return ",".join(reversed(rdns)), common_names


def _time(tag, raw):
    text = raw.decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
        year = int(text[:2])
        text = ("19" if year >= 50 else "20") + text
    elif tag != 0x18:
        raise CertificateParseError("bad time type")
    if not text.endswith("Z") or len(text) != 15:
        raise CertificateParseError(f"unsupported time {text!r}")
    return datetime.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=datetime.timezone.utc)


def _general_names(data, start, end):
    names = []
    for tag, _offset, vstart, vend in children(data, start, end):
        raw = data[vstart:vend]
        if tag == 0x82:
            names.append("DNS:" + raw.decode("ascii", "replace"))
        elif tag == 0x87 and len(raw) in (4, 16):
            names.append("IP:" + str(ipaddress.ip_address(raw)))
        elif tag == 0x81:
            names.append("email:" + raw.decode("ascii", "replace"))
        elif tag == 0x86:
            names.append("URI:" + raw.decode("ascii", "replace"))
    return names


@dataclass
class CertificateInfo:
    subject: str
    issuer: str
    common_names: list
    sans: list
    has_san_extension: bool
    not_before: datetime.datetime
    not_after: datetime.datetime
    self_issued: bool
    fingerprint_sha256: str


def parse_certificate(der):
    """Read subject, issuer, validity and subjectAltName from a DER X.509 certificate."""
    try:
        certificate = element(der, 0)
        tbs = element(der, certificate.start, certificate.end)
        if tbs.tag != 0x30:
            raise CertificateParseError("not a certificate")
        fields = children(der, tbs.start, tbs.end)
        if fields and fields[0].tag == 0xA0:  # explicit version
            fields = fields[1:]
        # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, [1], [2], [3]
        issuer_field, validity_field, subject_field = fields[2], fields[3], fields[4]
        issuer, _unused = _name(der, issuer_field.start, issuer_field.end)
        subject, common_names = _name(der, subject_field.start, subject_field.end)
        times = children(der, validity_field.start, validity_field.end)
        not_before = _time(times[0].tag, der[times[0].start : times[0].end])
        not_after = _time(times[1].tag, der[times[1].start : times[1].end])
        sans = []
        has_san = False
        for field in fields[6:]:
            if field.tag != 0xA3:
                continue
            extensions = element(der, field.start, field.end)
            for extension in children(der, extensions.start, extensions.end):
                parts = children(der, extension.start, extension.end)
                if oid(der[parts[0].start : parts[0].end]) != "2.5.29.17":
                    continue
                has_san = True
                names = element(der, parts[-1].start, parts[-1].end)
                sans = _general_names(der, names.start, names.end)
        issuer_raw = der[issuer_field.start : issuer_field.end]
        subject_raw = der[subject_field.start : subject_field.end]
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        raise CertificateParseError(f"cannot read the server certificate: {exc}") from None
    return CertificateInfo(
        subject=subject,
        issuer=issuer,
        common_names=common_names,
        sans=sans,
        has_san_extension=has_san,
        not_before=not_before,
        not_after=not_after,
        self_issued=issuer_raw == subject_raw,
        fingerprint_sha256=hashlib.sha256(der).hexdigest(),
    )


# --- hostname matching (RFC 6125, the rules OpenSSL applies for Python's check_hostname) -----------


def _dns_match(pattern, name):
    pattern = pattern.rstrip(".").lower()
    name = name.rstrip(".").lower()
    if pattern == name:
        return True
    if not pattern.startswith("*.") or "*" in pattern[2:]:
        return False
    # A wildcard stands for exactly one left-most label, never for a public suffix alone.
    suffix = pattern[1:]
    if pattern.count(".") < 2 or not name.endswith(suffix):
        return False
    label = name[: -len(suffix)]
    return bool(label) and "." not in label


def hostname_matches(info, server_name):
    try:
        address = ipaddress.ip_address(server_name.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        return any(s == "IP:" + str(address) for s in info.sans)
    dns_names = [s[4:] for s in info.sans if s.startswith("DNS:")]
    if not dns_names:  # no DNS SAN: OpenSSL falls back to the subject CN
        dns_names = info.common_names
    return any(_dns_match(pattern, server_name) for pattern in dns_names)


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def days_left(info, now):
    """Whole days until not_after, truncated toward zero (negative: days since it expired)."""
    return int((info.not_after - now).total_seconds() / 86400)


def certificate_result(info, server_name, chain_verified, now):
    """The ``certificate`` return value."""
    return {
        "subject": info.subject,
        "issuer": info.issuer,
        "sans": list(info.sans),
        "not_before": _iso(info.not_before),
        "not_after": _iso(info.not_after),
        "days_left": days_left(info, now),
        "chain_verified": chain_verified,
        "hostname_matches": hostname_matches(info, server_name),
        "fingerprint_sha256": info.fingerprint_sha256,
    }


def certificate_problems(info, server_name, verified, verify_code, verify_message, warn_days, now):
    """Name every problem of a certificate as ``(code, severity_override, params)`` tuples.

    ``verified``: validate_certs was on (problems are errors) or off (they are warnings and
    ``cert_not_verified`` is added).  ``verify_code``/``verify_message``: OpenSSL's reason when the
    verifying handshake failed, else None.  OpenSSL stops at the first error, so the dates and the
    name are always checked here as well, and every applicable cause is reported.
    """
    problems = []
    severity = None if verified else "warning"
    enforcement = "" if verified else " (not enforced: validate_certs is false)"
    left = days_left(info, now)
    if info.not_after < now:
        problems.append(
            ("cert_expired", severity, {"not_after": _iso(info.not_after), "days": -left, "enforcement": enforcement})
        )
    if info.not_before > now:
        problems.append(
            ("cert_not_yet_valid", severity, {"not_before": _iso(info.not_before), "enforcement": enforcement})
        )
    if not hostname_matches(info, server_name):
        names = ", ".join(info.sans) or ("CN=" + ", CN=".join(info.common_names) if info.common_names else "none")
        problems.append(
            (
                "cert_hostname_mismatch",
                severity,
                {"server_name": server_name, "names": names, "enforcement": enforcement},
            )
        )
    explained = {p[0] for p in problems}
    if info.self_issued and (not verified or verify_code in (_SELF_SIGNED_CODE, 19) or verify_code in _UNTRUSTED_CODES):
        problems.append(("cert_self_signed", severity, {"subject": info.subject, "enforcement": enforcement}))
    elif verify_code in _UNTRUSTED_CODES:
        problems.append(("cert_untrusted", None, {"issuer": info.issuer, "reason": verify_message}))
    elif verify_code is not None and not (
        (verify_code == _EXPIRED_CODE and "cert_expired" in explained)
        or (verify_code == _NOT_YET_VALID_CODE and "cert_not_yet_valid" in explained)
        or (verify_code in _HOSTNAME_CODES and "cert_hostname_mismatch" in explained)
    ):
        # Anything else OpenSSL refused (bad signature, wrong purpose, ...): not trusted, with its words.
        problems.append(("cert_untrusted", None, {"issuer": info.issuer, "reason": verify_message}))
    if info.not_after >= now and left < warn_days:
        problems.append(
            ("cert_expiring_soon", None, {"not_after": _iso(info.not_after), "days": left, "threshold": warn_days})
        )
    if not verified:
        problems.append(("cert_not_verified", None, {}))
    return problems

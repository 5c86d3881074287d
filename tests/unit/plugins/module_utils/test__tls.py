# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Certificate reading (stdlib DER reader), hostname matching, certificate findings, SSLContext set-up."""

from __future__ import annotations

import datetime
import ssl

import pytest
from ansible_collections.mailops.clients.plugins.module_utils._connection import validate
from ansible_collections.mailops.clients.plugins.module_utils._errors import OptionError
from ansible_collections.mailops.clients.plugins.module_utils._tls import (
    CertificateParseError,
    build_context,
    certificate_problems,
    certificate_result,
    hostname_matches,
    parse_certificate,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from maillab import issue_cert, make_ca

NOW = datetime.datetime(2030, 6, 1, 12, 0, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def der(pem):
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


def cert(names=("mail.example.test",), ips=(), not_before=NOW - 10 * DAY, not_after=NOW + 100 * DAY, ca=True):
    ca_cert, ca_key = make_ca("Test CA") if ca else (None, None)
    pem, _unused = issue_cert(ca_cert, ca_key, list(names), list(ips), not_before=not_before, not_after=not_after)
    return parse_certificate(der(pem))


def cn_only_cert(common_name, extra_names=()):
    """A certificate without subjectAltName (old style), with an O and multi-valued subject."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example, Inc."),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    built = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime.datetime(1999, 1, 1, tzinfo=datetime.timezone.utc))
        .not_valid_after(datetime.datetime(2051, 1, 1, tzinfo=datetime.timezone.utc))
        .sign(key, hashes.SHA256())
    )
    return parse_certificate(built.public_bytes(serialization.Encoding.DER))


def test_parse_certificate_reads_names_dates_and_sans():
    info = cert(names=("mail.example.test", "*.example.test"), ips=("127.0.0.1", "::1"))
    assert info.subject == "CN=mail.example.test"
    assert info.issuer == "CN=Test CA"
    assert info.sans == ["DNS:mail.example.test", "DNS:*.example.test", "IP:127.0.0.1", "IP:::1"]
    assert info.has_san_extension is True
    assert info.not_before == NOW - 10 * DAY
    assert info.not_after == NOW + 100 * DAY
    assert info.self_issued is False
    assert len(info.fingerprint_sha256) == 64


def test_parse_certificate_rfc4514_subject_with_escaping_and_generalized_time():
    info = cn_only_cert("legacy.example.test")
    assert info.subject == "CN=legacy.example.test,O=Example\\, Inc.,C=DE"
    assert info.issuer == info.subject
    assert info.self_issued is True
    assert info.sans == [] and info.has_san_extension is False
    assert info.not_after == datetime.datetime(2051, 1, 1, tzinfo=datetime.timezone.utc)  # GeneralizedTime
    assert info.not_before.year == 1999  # UTCTime with a 19xx year


@pytest.mark.parametrize("data", [b"", b"\x30\x03\x02\x01", b"\x30\x82\xff\xff" + b"\0" * 10, b"not a cert"])
def test_parse_certificate_rejects_garbage(data):
    with pytest.raises(CertificateParseError, match="^cannot read the server certificate|^truncated|^bad|^DER"):
        parse_certificate(data)


@pytest.mark.parametrize(
    ("names", "ips", "server_name", "matches"),
    [
        (["mail.example.test"], [], "mail.example.test", True),
        (["mail.example.test"], [], "MAIL.Example.Test.", True),
        (["mail.example.test"], [], "imap.example.test", False),
        (["*.example.test"], [], "imap.example.test", True),
        (["*.example.test"], [], "a.b.example.test", False),  # one label only
        (["*.example.test"], [], "example.test", False),
        (["*.test"], [], "example.test", False),  # never a wildcard over a top-level label
        (["mail.example.test"], ["127.0.0.1"], "127.0.0.1", True),
        (["mail.example.test"], ["127.0.0.1"], "127.0.0.2", False),
        (["127.0.0.1"], [], "127.0.0.1", False),  # an address must be an IP SAN, not a DNS one
        (["mail.example.test"], ["::1"], "[::1]", True),
    ],
)
def test_hostname_matches(names, ips, server_name, matches):
    assert hostname_matches(cert(names=names, ips=ips), server_name) is matches


def test_hostname_falls_back_to_cn_without_dns_sans():
    info = cn_only_cert("legacy.example.test")
    assert hostname_matches(info, "legacy.example.test") is True
    assert hostname_matches(info, "other.example.test") is False


def test_certificate_result():
    info = cert(ips=("127.0.0.1",))
    result = certificate_result(info, "127.0.0.1", True, NOW)
    assert result == {
        "subject": "CN=mail.example.test",
        "issuer": "CN=Test CA",
        "sans": ["DNS:mail.example.test", "IP:127.0.0.1"],
        "not_before": "2030-05-22T12:00:00Z",
        "not_after": "2030-09-09T12:00:00Z",
        "days_left": 100,
        "chain_verified": True,
        "hostname_matches": True,
        "fingerprint_sha256": info.fingerprint_sha256,
    }


def codes(problems):
    return [(code, severity) for code, severity, _unused in problems]


@pytest.mark.parametrize(
    ("kwargs", "server_name", "verified", "verify", "expected"),
    [
        ({}, "mail.example.test", True, (None, None), []),
        ({"not_after": NOW + 5 * DAY}, "mail.example.test", True, (None, None), [("cert_expiring_soon", None)]),
        ({"not_after": NOW - 2 * DAY}, "mail.example.test", True, (10, "certificate has expired"),
         [("cert_expired", None)]),
        ({"not_before": NOW + 2 * DAY}, "mail.example.test", True, (9, "certificate is not yet valid"),
         [("cert_not_yet_valid", None)]),
        ({}, "other.example.test", True, (62, "Hostname mismatch, certificate is not valid for 'other.example.test'."),
         [("cert_hostname_mismatch", None)]),
        ({}, "mail.example.test", True, (20, "unable to get local issuer certificate"), [("cert_untrusted", None)]),
        ({"ca": False}, "mail.example.test", True, (18, "self-signed certificate"), [("cert_self_signed", None)]),
        # OpenSSL reports the first problem only; dates and name are always checked as well.
        ({"not_after": NOW - 2 * DAY}, "other.example.test", True, (20, "unable to get local issuer certificate"),
         [("cert_expired", None), ("cert_hostname_mismatch", None), ("cert_untrusted", None)]),
        ({}, "mail.example.test", True, (7, "certificate signature failure"), [("cert_untrusted", None)]),
        # validate_certs=false: the same problems, as warnings, plus cert_not_verified.
        ({"not_after": NOW - 2 * DAY, "ca": False}, "other.example.test", False, (None, None),
         [("cert_expired", "warning"), ("cert_hostname_mismatch", "warning"), ("cert_self_signed", "warning"),
          ("cert_not_verified", None)]),
        ({}, "mail.example.test", False, (None, None), [("cert_not_verified", None)]),
    ],
)  # fmt: skip
def test_certificate_problems(kwargs, server_name, verified, verify, expected):
    info = cert(**kwargs)
    assert codes(certificate_problems(info, server_name, verified, verify[0], verify[1], 30, NOW)) == expected


def test_certificate_problem_parameters():
    info = cert(not_after=NOW - 3 * DAY - datetime.timedelta(hours=5))
    [(code, _unused, params)] = certificate_problems(
        info, "mail.example.test", True, 10, "certificate has expired", 30, NOW
    )
    assert params == {"not_after": "2030-05-29T07:00:00Z", "days": 3, "enforcement": ""}


def test_build_context_verifies_by_default_with_the_given_ca(tmp_path):
    ca_pem, _unused = make_ca("Test CA")
    (tmp_path / "ca.pem").write_bytes(ca_pem)
    context = build_context(validate({"host": "h", "ca_path": str(tmp_path / "ca.pem")}, "imap"))
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname is True
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "Test CA"),),)]


def test_build_context_without_verification_and_old_versions():
    context = build_context(validate({"host": "h", "validate_certs": False, "tls_min_version": "TLSv1"}, "imap"))
    assert context.verify_mode == ssl.CERT_NONE and context.check_hostname is False
    assert context.minimum_version == ssl.TLSVersion.TLSv1
    assert context.security_level == 0


def test_build_context_reports_an_unreadable_ca_file(tmp_path):
    (tmp_path / "ca.pem").write_text("not a certificate")
    with pytest.raises(OptionError, match=f"^ca_path {tmp_path}/ca.pem cannot be loaded as PEM CA certificates: "):
        build_context(validate({"host": "h", "ca_path": str(tmp_path / "ca.pem")}, "imap"))

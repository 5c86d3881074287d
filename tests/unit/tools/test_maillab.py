# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure parts of the mail lab: ports, users, certificates and OAuth2 tokens (no daemons started)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json

import pytest
from cryptography import x509
from maillab import BASE_PORTS, LabError, MailLab, issue_cert, make_ca, make_jwt


@pytest.mark.parametrize(
    ("offset", "service", "port"),
    [(0, "imaps", 10993), (0, "submission", 10587), (100, "imap", 10243), (300, "pop3s", 11295)],
)
def test_ports_shift_by_offset(tmp_path, offset, service, port):
    assert MailLab(tmp_path, port_offset=offset).ports[service] == port


def test_every_documented_service_has_a_port(tmp_path):
    assert (
        set(MailLab(tmp_path).ports)
        == set(BASE_PORTS)
        == {
            "imap",
            "imaps",
            "pop3",
            "pop3s",
            "smtp",
            "submission",
            "submissions",
        }
    )


def test_extra_users_follow_the_fixed_ones(tmp_path):
    users = MailLab(tmp_path, extra_users=2).users
    assert list(users) == [
        "alice@example.test",
        "bob@example.test",
        "carol@example.test",
        "user0001@example.test",
        "user0002@example.test",
    ]
    assert users["user0002@example.test"] == "pw-user0002"


def test_maildir_path_is_domain_then_local_part(tmp_path):
    lab = MailLab(tmp_path)
    assert lab.maildir("bob@example.test") == tmp_path.resolve() / "mail" / "example.test" / "bob" / "Maildir"


def test_server_certificate_is_signed_by_ca_and_names_the_lab():
    ca_cert, ca_key = make_ca()
    cert_pem = issue_cert(ca_cert, ca_key, ["mail.example.test", "localhost"], ["127.0.0.1"])[0]
    cert = x509.load_pem_x509_certificate(cert_pem)
    ca = x509.load_pem_x509_certificate(ca_cert)
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["mail.example.test", "localhost"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_expired_self_signed_certificate_for_fault_tests():
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    cert_pem = issue_cert(None, None, ["old.example.test"], not_before=past, not_after=past + datetime.timedelta(1))[0]
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert cert.issuer == cert.subject
    assert cert.not_valid_after_utc == past + datetime.timedelta(1)


def test_jwt_claims_and_signature():
    secret = b"s3cret"
    token = make_jwt(secret, "alice@example.test", lifetime=60, now=1_000_000)
    header_b64, claims_b64, signature_b64 = token.split(".")

    def decode(part):
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    assert json.loads(decode(header_b64)) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(decode(claims_b64)) == {
        "sub": "alice@example.test",
        "email": "alice@example.test",
        "azp": "mailops-lab",
        "iat": 999_995,
        "nbf": 999_995,
        "exp": 1_000_060,
    }
    expected = hmac.new(secret, f"{header_b64}.{claims_b64}".encode(), hashlib.sha256).digest()
    assert decode(signature_b64) == expected


def test_start_refuses_non_root(tmp_path, monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(LabError, match=r"^the mail lab must run as root \(Postfix cannot run unprivileged\)$"):
        MailLab(tmp_path).start()

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The domain plan and the published documents (pure functions)."""

from __future__ import annotations

import base64
import plistlib
import xml.etree.ElementTree as ET

import pytest
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import normalize_accounts
from ansible_collections.mailops.clients.plugins.plugin_utils._publish import (
    PublishError,
    domains_from_accounts,
    plan_domains,
    render_documents,
)
from apple_schema import assert_valid

SERVERS = {
    "main": {
        "incoming": {"protocol": "imap", "host": "mail.example.test", "security": "tls"},
        "outgoing": {"host": "mail.example.test", "port": 587, "security": "starttls"},
    },
    "backup": {
        "incoming": {"protocol": "pop3", "host": "pop.example.test", "security": "tls"},
        "outgoing": {"host": "smtp2.example.test", "security": "tls"},
    },
    "oauth": {
        "incoming": {"protocol": "imap", "host": "imap.oauth.test", "auth": "oauth2"},
        "outgoing": {"host": "smtp.oauth.test", "auth": "oauth2"},
    },
}
IMAP = "imap://mail.example.test:993/tls"
SMTP = "smtp://mail.example.test:587/starttls"
POP3 = "pop3://pop.example.test:995/tls"
SMTP2 = "smtp://smtp2.example.test:465/tls"
REFUSED = {"code": "connection_refused", "severity": "error", "stage": "connect", "message": "refused", "fix": "port"}


def endpoint(verdict="ok", findings=()):
    return {"verdict": verdict, "findings": list(findings), "accounts": 1, "tls": None, "certificate": None}


def verified(*ok, bad=()):
    eps = {key: endpoint() for key in ok}
    eps.update({key: endpoint("error", [REFUSED]) for key in bad})
    return {"endpoints": eps, "accounts": {}, "credentials": True}


def test_plan_lists_every_verified_server_in_preference_order():
    result = plan_domains(
        {"Example.Test": {"server": ["main", "backup"], "display_name": "Example Mail"}},
        SERVERS,
        verified(IMAP, SMTP, POP3, SMTP2),
        autodiscover_host="autoconfig.{domain}",
    )
    assert result == {
        "domains": {
            "example.test": {
                "username": "email",
                "display_name": "Example Mail",
                "incoming": [
                    {
                        "protocol": "imap",
                        "host": "mail.example.test",
                        "port": 993,
                        "security": "tls",
                        "auth": "password",
                    },
                    {
                        "protocol": "pop3",
                        "host": "pop.example.test",
                        "port": 995,
                        "security": "tls",
                        "auth": "password",
                    },
                ],
                "outgoing": [
                    {
                        "protocol": "smtp",
                        "host": "mail.example.test",
                        "port": 587,
                        "security": "starttls",
                        "auth": "password",
                    },
                    {
                        "protocol": "smtp",
                        "host": "smtp2.example.test",
                        "port": 465,
                        "security": "tls",
                        "auth": "password",
                    },
                ],
                "autodiscover_host": "autoconfig.example.test",
            }
        },
        "refused": {},
        "warnings": [],
    }


def test_a_domain_whose_server_did_not_verify_is_refused_and_named():
    result = plan_domains(
        {"example.test": {"server": ["main", "backup"]}, "other.test": {"server": "main"}},
        SERVERS,
        verified(IMAP, SMTP, SMTP2, bad=[POP3]),
    )
    assert list(result["domains"]) == ["other.test"]
    assert list(result["refused"]) == ["example.test"]
    message = result["refused"]["example.test"]
    assert message.startswith("example.test: not published (its last verified documents stay as they are)")
    assert POP3 in message


def test_not_verified_at_all_is_refused_unless_allowed():
    assert list(plan_domains({"example.test": {"server": "main"}}, SERVERS, None)["refused"]) == ["example.test"]
    allowed = plan_domains({"example.test": {"server": "main"}}, SERVERS, None, allow_unverified=True)
    assert list(allowed["domains"]) == ["example.test"]
    assert "did not verify" in allowed["warnings"][0]


@pytest.mark.parametrize(
    ("domains", "message"),
    [
        (
            {"example.test": {"server": "nope"}},
            r"^mailops_publish_domains\[example.test\]\.server: server nope: unknown",
        ),
        (
            {"example.test": {"server": "main", "username": "login"}},
            r"\.username: unknown value 'login'. Fix: use email",
        ),
        ({"example.test": {"sever": "main"}}, r"\[example.test\]\.sever: unknown key"),
        ({"not a domain": {"server": "main"}}, r"'not a domain' is not a mail domain"),
        ({"localhost": {"server": "main"}}, r"'localhost' is not a mail domain"),
        ({"_dmarc.example.test": {"server": "main"}}, r"'_dmarc.example.test' is not a mail domain"),
        ({"example.test": {"server": []}}, r"\.server: expected a server name or a list"),
        (["example.test"], r"must be a dictionary of mail domains, got a list"),
    ],
)
def test_bad_settings_name_the_field(domains, message):
    with pytest.raises(PublishError, match=message):
        plan_domains(domains, SERVERS, verified(IMAP, SMTP))


def test_domains_from_accounts():
    accounts = normalize_accounts(
        [
            {"email": "a@example.test", "server": "main", "username": "a"},
            {"email": "b@example.test", "server": "backup", "username": "b"},
            {"email": "c@other.test", "server": "main"},
            {
                "email": "d@inline.test",
                "incoming": SERVERS["main"]["incoming"],
                "outgoing": SERVERS["main"]["outgoing"],
            },
        ],
        SERVERS,
    )
    assert domains_from_accounts(accounts) == {
        "example.test": {"server": ["main", "backup"], "username": "local_part"},
        "other.test": {"server": ["main"], "username": "email"},
    }


def plan_of(domains, *ok):
    return plan_domains(domains, SERVERS, verified(*ok))["domains"]


def test_documents_autoconfig_and_profile_without_addresses():
    plan = plan_of({"example.test": {"server": ["main", "backup"], "username": "local_part"}}, IMAP, SMTP, POP3, SMTP2)
    docs = render_documents(plan, identifier_prefix="test.publish")
    files = {path: base64.b64decode(data) for path, data in docs["files"]["example.test"].items()}
    assert sorted(files) == [
        ".well-known/autoconfig/mail/config-v1.1.xml",
        "mail/config-v1.1.xml",
        "mail/example.test.mobileconfig",
        "mail/index.html",
    ]
    xml = files["mail/config-v1.1.xml"]
    assert xml == files[".well-known/autoconfig/mail/config-v1.1.xml"]
    provider = ET.fromstring(xml).find("emailProvider")  # noqa: S314 (our own output)
    servers = [
        (
            s.tag,
            s.get("type"),
            s.findtext("hostname"),
            s.findtext("port"),
            s.findtext("socketType"),
            s.findtext("username"),
        )
        for s in provider
        if s.tag.endswith("Server")
    ]
    assert servers == [
        ("incomingServer", "imap", "mail.example.test", "993", "SSL", "%EMAILLOCALPART%"),
        ("incomingServer", "pop3", "pop.example.test", "995", "SSL", "%EMAILLOCALPART%"),
        ("outgoingServer", "smtp", "mail.example.test", "587", "STARTTLS", "%EMAILLOCALPART%"),
        ("outgoingServer", "smtp", "smtp2.example.test", "465", "SSL", "%EMAILLOCALPART%"),
    ]
    assert provider.find("pop3") is None
    profile = plistlib.loads(files["mail/example.test.mobileconfig"])
    assert_valid(profile)
    [payload] = profile["PayloadContent"]
    assert payload["IncomingMailServerHostName"] == "mail.example.test"
    assert payload["OutgoingMailServerPortNumber"] == 587
    for key in ("EmailAddress", "IncomingMailServerUsername", "OutgoingMailServerUsername", "IncomingPassword"):
        assert key not in payload
    assert b"user@" not in files["mail/example.test.mobileconfig"] + files["mail/index.html"] + xml
    assert any("only the preferred servers" in w for w in docs["warnings"])
    # deterministic: the same plan gives the same bytes
    assert render_documents(plan, identifier_prefix="test.publish") == docs


def test_oauth2_domain_has_no_apple_profile():
    plan = plan_of(
        {"oauth.test": {"server": "oauth"}}, "imap://imap.oauth.test:993/tls", "smtp://smtp.oauth.test:465/tls"
    )
    docs = render_documents(plan)
    assert sorted(docs["files"]["oauth.test"]) == [
        ".well-known/autoconfig/mail/config-v1.1.xml",
        "mail/config-v1.1.xml",
    ]
    assert any(w.startswith("oauth.test: no Apple profile") for w in docs["warnings"])


def test_signed_profile_is_kept_while_current(tmp_path):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "profile signer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .sign(key, hashes.SHA256())
    )
    signing = {
        "certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "private_key": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    }
    plan = plan_of({"example.test": {"server": "main"}}, IMAP, SMTP)
    first = render_documents(plan, signing=signing)["files"]["example.test"]["mail/example.test.mobileconfig"]
    assert base64.b64decode(first)[:1] == b"\x30"
    existing = {"example.test/mail/example.test.mobileconfig": first}
    again = render_documents(plan, signing=signing, existing=existing)["files"]["example.test"]
    assert again["mail/example.test.mobileconfig"] == first
    with pytest.raises(PublishError, match=r"^mailops_publish_signing: signing certificate is not a PEM"):
        render_documents(plan, signing={"certificate": "x", "private_key": "y"})

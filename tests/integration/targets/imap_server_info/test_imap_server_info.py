# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""imap_server_info against the real lab Dovecot and a second Dovecot with broken certificates.

Direct engine calls (the module's validate + run_checks) for the many cases, ansible-playbook for the
module itself. Bad credentials are sent from their own loopback address (127.0.0.1x): Dovecot delays
further logins from an address after a failure (auth penalty), which would slow the other tests.
Connections from 127.0.0.2 are not "secured" for Dovecot (its own address is), which is how
LOGINDISABLED and the plaintext findings are reached.
"""

from __future__ import annotations

import json
import re
import tempfile
import time

import faultservers as fs
import pytest

pytestmark = pytest.mark.lab

ALICE = "alice@example.test"


@pytest.fixture(scope="module")
def lab(mail_lab):
    return mail_lab


def imap(lab, port="imaps", **params):
    params.setdefault("host", lab.host)
    params.setdefault("ca_path", lab.ca_path)
    params.setdefault("timeout", 5)
    return fs.check("imap", port=lab.ports[port] if isinstance(port, str) else port, **params)


def test_imaps_login_ok_with_full_evidence(lab):
    result = imap(lab, username=ALICE, password=lab.users[ALICE])
    assert (result["verdict"], result["findings"], result["changed"]) == ("ok", [], False)
    assert result["endpoint"] == {
        "protocol": "imap", "host": "127.0.0.1", "port": lab.ports["imaps"], "security": "tls",
        "server_name": "127.0.0.1",
    }  # fmt: skip
    assert result["tls"]["version"] == "TLSv1.3"
    cert = result["certificate"]
    assert cert["subject"] == "CN=mail.example.test"
    assert cert["issuer"] == "CN=mailops.clients lab CA"
    assert cert["sans"] == ["DNS:mail.example.test", "DNS:localhost", "IP:127.0.0.1"]
    assert (cert["chain_verified"], cert["hostname_matches"]) == (True, True)
    assert 390 <= cert["days_left"] <= 397
    assert result["capabilities"]["before_tls"] == []
    assert "AUTH=PLAIN" in result["capabilities"]["after_tls"]
    assert result["auth_mechanisms"] == {
        "before_tls": [],
        "after_tls": ["PLAIN", "LOGIN", "CRAM-MD5", "OAUTHBEARER", "XOAUTH2"],
    }
    assert result["login"] == {"attempted": True, "succeeded": True, "mechanism": "PLAIN", "username": ALICE}
    timings = result["timings_ms"]
    assert timings["starttls"] is None
    assert all(timings[k] is not None for k in ("connect", "banner", "tls", "auth", "logout", "total"))


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
@pytest.mark.parametrize(("port", "security"), [("imaps", "tls"), ("imap", "starttls")])
def test_password_mechanisms(lab, mechanism, port, security):
    result = imap(
        lab,
        port=port,
        security=security,
        username=ALICE,
        password=lab.users[ALICE],
        auth_mechanism=mechanism,
        source_address="127.0.0.2",
    )
    assert result["verdict"] == "ok", result["findings"]
    assert result["login"]["mechanism"] == mechanism and result["login"]["succeeded"] is True


@pytest.mark.parametrize("mechanism", ["OAUTHBEARER", "XOAUTH2"])
def test_oauth_mechanisms_against_dovecot_oauth2_passdb(lab, mechanism):
    token = lab.oauth2_token(ALICE)
    result = imap(lab, username=ALICE, oauth2_token=token, auth_mechanism=mechanism)
    assert result["verdict"] == "ok", result["findings"]
    assert result["login"] == {"attempted": True, "succeeded": True, "mechanism": mechanism, "username": ALICE}
    assert token not in json.dumps(result)


def test_oauth_token_of_another_user_is_refused_with_the_oauth_status(lab):
    token = lab.oauth2_token(ALICE)
    result = imap(lab, username="bob@example.test", oauth2_token=token, source_address="127.0.0.11")
    assert fs.codes(result) == [("auth_failed", "error")]
    assert result["findings"][0]["message"] == (
        "authentication of 'bob@example.test' with OAUTHBEARER failed: "
        "'NO [AUTHENTICATIONFAILED] Authentication failed. (server said: status=invalid_token)'"
    )
    assert token not in json.dumps(result)


def test_wrong_password_is_auth_failed_without_echoing_it(lab):
    result = imap(lab, username=ALICE, password="not-alices-pw-9", source_address="127.0.0.12")
    assert fs.codes(result) == [("auth_failed", "error")]
    assert result["findings"][0]["message"] == (
        "authentication of 'alice@example.test' with PLAIN failed: 'NO [AUTHENTICATIONFAILED] Authentication failed.'"
    )
    assert result["login"] == {"attempted": True, "succeeded": False, "mechanism": "PLAIN", "username": ALICE}
    assert "not-alices-pw-9" not in json.dumps(result)
    assert result["timings_ms"]["logout"] is not None  # the session still ends cleanly


def test_starttls_from_a_secured_address_shows_plaintext_auth_before_tls(lab):
    # Dovecot treats 127.0.0.1 -> 127.0.0.1 as secured and offers AUTH=PLAIN before STARTTLS.
    result = imap(lab, port="imap", security="starttls")
    assert fs.codes(result) == [("plaintext_auth_before_tls", "warning")]
    assert result["findings"][0]["message"] == (
        "the server offers password login before STARTTLS (PLAIN, LOGIN, OAUTHBEARER, XOAUTH2, the LOGIN command); "
        "clients that do not enforce STARTTLS may send passwords unencrypted"
    )
    assert "STARTTLS" in result["capabilities"]["before_tls"]


def test_starttls_from_another_address_is_clean_and_rereads_capabilities(lab):
    result = imap(
        lab, port="imap", security="starttls", username=ALICE, password=lab.users[ALICE], source_address="127.0.0.2"
    )
    assert (result["verdict"], result["findings"]) == ("ok", [])
    before, after = result["capabilities"]["before_tls"], result["capabilities"]["after_tls"]
    assert "LOGINDISABLED" in before and "STARTTLS" in before
    assert "LOGINDISABLED" not in after and "AUTH=PLAIN" in after
    assert result["auth_mechanisms"]["before_tls"] == ["CRAM-MD5"]
    assert result["timings_ms"]["starttls"] is not None


def test_plaintext_with_logindisabled(lab):
    result = imap(lab, port="imap", security="none", source_address="127.0.0.2")
    assert fs.codes(result) == [("insecure_plaintext_connection", "warning"), ("login_disabled", "info")]
    with_password = imap(
        lab,
        port="imap",
        security="none",
        username=ALICE,
        password=lab.users[ALICE],
        auth_mechanism="PLAIN",
        source_address="127.0.0.2",
    )
    assert fs.codes(with_password) == [("insecure_plaintext_connection", "warning"), ("login_disabled", "error")]
    assert (
        with_password["findings"][1]["message"]
        == "the server refuses password login on this connection (LOGINDISABLED)"
    )
    assert with_password["login"]["attempted"] is False


def test_plaintext_auto_prefers_cram_md5_and_plain_is_reported_as_cleartext(lab):
    auto = imap(
        lab, port="imap", security="none", username=ALICE, password=lab.users[ALICE], source_address="127.0.0.2"
    )
    assert fs.codes(auto) == [("insecure_plaintext_connection", "warning")]
    assert auto["login"]["mechanism"] == "CRAM-MD5" and auto["login"]["succeeded"] is True
    plain = imap(lab, port="imap", security="none", username=ALICE, password=lab.users[ALICE], auth_mechanism="PLAIN")
    assert fs.codes(plain) == [
        ("insecure_plaintext_connection", "warning"),
        ("plaintext_auth_before_tls", "warning"),
        ("cleartext_credentials", "warning"),
    ]


def test_accounts_sweep_with_bounded_concurrency(lab):
    accounts = [
        {"username": ALICE, "password": lab.users[ALICE]},
        {"username": "bob@example.test", "password": "wrong-pw"},
        {"username": "dave@example.test", "password": "x"},
        {"username": "carol@example.test", "oauth2_token": lab.oauth2_token("carol@example.test")},
    ]
    result = imap(lab, accounts=accounts, concurrency=2, source_address="127.0.0.13", timeout=8)
    assert [a["username"] for a in result["accounts"]] == [a["username"] for a in accounts]
    verdicts = {a["username"]: a["verdict"] for a in result["accounts"]}
    assert verdicts == {"alice@example.test": "ok", "bob@example.test": "error", "dave@example.test": "error",
                        "carol@example.test": "ok"}  # fmt: skip
    assert result["verdict"] == "error"
    assert result["findings"][-1]["code"] == "account_failures"
    assert result["findings"][-1]["message"] == "2 of 4 accounts did not pass: bob@example.test, dave@example.test"
    by_name = {a["username"]: a for a in result["accounts"]}
    assert by_name[ALICE]["login"] == {"attempted": True, "succeeded": True, "mechanism": "PLAIN"}
    assert by_name[ALICE]["findings"] == []
    assert [f["code"] for f in by_name["bob@example.test"]["findings"]] == ["auth_failed"]
    assert "wrong-pw" not in json.dumps(result)


@pytest.mark.parametrize(
    ("port", "security", "code", "message"),
    [
        ("pop3", "starttls", "wrong_protocol", "the server greets like POP3, not IMAP: '+OK Dovecot (Debian) ready.'"),
        ("pop3s", "tls", "wrong_protocol", "the server greets like POP3, not IMAP: '+OK Dovecot (Debian) ready.'"),
        ("imaps", "starttls", "tls_on_plaintext_port",
         "the server sent no plaintext greeting but completed a TLS handshake (TLSv1.3): port {port} expects "
         "implicit TLS"),
        ("smtp", "none", "wrong_protocol",
         "the server greets like SMTP, not IMAP: '220 mail.example.test ESMTP mailops.clients lab'"),
    ],
)  # fmt: skip
def test_wrong_protocol_and_tls_mismatch(lab, port, security, code, message):
    start = time.monotonic()
    result = imap(lab, port=port, security=security, timeout=1)
    assert fs.codes(result)[-1] == (code, "error")
    assert result["findings"][-1]["message"] == message.format(port=lab.ports[port])
    assert time.monotonic() - start < 2.5


POP3_GREETING = "the server greets like POP3, not IMAP: '+OK Dovecot (Debian) ready.'"
SMTP_GREETING = "the server greets like SMTP, not IMAP: '220 mail.example.test ESMTP mailops.clients lab'"
AS_POP3 = (
    "Port {{port}} serves POP3, not IMAP. To check it as POP3, set protocol pop3 with security {0} "
    "(mailops.clients.pop3_server_info; inventory: incoming.protocol pop3, incoming.security {0}). "
    "To check IMAP instead, use its port: usually 993 with security tls, or 143 with security starttls."
)
AS_SMTP = (
    "Port {port} serves SMTP, not IMAP. To check it as SMTP, use mailops.clients.smtp_server_info with security "
    "starttls (inventory: the outgoing server, outgoing.security starttls). To check IMAP instead, use its port: "
    "usually 993 with security tls, or 143 with security starttls."
)


@pytest.mark.parametrize(
    ("port", "security", "expected"),
    [
        # POP3 ports declared as IMAP, whatever the security: which protocol answered, and what to set
        ("pop3", "tls", ("wrong_protocol", "tls", POP3_GREETING, AS_POP3.format("starttls"))),
        ("pop3", "starttls", ("wrong_protocol", "banner", POP3_GREETING, AS_POP3.format("starttls"))),
        ("pop3", "none", ("wrong_protocol", "banner", POP3_GREETING, AS_POP3.format("starttls"))),
        ("pop3s", "tls", ("wrong_protocol", "banner", POP3_GREETING, AS_POP3.format("tls"))),
        ("pop3s", "starttls", ("wrong_protocol", "banner", POP3_GREETING, AS_POP3.format("tls"))),
        ("smtp", "none", ("wrong_protocol", "banner", SMTP_GREETING, AS_SMTP)),
        # the right protocol with the wrong security
        ("imaps", "starttls", ("tls_on_plaintext_port", "banner",
                               "the server sent no plaintext greeting but completed a TLS handshake (TLSv1.3): "
                               "port {port} expects implicit TLS",
                               "Use security tls for port {port}, or IMAP's STARTTLS port (usually 143) with security "
                               "starttls.")),
        ("imap", "tls", ("plaintext_on_tls_port", "tls",
                         "security is tls, but the server sent a plaintext IMAP greeting: '* OK [CAPABILITY IMAP4rev1 "
                         "SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 "
                         "...'",
                         "Port {port} speaks plaintext IMAP: use security starttls for it (none only if it offers no "
                         "STARTTLS), or IMAP's implicit TLS port (usually 993) with security tls.")),
    ],
)  # fmt: skip
def test_a_port_answering_otherwise_gets_advice_that_points_the_right_way(lab, port, security, expected):
    result = imap(lab, port=port, security=security, timeout=2)
    found = result["findings"][-1]
    assert (found["code"], found["severity"], found["stage"], found["message"], found["fix"]) == (
        expected[0], "error", expected[1], *(text.format(port=lab.ports[port]) for text in expected[2:])
    )  # fmt: skip


def test_another_service_on_the_port_gets_no_mail_advice():
    with fs.FaultServer(fs.greeting("SSH-2.0-OpenSSH_9.2p1 Debian-2")) as server:
        result = fs.check("imap", host="127.0.0.1", port=server.port, security="starttls", timeout=1)
    assert [(f["code"], f["fix"]) for f in result["findings"]] == [
        ("wrong_protocol", f"Port {server.port} serves SSH, not IMAP. No mail client speaks SSH: the port number is "
         "wrong. To check IMAP instead, use its port: usually 993 with security tls, or 143 with security starttls.")
    ]  # fmt: skip


def test_plaintext_on_tls_port(lab):
    result = imap(lab, port="imap", security="tls")
    assert fs.codes(result) == [("plaintext_on_tls_port", "error")]
    assert result["findings"][0]["message"].startswith(
        "security is tls, but the server sent a plaintext IMAP greeting: '* OK [CAPABILITY IMAP4rev1"
    )
    assert result["tls"] is None


def test_certificate_name_trust_and_no_verification(lab):
    wrong = imap(lab, server_name="imap.other.test")
    assert fs.codes(wrong) == [("cert_hostname_mismatch", "error")]
    assert wrong["findings"][0]["message"] == (
        "the server certificate does not cover 'imap.other.test' (names in the certificate: DNS:mail.example.test, "
        "DNS:localhost, IP:127.0.0.1)"
    )
    assert wrong["certificate"]["hostname_matches"] is False and wrong["certificate"]["chain_verified"] is False
    system_store = imap(lab, ca_path=None)
    assert fs.codes(system_store) == [("cert_untrusted", "error")]
    assert system_store["findings"][0]["message"] == (
        "the certificate chain does not lead to a trusted CA (issuer CN=mailops.clients lab CA): "
        "unable to get local issuer certificate"
    )
    unverified = imap(lab, ca_path=None, validate_certs=False, server_name="imap.other.test")
    assert fs.codes(unverified) == [("cert_hostname_mismatch", "warning"), ("cert_not_verified", "warning")]


def test_connection_refused_and_dns_failure(lab):
    with fs.FaultServer(fs.silent) as server:
        closed_port = server.port
    refused = imap(lab, port=closed_port)
    assert fs.codes(refused) == [("connection_refused", "error")]
    assert refused["findings"][0]["message"] == f"127.0.0.1 port {closed_port} refused the connection (127.0.0.1)"
    # A host name with a space fails inside the resolver library without a DNS query (no traffic leaves).
    dns = imap(lab, host="mail example.test")
    assert fs.codes(dns) == [("dns_failure", "error")]
    assert dns["findings"][0]["message"] == "cannot resolve host name 'mail example.test': Name or service not known"
    assert dns["timings_ms"]["banner"] is None


# --- a second Dovecot with broken certificates (chosen by SNI) --------------------------------------


@pytest.fixture(scope="module")
def broken(lab):
    sni = {fs.BROKEN_NAMES[case]: pair for case, pair in fs.broken_certificates(lab).items()}
    with fs.broken_dovecot(lab, sni_certs=sni) as dovecot:
        yield dovecot


@pytest.mark.parametrize(
    ("case", "expected", "message"),
    [
        ("expired", [("cert_expired", "error")], r"the server certificate expired on \S+Z \(3 days ago\)"),
        ("not_yet_valid", [("cert_not_yet_valid", "error")], r"the server certificate is not valid before \S+Z"),
        ("wrong_host", [("cert_hostname_mismatch", "error")],
         r"the server certificate does not cover 'wronghost.example.test' \(names in the certificate: "
         r"DNS:other.example.test\)"),
        ("self_signed", [("cert_self_signed", "error")],
         r"the server certificate is self-signed \(CN=selfsigned.example.test\)"),
        ("other_ca", [("cert_untrusted", "error")],
         r"the certificate chain does not lead to a trusted CA \(issuer CN=some other CA\): "
         r"unable to get local issuer certificate"),
        ("expiring_soon", [("cert_expiring_soon", "warning")],
         r"the server certificate expires on \S+Z, in 5 days \(warning threshold 30 days\)"),
    ],
)  # fmt: skip
@pytest.mark.parametrize(("port", "security"), [("imaps", "tls"), ("imap", "starttls")])
def test_broken_certificates_on_a_real_dovecot(lab, broken, case, expected, message, port, security):
    result = fs.check(
        "imap",
        host="127.0.0.1",
        port=broken.ports[port],
        security=security,
        ca_path=lab.ca_path,
        server_name=fs.BROKEN_NAMES[case],
        timeout=5,
        username=ALICE,
        password=lab.users[ALICE],
        source_address="127.0.0.2",
    )
    assert fs.codes(result) == expected
    assert re.fullmatch(message, result["findings"][0]["message"])
    assert result["certificate"] is not None and result["tls"]["version"] == "TLSv1.3"
    # The password is never sent over a connection whose certificate failed.
    assert result["login"]["attempted"] is (case == "expiring_soon")


def test_expired_certificate_with_validate_certs_false_is_a_warning(lab, broken):
    result = fs.check(
        "imap",
        host="127.0.0.1",
        port=broken.ports["imaps"],
        validate_certs=False,
        server_name=fs.BROKEN_NAMES["expired"],
        timeout=5,
    )
    assert fs.codes(result) == [("cert_expired", "warning"), ("cert_not_verified", "warning")]
    assert result["findings"][0]["message"].endswith("(3 days ago) (not enforced: validate_certs is false)")
    assert result["certificate"]["days_left"] == -3


@pytest.fixture(scope="module")
def tls12_dovecot(lab):
    directory = tempfile.mkdtemp(prefix="mailops-openssl-")
    cert = fs.issue_cert(*fs.lab_ca(lab), ["mail.example.test"], ["127.0.0.1"])
    with fs.broken_dovecot(lab, extra_config=fs.tls12_only_config(directory), server_cert=cert) as dovecot:
        yield dovecot


@pytest.mark.parametrize(("port", "security"), [("imaps", "tls"), ("imap", "starttls")])
def test_tls_version_too_old_is_named_although_the_server_drops_without_alert(lab, tls12_dovecot, port, security):
    common = {"host": "127.0.0.1", "port": tls12_dovecot.ports[port], "security": security, "ca_path": lab.ca_path,
              "timeout": 5}  # fmt: skip
    assert fs.check("imap", **common)["tls"]["version"] == "TLSv1.2"
    result = fs.check("imap", tls_min_version="TLSv1.3", **common)
    assert fs.codes(result) == [("tls_version_too_old", "error")]
    assert result["findings"][0]["message"] == "the server negotiates at most TLSv1.2, below tls_min_version TLSv1.3"

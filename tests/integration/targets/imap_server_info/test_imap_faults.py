# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine against misbehaving servers (tests/support/faultservers.py): it must end within its
timeouts, read boundedly, and name the fault."""

from __future__ import annotations

import ssl
import tempfile
import time
import tracemalloc

import faultservers as fs
import pytest

pytestmark = pytest.mark.lab


def imap(server, **params):
    params.setdefault("security", "none")
    params.setdefault("timeout", 1)
    return fs.check("imap", host="127.0.0.1", port=server.port, **params)


def timed(func, *args, **kwargs):
    fs.check("imap", host="127.0.0.1", port=1, timeout=0.1)  # the engine's imports are not what is timed
    start = time.monotonic()
    result = func(*args, **kwargs)
    return result, time.monotonic() - start


def test_silent_server_ends_within_the_timeout_diagnostic_included():
    with fs.FaultServer(fs.silent) as server:
        result, elapsed = timed(imap, server, security="starttls")
    assert fs.codes(result) == [("banner_timeout", "error")]
    assert result["findings"][0]["message"] == "connected, but the server sent no greeting within 1s"
    # the TLS question ran on a second connection, side by side with the wait for the greeting
    assert server.connections == 2
    assert 1.0 <= elapsed <= 1.2
    assert result["timings_ms"]["capabilities"] is None


def test_a_slow_greeting_still_gets_the_whole_timeout_while_the_tls_question_runs():
    with fs.FaultServer(fs.delayed(fs.fake_imap("IMAP4rev1 AUTH=PLAIN"), 0.8)) as server:
        result, elapsed = timed(imap, server, security="none", timeout=1)
    assert fs.codes(result) == [("insecure_plaintext_connection", "warning"), ("cleartext_auth_only", "error")]
    assert server.connections == 2  # the side-by-side handshake was tried, and did not disturb this connection
    assert 0.8 <= elapsed < 1.2


def test_diagnostic_connections_after_a_failed_handshake_share_the_deadline():
    # Plaintext on the TLS port fails the handshake at once; the diagnostic connection that reads the
    # greeting then meets a drip, and the one that asks for an old TLS version has no time left.
    with fs.FaultServer(fs.drip(b"* OK a greeting that never ends ", burst=5)) as server:
        result, elapsed = timed(imap, server, security="tls", timeout=2)
    assert fs.codes(result) == [("tls_handshake_failed", "error")]
    assert (
        result["findings"][0]["message"] == "the TLS handshake failed: [SSL: WRONG_VERSION_NUMBER] wrong version number"
    )
    assert server.connections == 2
    assert elapsed <= 2 * 1.2


def test_silent_server_on_implicit_tls_is_a_tls_timeout():
    with fs.FaultServer(fs.silent) as server:
        result, elapsed = timed(imap, server, security="tls")
    assert fs.codes(result) == [("tls_timeout", "error")]
    assert result["findings"][0]["message"] == "the TLS handshake did not complete within 1s"
    assert elapsed < 1.5


def test_unterminated_greeting_is_garbage_after_the_timeout():
    with fs.FaultServer(fs.unterminated) as server:
        result, elapsed = timed(imap, server)
    assert fs.codes(result)[-1] == ("garbage_response", "error")
    assert result["findings"][-1]["message"] == "the server sent something that is not IMAP: 'this line never ends'"
    assert elapsed < 1.5


def test_slow_drip_greeting_cannot_extend_the_stage():
    with fs.FaultServer(fs.slow_drip) as server:
        result, elapsed = timed(imap, server)
    assert fs.codes(result)[-1] == ("banner_timeout", "error")
    assert elapsed < 2.5


def test_ten_megabyte_banner_is_refused_after_8_kib_without_buffering_it():
    with fs.FaultServer(fs.huge_banner) as server:
        tracemalloc.start()
        try:
            result, elapsed = timed(imap, server, timeout=5)
            _unused, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert fs.codes(result) == [("insecure_plaintext_connection", "warning"), ("response_too_long", "error")]
    assert result["findings"][1]["message"] == (
        "the server sent a line longer than the 8192-byte limit; reading stopped there"
    )
    assert result["findings"][1]["stage"] == "banner"
    assert peak < 2 * 1024 * 1024
    assert elapsed < 1


def test_endless_capability_reply_is_cut_at_1000_lines():
    with fs.FaultServer(fs.imap_many_lines) as server:
        result = imap(server, timeout=5)
    assert fs.codes(result)[-1] == ("response_too_long", "error")
    assert result["findings"][-1]["message"] == (
        "the server sent a reply longer than the 1000-line limit; reading stopped there"
    )
    assert result["findings"][-1]["stage"] == "capabilities"


def test_binary_garbage():
    with fs.FaultServer(fs.garbage) as server:
        result = imap(server)
    assert fs.codes(result)[-1] == ("garbage_response", "error")
    assert result["findings"][-1]["message"].startswith("the server sent something that is not IMAP: ")


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("hello, this is not a mail server", "garbage_response",
         "the server sent something that is not IMAP: 'hello, this is not a mail server'"),
        ("SSH-2.0-OpenSSH_9.2p1 Debian-2", "wrong_protocol",
         "the server greets like SSH, not IMAP: 'SSH-2.0-OpenSSH_9.2p1 Debian-2'"),
        ("* BYE Too many connections from your IP", "service_unavailable",
         "the server refused service in its greeting: '* BYE Too many connections from your IP'"),
    ],
)  # fmt: skip
def test_greetings_that_are_not_a_usable_imap_server(text, code, message):
    with fs.FaultServer(fs.greeting(text)) as server:
        result = imap(server)
    assert fs.codes(result)[-1] == (code, "error")
    assert result["findings"][-1]["message"] == message


def test_starttls_not_offered_never_falls_back_to_plaintext():
    with fs.FaultServer(fs.fake_imap("IMAP4rev1 AUTH=PLAIN")) as server:
        result = imap(server, security="starttls", username="alice", password="never-sent-pw")
    assert fs.codes(result) == [("starttls_not_offered", "error")]
    assert result["findings"][0]["message"] == (
        "security is starttls, but the server does not advertise STARTTLS; nothing was sent in plaintext"
    )
    assert result["findings"][0]["fix"] == (
        "Enable STARTTLS on the server (Dovecot: ssl = yes with a certificate; Postfix: smtpd_tls_security_level = "
        "may or encrypt), or use IMAP's implicit TLS port (usually 993) with security tls. Never fall back to "
        "plaintext."
    )
    assert result["login"]["attempted"] is False
    assert result["timings_ms"]["logout"] is not None


def test_starttls_refused_by_the_server():
    with fs.FaultServer(fs.fake_imap("IMAP4rev1 STARTTLS")) as server:
        result = imap(server, security="starttls")
    assert fs.codes(result) == [("starttls_failed", "error")]
    assert result["findings"][0]["message"] == "the server refused STARTTLS: 'BAD unexpected'"


def test_plaintext_only_server_with_password_login():
    with fs.FaultServer(fs.fake_imap("IMAP4rev1 AUTH=PLAIN")) as server:
        result = imap(server)
        mechanism = imap(server, username="alice", password="pw-1", auth_mechanism="CRAM-MD5")
        token = imap(server, username="alice", oauth2_token="tok-1")
    assert fs.codes(result) == [("insecure_plaintext_connection", "warning"), ("cleartext_auth_only", "error")]
    assert result["findings"][1]["message"] == (
        "the server offers password login (PLAIN, the LOGIN command) but no TLS on this port: passwords can only "
        "be sent unencrypted"
    )
    assert fs.codes(mechanism)[-1] == ("auth_mechanism_not_offered", "error")
    assert (
        mechanism["findings"][-1]["message"] == "auth_mechanism CRAM-MD5 is not offered by the server (offered: PLAIN)"
    )
    assert fs.codes(token)[-1] == ("no_common_auth_mechanism", "error")
    assert token["findings"][-1]["message"] == (
        "no offered mechanism fits the given credentials (offered: PLAIN; usable with a token: OAUTHBEARER, XOAUTH2)"
    )


def test_command_timeout_connection_closed_rejected_and_logout_failed():
    with fs.FaultServer(fs.greeting("* OK no capabilities here")) as server:
        silent = imap(server)
    assert fs.codes(silent)[-1] == ("command_timeout", "error")
    assert silent["findings"][-1]["message"] == "no complete answer to CAPABILITY within 1s"
    assert silent["findings"][-1]["stage"] == "capabilities"
    with fs.FaultServer(fs.greet_then_close("* OK bye at once")) as server:
        closed = imap(server)
    assert fs.codes(closed)[-1] == ("connection_closed", "error")
    assert closed["findings"][-1]["message"] == "the server closed the connection during the capabilities stage"
    with fs.FaultServer(fs.fake_imap(greeting_caps=False, reject=True)) as server:
        rejected = imap(server)
    assert fs.codes(rejected)[-1] == ("command_rejected", "error")
    assert rejected["findings"][-1]["message"] == "the server rejected CAPABILITY: 'BAD unexpected'"
    with fs.FaultServer(fs.fake_imap("IMAP4rev1 LOGINDISABLED STARTTLS", logout_reply="NO busy")) as server:
        logout = imap(server)
    assert fs.codes(logout) == [
        ("insecure_plaintext_connection", "warning"),
        ("login_disabled", "info"),
        ("logout_failed", "warning"),
    ]
    assert logout["findings"][-1]["message"] == "the session did not end cleanly: LOGOUT answered NO busy"


def test_tls_handshake_failure_is_named_with_openssls_reason(mail_lab):
    directory = tempfile.mkdtemp(prefix="mailops-fault-tls-")
    cert, key = fs.issue_cert(*fs.lab_ca(mail_lab), ["mail.example.test"])
    context = fs.server_context(cert, key, directory, maximum=ssl.TLSVersion.TLSv1_2)
    context.set_ciphers("AES128-SHA")  # RSA key exchange: impossible with the EC key, no shared cipher
    with fs.FaultServer(fs.fake_imap(), tls_context=context) as server:
        result = imap(server, security="tls", ca_path=mail_lab.ca_path, server_name="mail.example.test")
    assert fs.codes(result) == [("tls_handshake_failed", "error")]
    assert result["findings"][0]["message"] == (
        "the TLS handshake failed: [SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure"
    )


def test_implicit_tls_server_reached_with_plaintext_settings(mail_lab):
    directory = tempfile.mkdtemp(prefix="mailops-fault-tls-")
    cert, key = fs.issue_cert(*fs.lab_ca(mail_lab), ["mail.example.test"])
    with fs.FaultServer(fs.fake_imap(), tls_context=fs.server_context(cert, key, directory)) as server:
        result, elapsed = timed(imap, server, security="none")
    assert fs.codes(result)[-1] == ("tls_on_plaintext_port", "error")
    assert result["findings"][-1]["message"] == (
        f"the server sent no plaintext greeting but completed a TLS handshake (TLSv1.3): port {server.port} "
        "expects implicit TLS"
    )
    # the side-by-side handshake answers two thirds into the timeout
    assert elapsed < 0.9


def test_full_accept_queue_is_a_connect_timeout():
    # A listener that never accepts, with its backlog filled: Linux drops further SYNs, as a firewall would.
    listener = fs.socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _unused in range(4):
            filler = fs.socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.2)
        result, elapsed = timed(fs.check, "imap", host="127.0.0.1", port=port, timeout=1)
    finally:
        for sock in [*fillers, listener]:
            sock.close()
    assert fs.codes(result) == [("connect_timeout", "error")]
    assert result["findings"][0]["message"] == f"no TCP connection to 127.0.0.1 port {port} within 1s"
    assert elapsed < 1.5


def test_connect_failed_names_the_network_error():
    # An IPv6 destination with an IPv4 source address: the network stack refuses before any packet is sent.
    result = fs.check("imap", host="::1", port=993, timeout=1, source_address="127.0.0.2")
    assert fs.codes(result) == [("connect_failed", "error")]
    assert (
        result["findings"][0]["message"] == "cannot connect to ::1 port 993: Address family for hostname not supported"
    )


def test_accounts_are_not_tried_when_the_endpoint_fails():
    with fs.FaultServer(fs.silent) as server:
        port = server.port
    result = fs.check("imap", host="127.0.0.1", port=port, accounts=[{"username": "a", "password": "pw-a"}])
    assert fs.codes(result) == [("connection_refused", "error"), ("account_failures", "error")]
    [account] = result["accounts"]
    assert account["username"] == "a" and account["verdict"] == "error"
    assert account["login"] == {"attempted": False, "succeeded": False, "mechanism": None}
    assert sorted(account) == ["findings", "login", "username", "verdict"]
    assert [(f["code"], f["message"]) for f in account["findings"]] == [
        ("account_not_checked", "not checked: the endpoint itself failed (connection_refused)")
    ]


def old_tls_context(mail_lab):
    cert, key = fs.issue_cert(*fs.lab_ca(mail_lab), ["mail.example.test"])
    context = fs.server_context(cert, key, tempfile.mkdtemp(prefix="mailops-fault-tls-"))
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = ssl.TLSVersion["TLSv1"]
    context.maximum_version = ssl.TLSVersion["TLSv1_1"]
    return context


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")  # the old server is the point
def test_tls_1_1_server(mail_lab):
    with fs.FaultServer(fs.fake_imap(), tls_context=old_tls_context(mail_lab)) as server:
        common = {"host": "127.0.0.1", "port": server.port, "security": "tls", "timeout": 2,
                  "ca_path": mail_lab.ca_path, "server_name": "mail.example.test"}  # fmt: skip
        default = fs.check("imap", **common)
        allowed = fs.check("imap", tls_min_version="TLSv1", **common)
    assert fs.codes(default) == [("tls_version_too_old", "error")]
    assert default["findings"][0]["message"] == "the server negotiates at most TLSv1.1, below tls_min_version TLSv1.2"
    assert fs.codes(allowed) == [("tls_version_deprecated", "warning")]
    assert allowed["findings"][0]["message"] == "the connection uses TLSv1.1, deprecated by RFC 8996"
    assert allowed["tls"]["version"] == "TLSv1.1"


def test_each_login_of_a_sweep_gets_its_own_timeout():
    accounts = [{"username": f"user{n}", "password": f"pw-{n}"} for n in range(3)]
    with fs.FaultServer(fs.imap_slow_login(0.6)) as server:
        result, elapsed = timed(imap, server, timeout=1, accounts=accounts, concurrency=1)
    # three logins of 0.6 s each, one after the other: longer than one timeout, and none of them timed out
    assert elapsed >= 1.8
    assert [(a["username"], a["login"]["succeeded"]) for a in result["accounts"]] == [
        ("user0", True), ("user1", True), ("user2", True)
    ]  # fmt: skip
    assert not any(f["code"] == "command_timeout" for a in result["accounts"] for f in a["findings"])

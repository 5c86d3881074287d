# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Credential sweeps against a small IMAPS server on 127.0.0.1: what the probes of one run share, and the
shape of each account's result."""

from __future__ import annotations

import json
import socket
import threading

import faultservers as fs
import pytest
from ansible_collections.mailops.clients.plugins.module_utils._accounts import account_result, sweep
from ansible_collections.mailops.clients.plugins.module_utils._connection import validate
from ansible_collections.mailops.clients.plugins.module_utils._findings import make_finding
from ansible_collections.mailops.clients.plugins.module_utils._probe import Endpoint, Outcome, run_checks
from ansible_collections.mailops.clients.plugins.module_utils._tls import CertificateParseError
from cryptography import x509
from cryptography.hazmat.primitives import serialization

CAPS = "IMAP4rev1 SASL-IR AUTH=PLAIN"
ACCOUNTS = [{"username": f"user{n}@example.test", "password": f"secret-{n}"} for n in range(6)]


def imaps(on_connect=None):
    """Greeting with capabilities, AUTHENTICATE PLAIN (initial response) accepted, LOGOUT."""

    def behaviour(conn, stopping):
        if on_connect is not None:
            on_connect()
        conn.sendall(f"* OK [CAPABILITY {CAPS}] fake ready\r\n".encode())
        for line in fs._lines(conn):
            tag, _unused, command = line.partition(" ")
            word = command.split(" ", 1)[0].upper()
            if word == "AUTHENTICATE":
                conn.sendall(f"{tag} OK [CAPABILITY {CAPS}] logged in\r\n".encode())
            elif word == "LOGOUT":
                conn.sendall(f"* BYE bye\r\n{tag} OK done\r\n".encode())
                return
            else:
                conn.sendall(f"{tag} BAD unexpected\r\n".encode())

    return behaviour


@pytest.fixture
def pki(tmp_path):
    """A CA file and a server context for localhost / 127.0.0.1 issued by it."""
    ca_cert, ca_key = fs.make_ca("Sweep test CA")
    cert, key = fs.issue_cert(ca_cert, ca_key, ["localhost"], ["127.0.0.1"])
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca_cert)
    return ca_file, fs.server_context(cert, key, tmp_path / "server")


def run_sweep(host, port, ca_file, concurrency=3):
    params = {"host": host, "port": port, "ca_path": str(ca_file), "timeout": 5}
    params.update(accounts=ACCOUNTS, concurrency=concurrency)
    return run_checks(validate(params, "imap"))


def test_a_sweep_reads_the_ca_once(pki):
    """Once the endpoint is probed, the CA file is no longer read: every account uses the same context."""
    ca_file, server_tls = pki

    def spoil_the_ca():
        ca_file.write_text("not a certificate any more")

    with fs.FaultServer(imaps(on_connect=spoil_the_ca), tls_context=server_tls) as server:
        result = run_sweep("127.0.0.1", server.port, ca_file)
        connections = server.connections
    assert (result["verdict"], result["findings"]) == ("ok", [])
    assert [(a["username"], a["verdict"]) for a in result["accounts"]] == [(a["username"], "ok") for a in ACCOUNTS]
    assert connections == 1 + len(ACCOUNTS)
    assert result["certificate"]["chain_verified"] is True


def test_each_account_handshake_is_still_verified(pki, tmp_path):
    """A shared context still verifies: a CA that did not issue the server certificate fails every probe."""
    _unused, server_tls = pki
    other_ca, _unused = fs.make_ca("Another CA")
    other = tmp_path / "other-ca.pem"
    other.write_bytes(other_ca)
    with fs.FaultServer(imaps(), tls_context=server_tls) as server:
        result = run_sweep("127.0.0.1", server.port, other)
    assert [f["code"] for f in result["findings"]] == ["cert_untrusted", "account_failures"]
    assert {a["verdict"] for a in result["accounts"]} == {"error"}
    assert {a["findings"][0]["code"] for a in result["accounts"]} == {"account_not_checked"}


@pytest.fixture
def lookups(monkeypatch):
    """Every getaddrinfo call of the engine: (host, flags, thread name); the real resolver still answers."""
    calls = []
    real = socket.getaddrinfo

    def counting(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 - socket's own signature
        calls.append((host, flags, threading.current_thread().name))
        return real(host, port, family, type, proto, flags)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    return calls


def test_a_sweep_resolves_a_host_name_once(pki, lookups):
    ca_file, server_tls = pki
    with fs.FaultServer(imaps(), tls_context=server_tls) as server:
        result = run_sweep("localhost", server.port, ca_file)
    assert {a["verdict"] for a in result["accounts"]} == {"ok"}
    assert [(host, thread) for host, _unused, thread in lookups] == [("localhost", "mailops-resolve")]


def test_an_address_literal_needs_no_resolver_thread(pki, lookups):
    ca_file, server_tls = pki
    with fs.FaultServer(imaps(), tls_context=server_tls) as server:
        result = run_sweep("127.0.0.1", server.port, ca_file, concurrency=1)
    assert {a["verdict"] for a in result["accounts"]} == {"ok"}
    assert len(lookups) == 1
    [(host, flags, thread)] = lookups
    assert (host, bool(flags & socket.AI_NUMERICHOST), thread) == ("127.0.0.1", True, "MainThread")


def test_a_sweep_returns_small_secret_free_account_entries(pki):
    ca_file, server_tls = pki
    with fs.FaultServer(imaps(), tls_context=server_tls) as server:
        result = run_sweep("127.0.0.1", server.port, ca_file)
    assert result["accounts"][0] == {
        "username": "user0@example.test",
        "verdict": "ok",
        "findings": [],
        "login": {"attempted": True, "succeeded": True, "mechanism": "PLAIN"},
    }
    text = json.dumps(result)
    assert not [a["password"] for a in ACCOUNTS if a["password"] in text]


def test_accounts_are_not_checked_when_the_endpoint_failed():
    settings = validate({"host": "h", "accounts": ACCOUNTS[:2]}, "imap")
    refused = make_finding("connection_refused", host="h", port=993, address="h")
    failed = Outcome(settings=settings, findings=[refused])

    def never(credentials):
        raise AssertionError(f"{credentials.username} must not be probed")

    entries = sweep(settings, failed, never)
    assert entries == [
        {
            "username": a["username"],
            "verdict": "error",
            "findings": [
                {
                    "code": "account_not_checked",
                    "severity": "error",
                    "stage": "auth",
                    "message": "not checked: the endpoint itself failed (connection_refused)",
                    "fix": "Fix the endpoint findings first; the accounts are checked once a connection works.",
                }
            ],
            "login": {"attempted": False, "succeeded": False, "mechanism": None},
        }
        for a in ACCOUNTS[:2]
    ]


@pytest.mark.parametrize(
    ("severities", "expected"),
    [((), "ok"), (("warning",), "warning"), (("warning", "error"), "error"), (("info",), "ok")],
)
def test_account_result_verdict_is_the_worst_finding(severities, expected):
    findings = [
        make_finding("auth_failed", severity=severity, username="u", mechanism="PLAIN", reply="NO")
        for severity in severities
    ]
    login = {"attempted": True, "succeeded": not severities, "mechanism": "PLAIN", "username": "u"}
    entry = account_result("u", findings, login)
    assert entry["verdict"] == expected
    assert entry["login"] == {"attempted": True, "succeeded": not severities, "mechanism": "PLAIN"}


def test_an_endpoint_reads_each_certificate_once_and_never_keeps_a_bad_one(pki):
    ca_file, _unused = pki
    ca_cert, ca_key = fs.make_ca("Parse test CA")
    ders = [
        x509.load_pem_x509_certificate(fs.issue_cert(ca_cert, ca_key, [name])[0]).public_bytes(
            serialization.Encoding.DER
        )
        for name in ("a.example.test", "b.example.test")
    ]
    endpoint = Endpoint(validate({"host": "a.example.test", "ca_path": str(ca_file)}, "imap"))
    first = endpoint.parse_certificate(ders[0])
    assert endpoint.parse_certificate(ders[0]) is first
    assert endpoint.parse_certificate(ders[1]).sans == ["DNS:b.example.test"]
    assert first.sans == ["DNS:a.example.test"]
    for _unused in range(2):
        with pytest.raises(CertificateParseError, match="^cannot read the server certificate: "):
            endpoint.parse_certificate(b"\x30\x03\x02\x01")

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine's Wire over a real socket pair (bounded lines, bounded replies, deadlines, garbage), and the
engine's one STARTTLS sequence against small fault servers on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time

import faultservers as fs
import pytest
from ansible_collections.mailops.clients.plugins.module_utils._connection import validate
from ansible_collections.mailops.clients.plugins.module_utils._errors import (
    ConnectionClosed,
    ProtocolError,
    StageTimeout,
)
from ansible_collections.mailops.clients.plugins.module_utils._wire import MAX_LINE, MAX_LINES, Wire, _looks_binary


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def wire(sock, stage="banner", timeout=0.5):
    w = Wire(sock, validate({"host": "mail.example.test", "timeout": timeout}, "imap"), secrets=["s3cret"])
    w.begin(stage)
    return w


def test_read_line_strips_crlf_and_keeps_the_rest_buffered(pair):
    ours, theirs = pair
    theirs.sendall(b"* OK ready\r\nA1 OK done\nrest")
    w = wire(ours)
    assert w.read_line() == "* OK ready"
    assert w.read_line() == "A1 OK done"
    assert bytes(w.buf) == b"rest"


def test_line_longer_than_limit_is_refused_without_reading_more(pair):
    ours, theirs = pair
    theirs.sendall(b"* OK " + b"A" * (3 * MAX_LINE))
    w = wire(ours)
    with pytest.raises(ProtocolError) as caught:
        w.read_line()
    assert caught.value.code == "response_too_long"
    assert str(caught.value) == "the server sent a line longer than the 8192-byte limit; reading stopped there"
    assert len(w.buf) <= MAX_LINE + 4096


def test_reply_with_too_many_lines_is_refused(pair):
    ours, theirs = pair
    theirs.sendall(b"* x\r\n" * (MAX_LINES + 5))
    w = wire(ours, stage="capabilities")
    with pytest.raises(ProtocolError, match="^the server sent a reply longer than the 1000-line limit"):
        for _unused in range(MAX_LINES + 5):
            w.read_line()


@pytest.mark.parametrize(
    ("stage", "code", "message"),
    [
        ("banner", "banner_timeout", "connected, but the server sent no greeting within 0.3s"),
        ("tls", "tls_timeout", "the TLS handshake did not complete within 0.3s"),
        ("capabilities", "command_timeout", "no complete answer to CAPABILITY within 0.3s"),
    ],
)
def test_silence_ends_at_the_stage_deadline(pair, stage, code, message):
    ours, _unused = pair
    w = wire(ours, stage=stage, timeout=0.3)
    if stage == "capabilities":
        w.send_command("A1 CAPABILITY", "CAPABILITY")
    start = time.monotonic()
    with pytest.raises(StageTimeout) as caught:
        w.read_line()
    assert 0.25 < time.monotonic() - start < 0.6
    assert (caught.value.code, caught.value.stage, str(caught.value)) == (code, stage, message)


@pytest.mark.parametrize("drop", [b"x", b"* x\r\n"], ids=["bytes without a line end", "whole lines"])
def test_a_trickle_cannot_extend_the_stage(pair, drop):
    # Something every 50 ms for 2 s: each recv succeeds, and with whole lines each read_line too, so only a
    # deadline fixed when the stage began ends the stage at 0.4 s.  A deadline renewed by each recv, or by each
    # line read, would last until the trickle stops (2 s).
    ours, theirs = pair
    stop = threading.Event()

    def trickle():
        for _unused in range(40):
            if stop.wait(0.05):
                return
            theirs.sendall(drop)

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    w = wire(ours, timeout=0.4)
    lines = 0
    start = time.monotonic()
    try:
        with pytest.raises(StageTimeout, match="^connected, but the server sent no greeting within 0.4s$"):
            for _unused in range(100):  # at most 40 lines come
                w.read_line()
                lines += 1
        elapsed = time.monotonic() - start
    finally:
        stop.set()
        sender.join(1)
    assert 0.4 <= elapsed < 0.6
    assert max(lines, len(w.buf)) >= 4  # the trickle really arrived while the stage ran


def test_the_probe_deadline_caps_every_stage(pair):
    ours, theirs = pair
    w = Wire(ours, validate({"host": "mail.example.test", "timeout": 5}, "imap"), limit=time.monotonic() + 0.3)
    w.begin("capabilities")
    start = time.monotonic()
    with pytest.raises(StageTimeout, match="^no complete answer to capabilities within 5s$"):
        w.read_line()
    assert 0.3 <= time.monotonic() - start < 0.5
    w.limit = None
    w.begin("logout")
    assert w.deadline - time.monotonic() > 4.5


def test_binary_bytes_are_garbage(pair):
    ours, theirs = pair
    theirs.sendall(b"\x16\x03\x01\x02\x00\x01\x00")
    with pytest.raises(ProtocolError) as caught:
        wire(ours).read_line()
    assert caught.value.code == "garbage_response"
    assert str(caught.value).startswith("the server sent something that is not IMAP: ")


@pytest.mark.parametrize("byte", range(256))
def test_a_control_character_other_than_tab_lf_cr_is_binary(byte):
    expected = (byte < 0x20 and byte not in (9, 10, 13)) or byte == 0x7F
    assert _looks_binary(b"* OK " + bytes([byte]) + b" ready") is expected
    assert _looks_binary(bytearray(b"x" * 63 + bytes([byte]))) is expected


def test_only_the_first_64_bytes_are_looked_at():
    assert _looks_binary(b"x" * 64 + b"\x00") is False
    assert _looks_binary(bytearray(b"x" * 63 + b"\x00")) is True


def test_closed_connection(pair):
    ours, theirs = pair
    theirs.close()
    with pytest.raises(ConnectionClosed, match="^the server closed the connection during the banner stage$"):
        wire(ours).read_line()


def test_excerpt_hides_registered_secrets(pair):
    ours, _unused = pair
    w = wire(ours)
    w.remember_secret("QUJD")
    assert w.excerpt("NO s3cret QUJD wrong") == "NO <hidden> <hidden> wrong"


@pytest.mark.parametrize(
    ("protocol", "before_tls"),
    [("imap", ["STARTTLS"]), ("pop3", ["CAPA", "STLS"]), ("smtp", ["EHLO", "STARTTLS"])],
)
def test_the_diagnostic_connection_takes_the_probes_own_starttls_sequence(tmp_path, protocol, before_tls):
    # The handshake fails verification (a self-signed certificate), so the engine reads the certificate again over
    # a second, unverified connection: the same greeting, capabilities and STARTTLS command as the probe's own.
    cert, key = fs.issue_cert(None, None, ["selfsigned.example.test"])
    behaviour = fs.starttls_with(protocol, fs.server_context(cert, key, tmp_path))
    with fs.FaultServer(behaviour) as server:
        result = fs.check(
            protocol,
            host="127.0.0.1",
            port=server.port,
            security="starttls",
            server_name="selfsigned.example.test",
            timeout=5,
        )
    assert [(f["code"], f["message"]) for f in result["findings"]] == [
        ("cert_self_signed", "the server certificate is self-signed (CN=selfsigned.example.test)")
    ]
    assert result["certificate"]["subject"] == "CN=selfsigned.example.test"
    assert behaviour.commands == [before_tls, before_tls]

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Broken mail servers for the validation tests: what a healthy lab cannot show.

* ``FaultServer``: a small threaded TCP server on 127.0.0.1 with one behaviour per instance (silent,
  garbage, a 10 MB banner, another protocol's greeting, a minimal IMAP without STARTTLS, implicit TLS
  on a port the client treats as plaintext, ...).
* ``broken_dovecot``: a second, real Dovecot (``MailLab(services=("dovecot",))``) that serves
  certificates chosen by SNI (expired, not yet valid, for another host, self-signed, from another CA),
  or that is capped at TLS 1.2 through an OpenSSL configuration.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import random
import shutil
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path

from maillab import BASE_PORTS, MailLab, issue_cert, make_ca

# --------------------------------------------------------------------------------------------
# Python fault servers


class FaultServer:
    """Accepts connections on 127.0.0.1:<free port> and runs ``behaviour(sock)`` for each one.

    ``tls_context`` wraps each accepted socket first (implicit TLS). Connections are closed when the
    behaviour returns or the server stops; ``stop()`` joins every thread (bounded).
    """

    def __init__(self, behaviour, tls_context=None):
        self.behaviour = behaviour
        self.tls_context = tls_context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.threads = []
        self.connections = 0
        self.accepter = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self):
        self.accepter.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _unused = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn):
        conn.settimeout(10)
        try:
            if self.tls_context is not None:
                conn = self.tls_context.wrap_socket(conn, server_side=True)
            self.behaviour(conn, self.stopping)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def stop(self):
        self.stopping.set()
        self.accepter.join(5)
        for thread in self.threads:
            thread.join(5)
        self.listener.close()


def silent(conn, stopping):
    """Accept and never say anything (until the client gives up or the server stops)."""
    while not stopping.is_set():
        try:
            if not conn.recv(1024):
                return
        except socket.timeout:
            continue


def garbage(conn, stopping):
    """Binary noise instead of a greeting."""
    rng = random.Random(7)
    conn.sendall(bytes(rng.getrandbits(8) for _unused in range(4096)))
    silent(conn, stopping)


def huge_banner(conn, stopping, size=10 * 1024 * 1024):
    """A 10 MB greeting line without a line end; counts how much the client really read."""
    chunk = b"* OK " + b"A" * 65531
    sent = 0
    while sent < size and not stopping.is_set():
        try:
            conn.sendall(chunk)
        except OSError:
            return
        sent += len(chunk)
    silent(conn, stopping)


def greeting(text):
    """Say one greeting line, then stay silent (another protocol on the port)."""

    def behaviour(conn, stopping):
        conn.sendall(text.encode() + b"\r\n")
        silent(conn, stopping)

    return behaviour


def delayed(behaviour, delay):
    """``behaviour`` after ``delay`` seconds of silence (a slow server, or postscreen's greeting delay)."""

    def run(conn, stopping):
        if not stopping.wait(delay):
            behaviour(conn, stopping)

    return run


def _lines(conn):
    buf = b""
    while True:
        data = conn.recv(4096)
        if not data:
            return
        buf += data
        while b"\r\n" in buf:
            line, buf = buf.split(b"\r\n", 1)
            yield line.decode()


def imap_without_starttls(conn, stopping):
    """A minimal IMAP server whose capabilities lack STARTTLS (and offer plaintext LOGIN)."""
    conn.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake ready\r\n")
    for line in _lines(conn):
        tag, _unused, command = line.partition(" ")
        command = command.upper()
        if command == "CAPABILITY":
            conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag.encode() + b" OK done\r\n")
        elif command == "LOGOUT":
            conn.sendall(b"* BYE bye\r\n" + tag.encode() + b" OK done\r\n")
            return
        else:
            conn.sendall(tag.encode() + b" BAD unexpected\r\n")


def imap_many_lines(conn, stopping):
    """A greeting without capabilities, then a CAPABILITY reply that never ends (bounded line count)."""
    conn.sendall(b"* OK fake ready\r\n")
    for line in _lines(conn):
        if line.upper().endswith("CAPABILITY"):
            with contextlib.suppress(OSError):
                for _unused in range(5000):
                    conn.sendall(b"* CAPABILITY IMAP4rev1\r\n")
            silent(conn, stopping)
            return


def unterminated(conn, stopping):
    """Printable text without a line end, then silence."""
    conn.sendall(b"this line never ends")
    silent(conn, stopping)


def slow_drip(conn, stopping):
    """One byte of a greeting every 0.3 s: each recv succeeds, the stage deadline must still end it."""
    for byte in b"* OK this greeting takes forever\r\n":
        if stopping.is_set():
            return
        conn.sendall(bytes([byte]))
        time.sleep(0.3)


def drip(data, interval=1.0, limit=600, burst=0):
    """Send ``data`` one byte every ``interval`` seconds, cycling, never a line end: a server that never
    finishes anything (at most ``limit`` bytes, and only until the server stops).  ``burst``: bytes sent
    at once first."""

    def behaviour(conn, stopping):
        conn.sendall(data[:burst])
        for index in range(burst, limit):
            if stopping.wait(0 if index == burst else interval):
                return
            conn.sendall(data[index % len(data) : index % len(data) + 1])

    return behaviour


# A TLS handshake record header announcing 16 KiB that never arrive, then its body one byte at a time.
TLS_RECORD_START = b"\x16\x03\x03\x40\x00\x02\x00\x3f\xfc\x03\x03"

# What each protocol says up to the STARTTLS reply: greeting, capabilities, the STARTTLS command and its answer.
_STARTTLS_DIALOGUE = {
    "imap": ("* OK [CAPABILITY IMAP4rev1 STARTTLS] fake ready", {"STARTTLS": "{tag} OK begin TLS now"}),
    "pop3": ("+OK fake ready", {"CAPA": "+OK\r\nSTLS\r\n.", "STLS": "+OK begin TLS now"}),
    "smtp": ("220 fake.example.test ESMTP", {"EHLO": "250-fake.example.test\r\n250 STARTTLS", "STARTTLS": "220 go"}),
}


def starttls_then_stall(protocol):
    """Greet, offer and accept STARTTLS, then read the ClientHello and never answer it (a stalled handshake)."""
    greeting_line, replies = _STARTTLS_DIALOGUE[protocol]

    def behaviour(conn, stopping):
        conn.sendall(greeting_line.encode() + b"\r\n")
        for line in _lines(conn):
            words = line.split()
            if protocol == "imap" and len(words) >= 2:
                tag, word = words[0], words[1].upper()
            else:
                tag, word = "", (words[0].upper() if words else "")
            reply = replies.get(word)
            if reply is None:
                conn.sendall((f"{tag} BAD unexpected" if protocol == "imap" else "500 unexpected").encode() + b"\r\n")
                continue
            conn.sendall(reply.format(tag=tag).encode() + b"\r\n")
            if word in ("STARTTLS", "STLS"):
                silent(conn, stopping)
                return

    return behaviour


def starttls_with(protocol, context):
    """Greet, offer and accept STARTTLS, complete the handshake with ``context``, then stay silent; records the
    commands each connection sent before the handshake in ``behaviour.commands`` (one list per connection)."""
    greeting_line, replies = _STARTTLS_DIALOGUE[protocol]

    def behaviour(conn, stopping):
        commands = []
        behaviour.commands.append(commands)
        conn.sendall(greeting_line.encode() + b"\r\n")
        for line in _lines(conn):
            words = line.split()
            tag, word = (words[0], words[1].upper()) if protocol == "imap" else ("", words[0].upper())
            commands.append(word)
            conn.sendall(replies[word].format(tag=tag).encode() + b"\r\n")
            if word in ("STARTTLS", "STLS"):
                with context.wrap_socket(conn, server_side=True) as tls:
                    silent(tls, stopping)
                return

    behaviour.commands = []
    return behaviour


def tls_record_then_stall(conn, stopping):
    """Read the ClientHello, answer with the start of a handshake record, then say nothing more."""
    with contextlib.suppress(socket.timeout):
        conn.recv(4096)
    conn.sendall(TLS_RECORD_START)
    silent(conn, stopping)


# --------------------------------------------------------------------------------------------
# Certificates


def lab_ca(mail_lab):
    return Path(mail_lab.ca_path).read_bytes(), Path(mail_lab.ca_key_path).read_bytes()


def server_context(cert_pem, key_pem, directory, maximum=None):
    """A server SSLContext from PEM bytes (written to ``directory``)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert_file = directory / "server.crt"
    key_file = directory / "server.key"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    if maximum is not None:
        context.maximum_version = maximum
    return context


# --------------------------------------------------------------------------------------------
# A second, real Dovecot


def _ports_free(offset):
    for name in ("imap", "imaps", "pop3", "pop3s"):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", BASE_PORTS[name] + offset))
            except OSError:
                return False
    return True


def free_offset(rng=None):
    rng = rng or random.Random(os.getpid() ^ time.time_ns())
    for _unused in range(200):
        offset = rng.randrange(20000, 50000, 10)
        if _ports_free(offset):
            return offset
    raise RuntimeError("no free port range for a second Dovecot")


# Names the SNI-switching Dovecot serves; the client asks for one with server_name.
BROKEN_NAMES = {
    "expired": "expired.example.test",
    "not_yet_valid": "future.example.test",
    "wrong_host": "wronghost.example.test",
    "self_signed": "selfsigned.example.test",
    "other_ca": "otherca.example.test",
    "expiring_soon": "soon.example.test",
}


def broken_certificates(mail_lab):
    """(name, cert PEM, key PEM) per broken case, signed by the lab CA unless the case says otherwise."""
    ca_cert, ca_key = lab_ca(mail_lab)
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)
    other_cert, other_key = make_ca("some other CA")
    names = BROKEN_NAMES
    return {
        "expired": issue_cert(ca_cert, ca_key, [names["expired"]], not_before=now - 90 * day, not_after=now - 3 * day),
        "not_yet_valid": issue_cert(
            ca_cert, ca_key, [names["not_yet_valid"]], not_before=now + 10 * day, not_after=now + 100 * day
        ),
        "wrong_host": issue_cert(ca_cert, ca_key, ["other.example.test"]),
        "self_signed": issue_cert(None, None, [names["self_signed"]]),
        "other_ca": issue_cert(other_cert, other_key, [names["other_ca"]]),
        "expiring_soon": issue_cert(
            ca_cert, ca_key, [names["expiring_soon"]], not_after=now + 5 * day + datetime.timedelta(hours=1)
        ),
    }


@contextlib.contextmanager
def broken_dovecot(mail_lab, extra_config="", server_cert=None, sni_certs=None):
    """A started second Dovecot (IMAP, POP3) using the lab's passwd setup; yields the MailLab object.

    ``sni_certs``: {server name: (cert PEM, key PEM)} served through Dovecot ``local_name`` blocks.
    """
    root = Path(tempfile.mkdtemp(prefix="mailops-fault-"))
    root.chmod(0o755)
    blocks = []
    if sni_certs:
        cert_dir = root / "sni"
        cert_dir.mkdir()
        cert_dir.chmod(0o755)
        for index, (name, (cert, key)) in enumerate(sorted(sni_certs.items())):
            (cert_dir / f"{index}.crt").write_bytes(cert)
            key_path = cert_dir / f"{index}.key"
            key_path.write_bytes(key)
            key_path.chmod(0o600)
            blocks.append(
                f"local_name {name} {{\n  ssl_cert = <{cert_dir / f'{index}.crt'}\n  ssl_key = <{key_path}\n}}\n"
            )
    lab = MailLab(
        root,
        port_offset=free_offset(),
        services=("dovecot",),
        server_cert=server_cert,
        extra_dovecot_config=extra_config + "".join(blocks),
    )
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()
        shutil.rmtree(root, ignore_errors=True)


# The address on which cleartext_dovecot offers password login without any TLS (all of 127/8 is loopback).
CLEARTEXT_HOST = "127.0.0.3"


@contextlib.contextmanager
def cleartext_dovecot(mail_lab):
    """A second real Dovecot that also listens on ``CLEARTEXT_HOST``, where it has no TLS at all (no STARTTLS
    capability) and accepts password login in cleartext: what ``security: none`` meets on a legacy LAN server."""
    config = (
        f"listen = 127.0.0.1, {CLEARTEXT_HOST}\n"
        f"local {CLEARTEXT_HOST} {{\n  ssl = no\n  disable_plaintext_auth = no\n}}\n"
    )
    with broken_dovecot(mail_lab, extra_config=config) as lab:
        yield lab


def tls12_only_config(directory):
    """Dovecot has no ssl_max_protocol: cap it with an OpenSSL configuration (MaxProtocol = TLSv1.2)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "openssl-tls12.cnf"
    conf.write_text(
        "openssl_conf = default_conf\n"
        "[default_conf]\nssl_conf = ssl_sect\n"
        "[ssl_sect]\nsystem_default = system_default_sect\n"
        "[system_default_sect]\nMaxProtocol = TLSv1.2\nCipherString = DEFAULT:@SECLEVEL=2\n"
    )
    conf.chmod(0o644)
    directory.chmod(0o755)
    # Dovecot clears the environment of its processes: import_environment passes the variable on.
    return f"import_environment = $import_environment OPENSSL_CONF={conf}\n"


def fake_imap(capabilities="IMAP4rev1 AUTH=PLAIN", greeting_caps=True, logout_reply="OK done", reject=False):
    """A minimal IMAP server: fixed capabilities (no STARTTLS unless listed), BAD for anything else."""

    def behaviour(conn, stopping):
        code = f"[CAPABILITY {capabilities}] " if greeting_caps else ""
        conn.sendall(f"* OK {code}fake ready\r\n".encode())
        for line in _lines(conn):
            tag, _unused, command = line.partition(" ")
            word = command.split(" ", 1)[0].upper()
            if word == "CAPABILITY" and not reject:
                conn.sendall(f"* CAPABILITY {capabilities}\r\n{tag} OK done\r\n".encode())
            elif word == "LOGOUT":
                conn.sendall(f"* BYE bye\r\n{tag} {logout_reply}\r\n".encode())
                return
            else:
                conn.sendall(f"{tag} BAD unexpected\r\n".encode())

    return behaviour


def greet_then_close(text):
    def behaviour(conn, stopping):
        conn.sendall(text.encode() + b"\r\n")

    return behaviour


def check(protocol, source_address=None, **params):
    """Run the engine like the module does (validate, then run_checks); ``source_address`` is test-only."""
    import dataclasses

    from ansible_collections.mailops.clients.plugins.module_utils._connection import validate
    from ansible_collections.mailops.clients.plugins.module_utils._probe import run_checks

    settings = validate(params, protocol)
    if source_address:
        settings = dataclasses.replace(settings, source_address=source_address)
    return run_checks(settings)


def codes(result):
    return [(f["code"], f["severity"]) for f in result["findings"]]


# --------------------------------------------------------------------------------------------
# The timeout bound: one fault per case, for every protocol and security mode

_DRIP_GREETINGS = {"imap": b"* OK a greeting that never ends ", "pop3": b"+OK a greeting that never ends ",
                   "smtp": b"220 a greeting that never ends "}  # fmt: skip


def timeout_fault(protocol, security, fault):
    """The server behaviour for ``fault`` (silent, drip, stalled_handshake) as ``security`` meets it."""
    if fault == "silent":
        return silent
    if fault == "drip":
        return drip(TLS_RECORD_START + b"\x00" * 64 if security == "tls" else _DRIP_GREETINGS[protocol])
    if fault == "stalled_handshake":
        return tls_record_then_stall if security == "tls" else starttls_then_stall(protocol)
    raise ValueError(fault)


def bounded_check(protocol, security, fault, timeout=2):
    """Probe a fault server like the module does; returns (result, elapsed seconds, server connections)."""
    from ansible_collections.mailops.clients.plugins.module_utils import _probe  # noqa: F401 - imported, not timed

    with FaultServer(timeout_fault(protocol, security, fault)) as server:
        start = time.monotonic()
        result = check(protocol, host="127.0.0.1", port=server.port, security=security, timeout=timeout)
        elapsed = time.monotonic() - start
    return result, elapsed, server.connections


# The timeout-bound matrix of every protocol's target (tests/integration/targets/*_server_info): security, fault,
# the one finding expected at timeout 2.
_NO_GREETING = ("banner_timeout", "banner", "connected, but the server sent no greeting within 2s")
_NO_HANDSHAKE = ("tls_timeout", "tls", "the TLS handshake did not complete within 2s")
TIMEOUT_BOUND_CASES = [
    ("tls", "silent", _NO_HANDSHAKE),
    ("tls", "drip", _NO_HANDSHAKE),
    ("tls", "stalled_handshake", _NO_HANDSHAKE),
    ("starttls", "silent", _NO_GREETING),
    ("starttls", "drip", _NO_GREETING),
    ("starttls", "stalled_handshake", _NO_HANDSHAKE),
]


def assert_bounded(protocol, security, fault, expected, timeout=2):
    """The check of a stuck server ends within timeout x 1.2 with exactly the expected finding."""
    result, elapsed, _connections = bounded_check(protocol, security, fault, timeout)
    assert [(f["code"], f["stage"], f["message"]) for f in result["findings"]] == [expected]
    assert elapsed <= timeout * 1.2, f"{elapsed:.2f}s"


def imap_slow_login(delay):
    """A minimal plaintext IMAP server that accepts any LOGIN after ``delay`` seconds."""

    def behaviour(conn, stopping):
        conn.sendall(b"* OK [CAPABILITY IMAP4rev1] slow ready\r\n")
        for line in _lines(conn):
            tag, _unused, command = line.partition(" ")
            word = command.split(" ", 1)[0].upper()
            if word == "LOGIN":
                if stopping.wait(delay):
                    return
                conn.sendall(f"{tag} OK logged in\r\n".encode())
            elif word == "CAPABILITY":
                conn.sendall(f"* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n".encode())
            elif word == "LOGOUT":
                conn.sendall(f"* BYE bye\r\n{tag} OK done\r\n".encode())
                return
            else:
                conn.sendall(f"{tag} BAD unexpected\r\n".encode())

    return behaviour


def run_module_process(protocol, **params):
    """Run the *_server_info module as Ansible runs it on a managed node (a Python process given its arguments);
    returns (result dict, elapsed seconds of the whole process)."""
    import json
    import subprocess
    import sys

    collections = Path(__file__).resolve().parents[2] / "build" / "collections"
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="mailops-args-", delete=False) as args:
        json.dump({"ANSIBLE_MODULE_ARGS": params}, args)
    module = f"ansible_collections.mailops.clients.plugins.modules.{protocol}_server_info"
    try:
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", module, args.name],
            env=dict(os.environ, PYTHONPATH=str(collections)),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        elapsed = time.monotonic() - start
    finally:
        os.unlink(args.name)
    return json.loads(done.stdout), elapsed

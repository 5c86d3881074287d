# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The socket layer under the dialogues: resolve, connect, bounded reads and writes, deadlines, greetings.

A ``Wire`` is a socket with a buffer.  Every line is bounded (``MAX_LINE`` bytes) and every reply is
bounded (``MAX_LINES`` lines); every read and write ends at the stage's deadline, fixed when the
stage begins (a server that drips bytes cannot extend it) and never later than the ``limit`` the
engine sets.  Failures are typed exceptions carrying the finding that describes them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import selectors
import socket
import ssl
import threading
import time

from ansible_collections.mailops.clients.plugins.module_utils._connection import default_port
from ansible_collections.mailops.clients.plugins.module_utils._errors import (
    ConnectFailed,
    ConnectionClosed,
    ProtocolError,
    StageTimeout,
)
from ansible_collections.mailops.clients.plugins.module_utils._findings import excerpt, make_finding

MAX_LINE = 8192
MAX_LINES = 1000
RECV_CHUNK = 4096
_TIMEOUT_CODES = {"connect": "connect_timeout", "banner": "banner_timeout", "tls": "tls_timeout"}


def protocol_name(protocol):
    """How messages name a protocol (``imap`` -> ``IMAP``), as ``identify_greeting`` does."""
    return protocol.upper()


def identify_greeting(line):
    """Which protocol a first line belongs to (IMAP, POP3, SMTP, FTP, SSH, HTTP) or None."""
    upper = line.upper()
    if upper.startswith(("* OK", "* PREAUTH", "* BYE")):
        return "IMAP"
    if upper.startswith(("+OK", "-ERR")):
        return "POP3"
    if upper.startswith("SSH-"):
        return "SSH"
    if upper.startswith("HTTP/"):
        return "HTTP"
    if len(line) >= 3 and line[:3].isdigit() and (len(line) == 3 or line[3] in " -"):
        return "FTP" if "FTP" in upper else "SMTP"
    return None


_GREETING_STARTS = ("* OK", "* PREAUTH", "* BYE", "+OK", "-ERR", "SSH-", "HTTP/")


def could_be_greeting(text):
    """Whether an unterminated first line may still become a greeting (a slow server, not garbage)."""
    upper = text.upper()
    if any(upper.startswith(s) or s.startswith(upper) for s in _GREETING_STARTS):
        return True
    return upper[:3].isdigit()


# control characters other than TAB, LF and CR, and DEL: no mail protocol line has them
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _looks_binary(data):
    """Whether the first 64 bytes hold a control character (a line of another, binary protocol)."""
    return _BINARY.search(data, 0, 64) is not None


def finding_values(settings):
    """What every finding template may use: the endpoint, the timeout, the protocol and its usual ports."""
    return {
        "host": settings.host,
        "port": settings.port,
        "timeout": f"{settings.timeout:g}",
        "protocol": protocol_name(settings.protocol),
        "tls_port": default_port(settings.protocol, "tls"),
        "starttls_port": default_port(settings.protocol, "starttls"),
    }


def wrong_protocol_advice(actual, over_tls):
    """What to set to check a port that greeted like ``actual`` (IMAP, POP3, SMTP, SSH, ...) as what it is."""
    security = "tls" if over_tls else "starttls"
    if actual in ("IMAP", "POP3"):
        name = actual.lower()
        return (
            f"To check it as {actual}, set protocol {name} with security {security} "
            f"(mailops.clients.{name}_server_info; inventory: incoming.protocol {name}, incoming.security {security})."
        )
    if actual == "SMTP":
        return (
            f"To check it as SMTP, use mailops.clients.smtp_server_info with security {security} "
            f"(inventory: the outgoing server, outgoing.security {security})."
        )
    return f"No mail client speaks {actual}: the port number is wrong."


def stage_error(cls, code, settings, stage, **params):
    """An exception for ``code`` whose message and fix come from the catalogue (finding attached)."""
    values = finding_values(settings)
    values.update(params)
    finding = make_finding(code, stage=stage, **values)
    exc = cls(code, finding.message, host=settings.host, port=settings.port, stage=stage, **params)
    exc.finding = finding
    return exc


def deadline_after(settings, limit=None):
    """``timeout`` seconds from now, but never after ``limit`` (the probe's deadline, when one applies)."""
    deadline = time.monotonic() + settings.timeout
    return deadline if limit is None else min(deadline, limit)


class Wire:
    """A socket with a buffer, stage deadlines and bounded line reads.

    Each stage gets ``timeout`` seconds, but never beyond ``limit``: the probe's one deadline for the
    stages up to the login (``None`` once it no longer applies).
    """

    def __init__(self, sock, settings, secrets=(), limit=None):
        self.sock = sock
        self.settings = settings
        self.buf = bytearray()
        self.stage = "connect"
        self.limit = limit
        self.deadline = deadline_after(settings, limit)
        self.command = None
        self.lines_left = MAX_LINES
        self.secrets = list(secrets)

    def begin(self, stage):
        self.stage = stage
        self.deadline = deadline_after(self.settings, self.limit)
        self.command = None
        self.lines_left = MAX_LINES

    def error(self, cls, code, **params):
        return stage_error(cls, code, self.settings, self.stage, **params)

    def remember_secret(self, value):
        """Register a string that must never appear in a message (secrets and their encodings)."""
        if value:
            self.secrets.append(value)
        return value

    def excerpt(self, text):
        return excerpt(text, self.secrets)

    def _remaining(self):
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self.timeout_error()
        return remaining

    def timeout_error(self):
        code = _TIMEOUT_CODES.get(self.stage, "command_timeout")
        return self.error(StageTimeout, code, command=self.command or self.stage)

    def _fill(self):
        self.sock.settimeout(self._remaining())
        try:
            data = self.sock.recv(RECV_CHUNK)
        except socket.timeout:
            raise self.timeout_error() from None
        except OSError:
            raise self.error(ConnectionClosed, "connection_closed") from None
        if not data:
            raise self.error(ConnectionClosed, "connection_closed")
        self.buf += data

    def read_line(self):
        """One line without its CRLF, decoded as UTF-8 (invalid bytes replaced)."""
        self.lines_left -= 1
        if self.lines_left < 0:
            raise self.error(ProtocolError, "response_too_long", what="a reply", limit=f"{MAX_LINES}-line")
        while True:
            index = self.buf.find(b"\n")
            if index > MAX_LINE or (index < 0 and len(self.buf) > MAX_LINE):
                raise self.error(ProtocolError, "response_too_long", what="a line", limit=f"{MAX_LINE}-byte")
            if index >= 0:
                raw = bytes(self.buf[:index])
                del self.buf[: index + 1]
                if _looks_binary(raw.rstrip(b"\r")):
                    raise self.error(ProtocolError, "garbage_response", reply=self.excerpt(raw))
                return raw.rstrip(b"\r").decode("utf-8", "replace")
            if _looks_binary(self.buf):
                raise self.error(ProtocolError, "garbage_response", reply=self.excerpt(bytes(self.buf[:60])))
            self._fill()

    def check_greeting(self, line):
        """Refuse a first line that is not this endpoint's protocol's greeting (garbage, or another protocol)."""
        kind = identify_greeting(line)
        if kind == protocol_name(self.settings.protocol):
            return
        if kind is None:
            raise self.error(ProtocolError, "garbage_response", reply=self.excerpt(line))
        raise self.wrong_protocol(kind, line, over_tls=isinstance(self.sock, ssl.SSLSocket))

    def wrong_protocol(self, actual, line, over_tls):
        """The ``wrong_protocol`` error for a greeting ``line`` of protocol ``actual``, heard over TLS or not."""
        return self.error(
            ProtocolError,
            "wrong_protocol",
            expected=protocol_name(self.settings.protocol),
            actual=actual,
            reply=self.excerpt(line),
            advice=wrong_protocol_advice(actual, over_tls),
        )

    def readable_before(self, until, also=None):
        """Wait (without reading) until this wire has data or ``until`` passes; True when it has data.

        ``also`` is another socket to wait on: when it becomes readable first, the wait ends with False.
        For a plaintext socket only (an SSL socket may hold decrypted data that select() does not see).
        """
        if self.buf:
            return True
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ, True)
            if also is not None:
                selector.register(also, selectors.EVENT_READ, False)
            ready = selector.select(max(0.0, until - time.monotonic()))
        return any(key.data for key, _unused in ready)

    def send_raw(self, data):
        self.sock.settimeout(self._remaining())
        try:
            self.sock.sendall(data)
        except socket.timeout:
            raise self.timeout_error() from None
        except OSError:
            raise self.error(ConnectionClosed, "connection_closed") from None

    def send_command(self, text, label):
        """One command line; ``label`` names it in a timeout message (never the line: it may hold a secret)."""
        self.command = label
        self.lines_left = MAX_LINES
        self.send_raw(text.encode("utf-8") + b"\r\n")

    def start_tls(self, context, server_hostname):
        """Handshake on this socket within the stage deadline; ssl errors propagate for diagnosis."""
        self.buf.clear()  # bytes sent before the handshake must not be read as TLS-protected data
        self.sock.settimeout(self._remaining())
        tls = context.wrap_socket(self.sock, server_hostname=server_hostname, do_handshake_on_connect=False)
        self.sock = tls
        try:
            tls.do_handshake()
        except socket.timeout:
            raise self.timeout_error() from None

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()


def _is_address(host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def resolve(settings, deadline):
    """getaddrinfo bounded by the connect deadline (the C resolver has no timeout of its own).

    An address literal needs no resolver: it is converted in place (``AI_NUMERICHOST`` never blocks).
    """
    if _is_address(settings.host):
        try:
            return socket.getaddrinfo(
                settings.host, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
            )
        except socket.gaierror as exc:
            raise stage_error(
                ConnectFailed, "dns_failure", settings, "connect", reason=exc.strerror or "invalid address"
            ) from None
    box = {}

    def work():
        try:
            box["infos"] = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            box["error"] = exc

    thread = threading.Thread(target=work, name="mailops-resolve", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if thread.is_alive():
        raise stage_error(
            ConnectFailed,
            "dns_failure",
            settings,
            "connect",
            reason=f"the resolver did not answer within {settings.timeout:g}s",
        )
    if "error" in box:
        exc = box["error"]
        reason = exc.strerror if isinstance(exc, socket.gaierror) and exc.strerror else "invalid host name"
        raise stage_error(ConnectFailed, "dns_failure", settings, "connect", reason=reason)
    return box["infos"]


def open_wire(settings, secrets=(), endpoint=None, limit=None):
    """Resolve (or take ``endpoint``'s addresses) and connect within the connect-stage deadline; a Wire.

    ``limit`` is the probe's deadline: neither this stage nor any later one of the Wire runs past it.
    """
    deadline = deadline_after(settings, limit)
    error = None
    infos = endpoint.addresses(deadline) if endpoint is not None else resolve(settings, deadline)
    for family, kind, proto, _unused, address in infos:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(remaining)
            if settings.source_address:
                sock.bind((settings.source_address, 0))
            sock.connect(address)
        except ConnectionRefusedError:
            sock.close()
            error = stage_error(ConnectFailed, "connection_refused", settings, "connect", address=address[0])
            continue
        except socket.timeout:
            sock.close()
            break
        except OSError as exc:
            sock.close()
            error = stage_error(ConnectFailed, "connect_failed", settings, "connect", reason=exc.strerror or str(exc))
            continue
        return Wire(sock, settings, secrets, limit)
    raise error or stage_error(StageTimeout, "connect_timeout", settings, "connect")

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The staged validation engine: connect, banner, STARTTLS, TLS, capabilities, auth, logout.

One deadline, ``timeout`` seconds after the probe starts, bounds everything up to and including the
login: resolving, connecting, the greeting, STARTTLS, the handshake, the capabilities, the login, and
every diagnostic connection made on the way.  Every line is bounded (``MAX_LINE`` bytes) and every
reply is bounded (``MAX_LINES`` lines), so a silent, dripping or flooding server ends the probe
within the timeout and without unbounded memory.  Stages after the login (logout, the round trip's
commands) get ``timeout`` seconds each.  When a stage fails, a diagnostic second connection names the
real cause where one exists (certificate problems, TLS version, plaintext on a TLS port and the
reverse).  Stage failures become findings; only ``OptionError`` leaves ``run_checks``.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import re
import selectors
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

from ansible_collections.mailops.clients.plugins.module_utils import _sasl
from ansible_collections.mailops.clients.plugins.module_utils._accounts import sweep
from ansible_collections.mailops.clients.plugins.module_utils._connection import default_port
from ansible_collections.mailops.clients.plugins.module_utils._errors import (
    ConnectFailed,
    ConnectionClosed,
    ProbeError,
    ProtocolError,
    StageTimeout,
    TLSFailure,
)
from ansible_collections.mailops.clients.plugins.module_utils._findings import excerpt, make_finding, verdict
from ansible_collections.mailops.clients.plugins.module_utils._imap import Imap
from ansible_collections.mailops.clients.plugins.module_utils._pop3 import Pop3
from ansible_collections.mailops.clients.plugins.module_utils._smtp import Smtp
from ansible_collections.mailops.clients.plugins.module_utils._tls import (
    DEPRECATED_VERSIONS,
    CertificateParseError,
    build_context,
    certificate_problems,
    certificate_result,
    parse_certificate,
    version_below,
)
from ansible_collections.mailops.clients.plugins.module_utils._vocabulary import worst_verdict

MAX_LINE = 8192
MAX_LINES = 1000
RECV_CHUNK = 4096
STAGES = ("connect", "banner", "starttls", "tls", "capabilities", "auth", "logout")
_TIMEOUT_CODES = {"connect": "connect_timeout", "banner": "banner_timeout", "tls": "tls_timeout"}
_DISPLAY = {"imap": "IMAP", "pop3": "POP3", "smtp": "SMTP"}
_PLAINTEXT_HINTS = (
    "wrong version number",
    "record layer failure",
    "packet length too long",
    "http request",
    "unknown protocol",
)


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


def _could_be_greeting(text):
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


def _ssl_reason(exc):
    if isinstance(exc, socket.timeout):
        return "timed out"
    reason = getattr(exc, "reason", None)
    text = str(exc)
    if isinstance(exc, ssl.SSLError) and "(_ssl.c" in text:
        text = text[: text.rfind("(_ssl.c")].strip()
    if isinstance(exc, (ssl.SSLEOFError, ConnectionResetError, BrokenPipeError)) or "EOF" in text:
        return "the server closed the connection during the handshake"
    return text or reason or type(exc).__name__


def finding_values(settings):
    """What every finding template may use: the endpoint, the timeout, the protocol and its usual ports."""
    return {
        "host": settings.host,
        "port": settings.port,
        "timeout": f"{settings.timeout:g}",
        "protocol": _DISPLAY[settings.protocol],
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


def _deadline(settings, limit=None):
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
        self.deadline = _deadline(settings, limit)
        self.command = None
        self.lines_left = MAX_LINES
        self.secrets = list(secrets)

    def begin(self, stage):
        self.stage = stage
        self.deadline = _deadline(self.settings, self.limit)
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

    def check_greeting(self, line, expected):
        kind = identify_greeting(line)
        if kind == _DISPLAY[expected]:
            return
        if kind is None:
            raise self.error(ProtocolError, "garbage_response", reply=self.excerpt(line))
        raise self.wrong_protocol(kind, line, over_tls=isinstance(self.sock, ssl.SSLSocket))

    def wrong_protocol(self, actual, line, over_tls):
        """The ``wrong_protocol`` error for a greeting ``line`` of protocol ``actual``, heard over TLS or not."""
        return self.error(
            ProtocolError,
            "wrong_protocol",
            expected=_DISPLAY[self.settings.protocol],
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

    def send_raw(self, data, secret=False):  # noqa: ARG002 - secret documents the call site
        self.sock.settimeout(self._remaining())
        try:
            self.sock.sendall(data)
        except socket.timeout:
            raise self.timeout_error() from None
        except OSError:
            raise self.error(ConnectionClosed, "connection_closed") from None

    def send_command(self, text, label, secret=False):
        self.command = label
        self.lines_left = MAX_LINES
        self.send_raw(text.encode("utf-8") + b"\r\n", secret=secret)

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


def _resolve(settings, deadline):
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


class Endpoint:
    """What every probe of one ``run_checks`` shares: the verified context and the host's addresses.

    The ``SSLContext`` is built once (the CA is read once) and shared: contexts are thread-safe for
    ``wrap_socket``, and each handshake still verifies the chain and the name and is inspected on its
    own.  The host is resolved by the first connection that needs it (a failed resolution is not kept,
    so the next probe reports its own ``dns_failure``), and a certificate seen again is not parsed again
    (its name, dates and trust are still checked by every probe, against that probe's own handshake).
    """

    def __init__(self, settings):
        self.settings = settings
        self.context = build_context(settings)  # OptionError (unreadable ca_path) goes to the module
        self._addresses = None
        self._certificates = {}

    def addresses(self, deadline):
        addresses = self._addresses
        if addresses is None:
            addresses = self._addresses = _resolve(self.settings, deadline)
        return addresses

    def parse_certificate(self, der):
        """``parse_certificate(der)``, read once per distinct certificate (the checks still run per probe)."""
        info = self._certificates.get(der)
        if info is None:
            info = parse_certificate(der)  # CertificateParseError is not kept: every probe reports it
            if len(self._certificates) < 16:
                self._certificates[der] = info
        return info


def open_wire(settings, secrets=(), endpoint=None, limit=None):
    """Resolve (or take ``endpoint``'s addresses) and connect within the connect-stage deadline; a Wire.

    ``limit`` is the probe's deadline: neither this stage nor any later one of the Wire runs past it.
    """
    deadline = _deadline(settings, limit)
    error = None
    infos = endpoint.addresses(deadline) if endpoint is not None else _resolve(settings, deadline)
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


def default_helo_name(sock=None):
    """A host name with a dot, else the address literal of our end of the connection (RFC 5321 4.1.3)."""
    name = socket.gethostname()
    if "." in name:
        return name
    if sock is not None:
        try:
            address = ipaddress.ip_address(sock.getsockname()[0])
            return f"[{address}]" if address.version == 4 else f"[IPv6:{address}]"
        except (OSError, ValueError):
            pass
    return "localhost.localdomain"


class _Halt(Exception):
    """Stop the probe: the findings describing why are already recorded."""


@dataclass
class Outcome:
    settings: object
    credentials: object = None
    findings: list = field(default_factory=list)
    tls: dict = None
    certificate: dict = None
    caps_before: list = field(default_factory=list)
    caps_after: list = field(default_factory=list)
    login: dict = None
    timings: dict = field(default_factory=dict)
    fatal: bool = False

    def verdict(self):
        return verdict(self.findings)

    def timings_ms(self):
        return {stage: self.timings.get(stage) for stage in STAGES + ("total",)}

    def as_result(self, dialogue):
        return {
            "changed": False,
            "verdict": self.verdict(),
            "findings": [f.as_dict() for f in self.findings],
            "endpoint": self.settings.endpoint(),
            "tls": self.tls,
            "certificate": self.certificate,
            "capabilities": {"before_tls": list(self.caps_before), "after_tls": list(self.caps_after)},
            "auth_mechanisms": {
                "before_tls": dialogue.auth_mechanisms(self.caps_before),
                "after_tls": dialogue.auth_mechanisms(self.caps_after),
            },
            "login": self.login,
            "accounts": [],
            "timings_ms": self.timings_ms(),
        }


def new_dialogue(settings, sock=None):
    if settings.protocol == "imap":
        return Imap()
    if settings.protocol == "pop3":
        return Pop3()
    return Smtp(settings.helo_name or default_helo_name(sock))


class Probe:
    """One staged probe of one endpoint with at most one set of credentials."""

    def __init__(self, settings, credentials=None, now=None, endpoint=None, started=None):
        self.settings = settings
        self.started = started  # when the check began (the timeout counts from there); else when run() starts
        self.credentials = credentials
        self.endpoint = endpoint  # shared by the probes of one run_checks; else built by run()
        self.now = now or datetime.datetime.now(datetime.timezone.utc)
        self.outcome = Outcome(settings=settings, credentials=credentials)
        self.outcome.login = {
            "attempted": False,
            "succeeded": False,
            "mechanism": None,
            "username": credentials.username if credentials else None,
        }
        self.dialogue = new_dialogue(settings)
        self.wire = None
        self.limit = None  # the deadline of everything up to the login: set by run()

    # --- bookkeeping -----------------------------------------------------------------------------
    def add(self, code, severity=None, stage=None, **params):
        values = finding_values(self.settings)
        values.update(params)
        self.outcome.findings.append(make_finding(code, severity=severity, stage=stage, **values))

    def _timed(self, stage, func, *args):
        start = time.monotonic()
        try:
            return func(*args)
        finally:
            elapsed = round((time.monotonic() - start) * 1000, 1)
            self.outcome.timings[stage] = round(self.outcome.timings.get(stage, 0) + elapsed, 1)

    def _excerpt(self, text):
        return excerpt(text, self.wire.secrets if self.wire else ())

    # --- the stages ------------------------------------------------------------------------------
    def run(self, keep_open=False):
        settings = self.settings
        start = time.monotonic()
        self.limit = (self.started or start) + settings.timeout
        if settings.security == "none":
            quiet = settings.protocol == "smtp" and self.credentials is None
            self.add("insecure_plaintext_connection", severity="info" if quiet else None)
        if self.endpoint is None:
            self.endpoint = Endpoint(settings)  # OptionError (unreadable ca_path) goes to the module
        try:
            self._session(self.endpoint.context, keep_open)
        except ProbeError as exc:
            self.outcome.fatal = True
            finding = exc.finding
            if exc.stage == "logout":
                finding = finding.with_severity("warning")
            self.outcome.findings.append(finding)
        except _Halt:
            self.outcome.fatal = True
        finally:
            self.outcome.timings["total"] = round((time.monotonic() - start) * 1000, 1)
            if self.wire is not None and (not keep_open or self.outcome.fatal):
                self.wire.close()
                self.wire = None
        return self.outcome

    def _session(self, context, keep_open):
        settings = self.settings
        dialogue = self.dialogue
        secrets = self.credentials.secrets if self.credentials else ()
        self.wire = self._timed("connect", open_wire, settings, secrets, self.endpoint, self.limit)
        if isinstance(dialogue, Smtp) and settings.helo_name is None:
            dialogue.helo_name = default_helo_name(self.wire.sock)
        if settings.security == "tls":
            self._timed("tls", self._tls, context)
        greeting_caps = self._timed("banner", self._greeting)
        self.wire.begin("capabilities")
        caps = (
            greeting_caps
            if greeting_caps is not None
            else self._timed("capabilities", dialogue.capabilities, self.wire)
        )
        if settings.security == "tls":
            self.outcome.caps_after = caps
        else:
            self.outcome.caps_before = caps
        if settings.security == "starttls":
            if not dialogue.starttls_offered(caps):
                self.outcome.fatal = True
                self.add("starttls_not_offered", command=dialogue.starttls_command)
                self._release_limit()
                self._logout()
                raise _Halt()
            self.wire.begin("starttls")
            self._timed("starttls", dialogue.starttls, self.wire)
            self._timed("tls", self._tls, context)
            self.wire.begin("capabilities")
            self.outcome.caps_after = self._timed("capabilities", dialogue.capabilities, self.wire)
        self._analyse_capabilities()
        if self.credentials is not None:
            self._timed("auth", self._authenticate)
        self._release_limit()
        if not keep_open:
            self._logout()

    def _release_limit(self):
        """The login is over: later stages (logout, a round trip's commands) get ``timeout`` seconds each."""
        self.limit = None
        self.wire.limit = None

    def _greeting(self):
        wire = self.wire
        wire.begin("banner")
        if self.settings.security != "tls":
            # Two thirds in: after Postfix postscreen's greeting delay (postscreen_greet_wait, 6 s by default)
            # at the default timeout (postconf(5)), so the second connection's ClientHello is no pregreet in its logs.
            question_at = time.monotonic() + (wire.deadline - time.monotonic()) * 2 / 3
            if not wire.readable_before(question_at):
                version, line = self._tls_side_by_side()
                kind = identify_greeting(line) if line else None
                if version and kind and kind != self.dialogue.display:
                    raise wire.wrong_protocol(kind, line, over_tls=True)
                if version:
                    raise wire.error(ProtocolError, "tls_on_plaintext_port", version=version)
        try:
            return self.dialogue.read_greeting(wire)
        except StageTimeout:
            partial = bytes(wire.buf[:60])
            if partial and not _could_be_greeting(partial.decode("utf-8", "replace")):
                # text without a line end that no protocol starts with: not a slow server, another service
                raise wire.error(ProtocolError, "garbage_response", reply=wire.excerpt(partial)) from None
            raise

    def _tls_side_by_side(self):
        """Silent for two thirds of the time: does the port complete a TLS handshake? (tls_on_plaintext_port)

        The handshake runs on a second connection while this one keeps waiting for the greeting, both
        within the stage's deadline: a slow server still gets all of it, and the question costs no extra
        time.  Returns the TLS version when the handshake completed before the greeting began (else None)
        and the first line the server sent over TLS (None when it sent none in time).
        """
        wire = self.wire
        box = {}
        signal_r, signal_w = socket.socketpair()

        def handshake():
            try:
                side = open_wire(self.settings, endpoint=self.endpoint, limit=wire.deadline)
                try:
                    side.begin("banner")
                    side.start_tls(build_context(self.settings, verify=False, minimum="TLSv1"), self.settings.sni)
                    box["version"] = side.sock.version()
                    side.begin("banner")
                    box["line"] = side.read_line()
                finally:
                    side.close()
            except (ProbeError, OSError, ValueError):
                pass
            finally:
                with contextlib.suppress(OSError):
                    signal_w.send(b"x")
                signal_w.close()

        thread = threading.Thread(target=handshake, name="mailops-tls-probe", daemon=True)
        thread.start()
        try:
            if wire.readable_before(wire.deadline, also=signal_r):
                return None, None  # the greeting begins: the side connection ends on its own, by the same deadline
            thread.join(max(0.0, wire.deadline - time.monotonic()))
            return box.get("version"), box.get("line")
        finally:
            signal_r.close()

    def _tls(self, context):
        settings = self.settings
        wire = self.wire
        wire.begin("tls")
        try:
            wire.start_tls(context, settings.sni)
        except ssl.SSLCertVerificationError as exc:
            self._diagnose_certificate(exc.verify_code, exc.verify_message)
            raise _Halt() from None
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise self._diagnose_handshake(exc) from None
        tls_sock = wire.sock
        version = tls_sock.version()
        self.outcome.tls = {"version": version, "cipher": tls_sock.cipher()[0]}
        if version in DEPRECATED_VERSIONS:
            self.add("tls_version_deprecated", version=version)
        der = tls_sock.getpeercert(binary_form=True)
        self._inspect_certificate(der, settings.validate_certs, None, None)

    def _inspect_certificate(self, der, verified, verify_code, verify_message):
        settings = self.settings
        if not der:
            self.add("tls_handshake_failed", reason="the server sent no certificate")
            return
        try:
            info = self.endpoint.parse_certificate(der)
        except CertificateParseError as exc:
            self.add("tls_handshake_failed", reason=str(exc))
            return
        chain_verified = bool(verified and verify_code is None)
        self.outcome.certificate = certificate_result(info, settings.sni, chain_verified, self.now)
        for code, severity, params in certificate_problems(
            info, settings.sni, verified, verify_code, verify_message, settings.cert_expiry_warn_days, self.now
        ):
            self.add(code, severity=severity, **params)

    def _open_tls(self, context):
        """A second connection up to a completed handshake (through STARTTLS when needed)."""
        wire = open_wire(self.settings, self.wire.secrets, self.endpoint, self.limit)
        try:
            if self.settings.security == "starttls":
                dialogue = new_dialogue(self.settings, wire.sock)
                wire.begin("banner")
                dialogue.read_greeting(wire)
                if isinstance(dialogue, Smtp):
                    wire.begin("capabilities")
                    dialogue.capabilities(wire)
                wire.begin("starttls")
                dialogue.starttls(wire)
            wire.begin("tls")
            wire.start_tls(context, self.settings.sni)
            return wire
        except BaseException:
            wire.close()
            raise

    def _diagnose_certificate(self, verify_code, verify_message):
        """Verification failed, so there is no certificate: read it over an unverified second handshake."""
        der = None
        try:
            wire = self._open_tls(build_context(self.settings, verify=False))
        except (ProbeError, OSError, ValueError):
            wire = None
        if wire is not None:
            der = wire.sock.getpeercert(binary_form=True)
            self.outcome.tls = {"version": wire.sock.version(), "cipher": wire.sock.cipher()[0]}
            wire.close()
        if not der:
            self.add("cert_untrusted", issuer="unknown", reason=verify_message)
            return
        before = len(self.outcome.findings)
        self._inspect_certificate(der, True, verify_code, verify_message)
        if not any(f.severity == "error" for f in self.outcome.findings[before:]):
            self.add("cert_untrusted", issuer=self.outcome.certificate["issuer"], reason=verify_message)

    def _diagnose_handshake(self, exc):
        """Name why a handshake failed: plaintext on a TLS port, a too old TLS version, or OpenSSL's reason."""
        settings = self.settings
        reason = _ssl_reason(exc)
        if settings.security == "tls" and any(h in reason.lower() for h in _PLAINTEXT_HINTS):
            line = self._plaintext_greeting()
            kind = identify_greeting(line) if line else None
            if kind and kind != self.dialogue.display:
                return self.wire.wrong_protocol(kind, line, over_tls=False)
            if kind:
                return self.wire.error(TLSFailure, "plaintext_on_tls_port", actual=kind, reply=self._excerpt(line))
        version = self._negotiable_version()
        if version and version_below(version, settings.tls_min_version):
            return self.wire.error(TLSFailure, "tls_version_too_old", version=version, minimum=settings.tls_min_version)
        return self.wire.error(TLSFailure, "tls_handshake_failed", reason=reason)

    def _plaintext_greeting(self):
        try:
            wire = open_wire(self.settings, endpoint=self.endpoint, limit=self.limit)
        except ProbeError:
            return None
        try:
            wire.begin("banner")
            return wire.read_line()
        except ProbeError:
            return None
        finally:
            wire.close()

    def _negotiable_version(self):
        try:
            wire = self._open_tls(build_context(self.settings, verify=False, minimum="TLSv1"))
        except (ProbeError, OSError, ValueError):
            return None
        version = wire.sock.version()
        wire.close()
        return version

    # --- capabilities and authentication ---------------------------------------------------------
    def _phase_caps(self):
        return self.outcome.caps_before if self.settings.security == "none" else self.outcome.caps_after

    def _password_ways(self, caps):
        ways = [m for m in self.dialogue.auth_mechanisms(caps) if m in _sasl.CLEARTEXT_MECHANISMS]
        commands = {"IMAP-LOGIN": "the LOGIN command", "POP3-USER": "USER/PASS"}
        ways += [commands[c] for c in self.dialogue.password_commands(caps)]
        return ways

    def _analyse_capabilities(self):
        settings = self.settings
        dialogue = self.dialogue
        before = self.outcome.caps_before
        if settings.security in ("starttls", "none"):
            ways = self._password_ways(before)
            if ways and settings.security == "none" and not dialogue.starttls_offered(before):
                # asked for explicitly (allow_insecure): a warning that still names the exposure
                self.add(
                    "cleartext_auth_only",
                    severity="warning" if settings.allow_insecure else None,
                    offered=", ".join(ways),
                    opt_in=" (accepted with allow_insecure)" if settings.allow_insecure else "",
                )
            elif ways:
                self.add("plaintext_auth_before_tls", offered=", ".join(ways))
        if self.credentials is not None:
            return  # _authenticate reports what blocks the login
        caps = self._phase_caps()
        if (
            isinstance(dialogue, Imap)
            and "LOGINDISABLED" in (c.upper() for c in caps)
            and not self._password_ways(caps)
        ):
            self.add(
                "login_disabled",
                severity="info" if settings.security == "none" else None,
                evidence="LOGINDISABLED, and no AUTH=PLAIN or AUTH=LOGIN before STARTTLS",
            )
        if isinstance(dialogue, Smtp) and not dialogue.auth_mechanisms(caps):
            submission = settings.security == "tls" or settings.port in (465, 587)
            self.add(
                "auth_not_offered",
                severity="warning" if submission else "info",
                context=" (no AUTH in the EHLO reply: fine for an MX on port 25, wrong for submission)",
            )

    def _authenticate(self):
        settings = self.settings
        credentials = self.credentials
        dialogue = self.dialogue
        wire = self.wire
        wire.begin("auth")
        caps = self._phase_caps()
        offered = dialogue.auth_mechanisms(caps)
        commands = dialogue.password_commands(caps) if credentials.password is not None else []
        encrypted = settings.security != "none"
        name, why = _sasl.choose_mechanism(
            credentials.mechanism,
            offered,
            credentials.password is not None,
            credentials.oauth2_token is not None,
            encrypted,
        )
        use_command = None
        if name is None and commands and credentials.mechanism in ("auto", "LOGIN"):
            use_command = commands[0]
        if name is None and use_command is None:
            starttls_later = settings.security == "none" and dialogue.starttls_offered(self.outcome.caps_before)
            if isinstance(dialogue, Imap) and "LOGINDISABLED" in (c.upper() for c in caps):
                self.add("login_disabled", evidence="LOGINDISABLED")
            elif not offered and not dialogue.password_commands(caps):
                if starttls_later:
                    self.add("login_disabled", evidence="no login offered before STARTTLS")
                else:
                    self.add("auth_not_offered", context="")
            elif why == "not_offered":
                self.add(
                    "auth_mechanism_not_offered", mechanism=credentials.mechanism, offered=", ".join(offered) or "none"
                )
            else:
                usable = _sasl.TOKEN_MECHANISMS if credentials.oauth2_token is not None else _sasl.PASSWORD_MECHANISMS
                self.add(
                    "no_common_auth_mechanism",
                    offered=", ".join(offered) or "none",
                    credential="a token" if credentials.oauth2_token is not None else "a password",
                    usable=", ".join(usable),
                )
            return
        login = self.outcome.login
        login["attempted"] = True
        login["mechanism"] = use_command or name
        secret = credentials.password if credentials.password is not None else credentials.oauth2_token
        mechanism = None
        try:
            if use_command:
                succeeded, reply = dialogue.login(wire, credentials.username, credentials.password)
            else:
                mechanism = _sasl.create(name, credentials.username, secret, host=settings.sni, port=settings.port)
                succeeded, reply = dialogue.authenticate(wire, mechanism, caps)
        except _sasl.SaslError as exc:
            succeeded, reply = False, f"unexpected challenge ({exc})"
        login["succeeded"] = succeeded
        if not encrypted and (use_command or name in _sasl.CLEARTEXT_MECHANISMS):
            self.add("cleartext_credentials", mechanism=login["mechanism"])
        if not succeeded:
            detail = self._excerpt(reply)
            error = mechanism.server_error() if mechanism is not None else None
            if error:
                said = ", ".join(f"{key}={value}" for key, value in sorted(error.items()))
                detail += f" (server said: {self._excerpt(said)})"
            self.add("auth_failed", username=credentials.username, mechanism=login["mechanism"], reply=detail)

    def close(self, logout=True):
        """End a session kept open with ``run(keep_open=True)``: LOGOUT/QUIT (optional), then close."""
        if self.wire is None:
            return
        if logout:
            self._logout()
        self.wire.close()
        self.wire = None

    def _logout(self):
        self.wire.begin("logout")
        try:
            self._timed("logout", self.dialogue.logout, self.wire)
        except ProbeError as exc:
            self.outcome.findings.append(exc.finding.with_severity("warning", stage="logout"))


def run_checks(settings):
    """Probe the endpoint (and every account); returns the full result dict of the *_info modules."""
    started = time.monotonic()
    endpoint = Endpoint(settings)
    outcome = Probe(settings, settings.credentials, endpoint=endpoint, started=started).run()
    result = outcome.as_result(new_dialogue(settings))
    if settings.accounts:
        accounts = sweep(settings, outcome, lambda credentials: Probe(settings, credentials, endpoint=endpoint).run())
        result["accounts"] = accounts
        failed = [a for a in accounts if a["verdict"] != "ok"]
        if failed:
            names = ", ".join(a["username"] for a in failed[:10]) + (", ..." if len(failed) > 10 else "")
            finding = make_finding(
                "account_failures",
                severity=worst_verdict(a["verdict"] for a in failed),
                failed=len(failed),
                total=len(accounts),
                names=names,
            )
            result["findings"].append(finding.as_dict())
    result["verdict"] = verdict(result["findings"])
    return result

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The staged validation engine: connect, banner, STARTTLS, TLS, capabilities, auth, logout.

The engine drives the stages; the protocol's rules (greeting, capabilities, STARTTLS command, which
login is offered or refused) belong to its dialogue (``_dialogue.Dialogue``: ``_imap``, ``_pop3``,
``_smtp``), and the sockets, line bounds and deadlines to ``_wire``.

One deadline, ``timeout`` seconds after the probe starts, bounds everything up to and including the
login: resolving, connecting, the greeting, STARTTLS, the handshake, the capabilities, the login, and
every diagnostic connection made on the way.  A silent, dripping or flooding server ends the probe
within the timeout and without unbounded memory (the wire bounds every line and reply).  Stages after
the login (logout, the commands of a ``Session``) get ``timeout`` seconds each.  When a stage fails, a
diagnostic second connection names the real cause where one exists (certificate problems, TLS version,
plaintext on a TLS port and the reverse).  Stage failures become findings; only ``OptionError`` leaves
``run_checks``.
"""

from __future__ import annotations

import contextlib
import datetime
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

from ansible_collections.mailops.clients.plugins.module_utils import _sasl
from ansible_collections.mailops.clients.plugins.module_utils._accounts import sweep
from ansible_collections.mailops.clients.plugins.module_utils._errors import (
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
from ansible_collections.mailops.clients.plugins.module_utils._wire import (
    could_be_greeting,
    finding_values,
    identify_greeting,
    open_wire,
    resolve,
)

STAGES = ("connect", "banner", "starttls", "tls", "capabilities", "auth", "logout")
DIALOGUES = {dialogue.protocol: dialogue for dialogue in (Imap, Pop3, Smtp)}
_PLAINTEXT_HINTS = (
    "wrong version number",
    "record layer failure",
    "packet length too long",
    "http request",
    "unknown protocol",
)


def new_dialogue(settings):
    """The dialogue of ``settings.protocol`` for one connection."""
    return DIALOGUES[settings.protocol].for_settings(settings)


def _untimed(_stage, func, *args):
    return func(*args)


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
            addresses = self._addresses = resolve(self.settings, deadline)
        return addresses

    def parse_certificate(self, der):
        """``parse_certificate(der)``, read once per distinct certificate (the checks still run per probe)."""
        info = self._certificates.get(der)
        if info is None:
            info = parse_certificate(der)  # CertificateParseError is not kept: every probe reports it
            if len(self._certificates) < 16:
                self._certificates[der] = info
        return info


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
            quiet = self.dialogue.anonymous_plaintext_usual and self.credentials is None
            self.add("insecure_plaintext_connection", severity="info" if quiet else None)
        if self.endpoint is None:
            self.endpoint = Endpoint(settings)  # OptionError (unreadable ca_path) goes to the module
        try:
            self._session(keep_open)
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

    def _session(self, keep_open):
        settings = self.settings
        dialogue = self.dialogue
        secrets = self.credentials.secrets if self.credentials else ()
        wire = self.wire = self._timed("connect", open_wire, settings, secrets, self.endpoint, self.limit)
        if settings.security == "none":
            self.outcome.caps_before = self._greet(wire, dialogue, main=True)
        else:
            before, reached = self._reach_tls(wire, dialogue, self._tls, main=True)
            self.outcome.caps_before = before
            if not reached:
                self.outcome.fatal = True
                self.add("starttls_not_offered", command=dialogue.starttls_command)
                self._release_limit()
                self._logout()
                raise _Halt()
            if settings.security == "tls":
                self.outcome.caps_after = self._greet(wire, dialogue, main=True)
            else:
                wire.begin("capabilities")
                self.outcome.caps_after = self._timed("capabilities", dialogue.capabilities, wire)
        self._analyse_capabilities()
        if self.credentials is not None:
            self._timed("auth", self._authenticate)
        self._release_limit()
        if not keep_open:
            self._logout()

    def _reach_tls(self, wire, dialogue, handshake, main=False):
        """The one way to TLS, for the probe (``main``) and its diagnostic connections alike.

        Implicit TLS: the handshake at once.  STARTTLS: the greeting, the capabilities, the protocol's
        STARTTLS command (only when offered: nothing is sent in plaintext otherwise), then the handshake.
        ``handshake(wire)`` runs the handshake.  Returns the capabilities read before TLS and whether
        TLS was reached (False: the server does not offer STARTTLS).
        """
        timed = self._timed if main else _untimed
        if self.settings.security != "starttls":
            timed("tls", handshake, wire)
            return [], True
        caps = self._greet(wire, dialogue, main)
        if not dialogue.starttls_offered(caps):
            return caps, False
        wire.begin("starttls")
        timed("starttls", dialogue.starttls, wire)
        timed("tls", handshake, wire)
        return caps, True

    def _greet(self, wire, dialogue, main=False):
        """The greeting, then the capabilities unless the greeting carried them.

        The probe's own greeting (``main``) is timed and diagnosed (``_greeting``); a diagnostic
        connection's is only read.
        """
        if main:
            caps = self._timed("banner", self._greeting)
        else:
            wire.begin("banner")
            caps = dialogue.read_greeting(wire)
        wire.begin("capabilities")
        if caps is not None:
            return caps
        timed = self._timed if main else _untimed
        return timed("capabilities", dialogue.capabilities, wire)

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
            if partial and not could_be_greeting(partial.decode("utf-8", "replace")):
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

    def _tls(self, wire):
        """The probe's handshake: certificate and TLS version inspected, a failure diagnosed."""
        settings = self.settings
        wire.begin("tls")
        try:
            wire.start_tls(self.endpoint.context, settings.sni)
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
    def _open_tls(self, context):
        """A second connection up to a completed handshake, by the probe's own way (``_reach_tls``)."""
        settings = self.settings
        wire = open_wire(settings, self.wire.secrets, self.endpoint, self.limit)

        def handshake(wire):
            wire.begin("tls")
            wire.start_tls(context, settings.sni)

        try:
            dialogue = new_dialogue(settings)
            _unused, reached = self._reach_tls(wire, dialogue, handshake)
            if not reached:
                raise wire.error(TLSFailure, "starttls_not_offered", command=dialogue.starttls_command)
            return wire
        except BaseException:
            wire.close()
            raise

    # --- capabilities and authentication ---------------------------------------------------------
    def _phase_caps(self):
        return self.outcome.caps_before if self.settings.security == "none" else self.outcome.caps_after

    def _analyse_capabilities(self):
        settings = self.settings
        dialogue = self.dialogue
        before = self.outcome.caps_before
        if settings.security in ("starttls", "none"):
            ways = dialogue.password_ways(before)
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
        for code, severity, params in dialogue.capability_findings(self._phase_caps(), settings):
            self.add(code, severity=severity, **params)

    def _authenticate(self):
        settings = self.settings
        credentials = self.credentials
        dialogue = self.dialogue
        wire = self.wire
        wire.begin("auth")
        caps = self._phase_caps()
        offered = dialogue.auth_mechanisms(caps)
        login_offered = dialogue.login_command_offered(caps)
        encrypted = settings.security != "none"
        name, why = _sasl.choose_mechanism(
            credentials.mechanism,
            offered,
            credentials.password is not None,
            credentials.oauth2_token is not None,
            encrypted,
        )
        use_command = None
        if (
            name is None
            and login_offered
            and credentials.password is not None
            and credentials.mechanism in ("auto", "LOGIN")
        ):
            use_command = dialogue.login_command
        if name is None and use_command is None:
            starttls_later = settings.security == "none" and dialogue.starttls_offered(self.outcome.caps_before)
            refused = dialogue.login_refused(caps)
            if refused:
                self.add("login_disabled", evidence=refused)
            elif not offered and not login_offered:
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


class Session:
    """A connection kept open after its login (``open_session``): the round trip's commands, each as a stage of
    its own with ``timeout`` seconds, on the endpoint's dialogue (mailbox commands for IMAP and POP3, the
    submission for SMTP).  ``ProbeError`` from a command carries its finding; ``close()`` ends the session."""

    def __init__(self, probe):
        self._probe = probe

    @property
    def sees_new_mail(self):
        """Whether messages that arrive while the session is open show up in it (IMAP yes, POP3 no)."""
        return self._probe.dialogue.sees_new_mail

    def _run(self, stage, command, *args):
        wire = self._probe.wire
        wire.begin(stage)
        return command(wire, *args)

    def open_mailbox(self):
        self._run("deliver", self._probe.dialogue.open_mailbox)

    def find_message(self, message_id):
        """What identifies the message with this Message-ID for ``delete_message``, or None when it is not there."""
        return self._run("deliver", self._probe.dialogue.find_message, message_id)

    def delete_message(self, found):
        """Remove the message ``find_message`` found; returns why it is still there, or None."""
        return self._run("cleanup", self._probe.dialogue.delete_message, found)

    def send_message(self, sender, recipient, message):
        """Submit ``message`` (text with CRLF line ends); returns the server's final reply text."""
        return self._run("send", self._probe.dialogue.send_message, sender, recipient, message)

    def close(self, logout=True):
        """LOGOUT/QUIT (unless ``logout`` is false, after a failed command), then close the connection."""
        self._probe.close(logout)


def open_session(settings):
    """Probe ``settings`` with its credentials and keep the connection open after the login.

    Returns (``Session``, findings) after a successful login (or a probe without credentials that
    completed), else (None, findings): the findings of the probe either way.
    """
    probe = Probe(settings, settings.credentials)
    outcome = probe.run(keep_open=True)
    if outcome.fatal or probe.wire is None or (settings.credentials and not outcome.login["succeeded"]):
        probe.close()
        return None, outcome.findings
    return Session(probe), outcome.findings


def run_checks(settings):
    """Probe the endpoint (and every account); returns the full result dict of the *_info modules."""
    started = time.monotonic()
    endpoint = Endpoint(settings)
    probe = Probe(settings, settings.credentials, endpoint=endpoint, started=started)
    outcome = probe.run()
    result = outcome.as_result(probe.dialogue)
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

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Findings: the catalogue of codes, the Finding record, the verdict of findings and the fail_on decision.

The catalogue is the single source of truth for codes; docs/findings.md documents the same list
(a unit test keeps both in sync).  Messages and fixes are ``str.format`` templates filled with the
parameters the engine knows at the time (host, port, timeout, server reply excerpts, ...).  Every finding
is made by ``make_finding`` from its catalogue entry (``Finding.with_severity`` changes only its severity
and stage); the verdict names and their order are ``_vocabulary``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ansible_collections.mailops.clients.plugins.module_utils._vocabulary import VERDICTS, worst_verdict


@dataclass(frozen=True)
class CatalogueEntry:
    severity: str
    stage: str
    message: str
    fix: str


_TLS_PORTS = "IMAP 993, POP3 995, SMTP 465"
_PLAIN_PORTS = "IMAP 143, POP3 110, SMTP submission 587"

CATALOGUE = {
    # --- connect -------------------------------------------------------------------------------
    "dns_failure": CatalogueEntry(
        "error",
        "connect",
        "cannot resolve host name {host!r}: {reason}",
        "Check the host name for typos and that it resolves on the managed node (getent hosts {host}); "
        "or use the IP address as host and the certificate name as server_name.",
    ),
    "connection_refused": CatalogueEntry(
        "error",
        "connect",
        "{host} port {port} refused the connection ({address})",
        "Nothing accepts connections on this port: check the port number (IMAP 993/143, POP3 995/110, "
        "SMTP 465/587/25), that the service runs and listens on this address, and firewall REJECT rules.",
    ),
    "connect_timeout": CatalogueEntry(
        "error",
        "connect",
        "no TCP connection to {host} port {port} within {timeout}s",
        "Packets are dropped on the way (firewall DROP rule, wrong address, host down). Check the address, "
        "the port and the firewalls between the managed node and the server; raise timeout for slow links.",
    ),
    "connect_failed": CatalogueEntry(
        "error",
        "connect",
        "cannot connect to {host} port {port}: {reason}",
        "The network stack refused the connection (no route, address family not available). Check the "
        "address and the routing from the managed node.",
    ),
    "insecure_plaintext_connection": CatalogueEntry(
        "warning",
        "connect",
        "security is none: the whole session, including any credentials, crosses the network unencrypted",
        "Use security tls (implicit TLS: " + _TLS_PORTS + ") or starttls (" + _PLAIN_PORTS + ").",
    ),
    # --- banner --------------------------------------------------------------------------------
    "banner_timeout": CatalogueEntry(
        "error",
        "banner",
        "connected, but the server sent no greeting within {timeout}s",
        "The service is overloaded or hangs, or it waits for the client to speak first; "
        "check the server logs and that the port is the mail service you expect. timeout bounds the whole "
        "check up to the login: raise it if the server is only slow.",
    ),
    "tls_on_plaintext_port": CatalogueEntry(
        "error",
        "banner",
        "the server sent no plaintext greeting but completed a TLS handshake ({version}): "
        "port {port} expects implicit TLS",
        "Use security tls for port {port}, or {protocol}'s STARTTLS port (usually {starttls_port}) with "
        "security starttls.",
    ),
    "wrong_protocol": CatalogueEntry(
        "error",
        "banner",
        "the server greets like {actual}, not {expected}: {reply!r}",
        "Port {port} serves {actual}, not {expected}. {advice} To check {expected} instead, use its port: "
        "usually {tls_port} with security tls, or {starttls_port} with security starttls.",
    ),
    "service_unavailable": CatalogueEntry(
        "error",
        "banner",
        "the server refused service in its greeting: {reply!r}",
        "The server is up but rejects this client (overload, connection limits, blocklists, maintenance); "
        "read the server logs for this client address.",
    ),
    "garbage_response": CatalogueEntry(
        "error",
        "banner",
        "the server sent something that is not {protocol}: {reply!r}",
        "The port is served by another kind of service or a broken proxy; check what listens on port {port}.",
    ),
    "response_too_long": CatalogueEntry(
        "error",
        "banner",
        "the server sent {what} longer than the {limit} limit; reading stopped there",
        "A mail server never sends this much in one reply: the port is served by something else or is broken.",
    ),
    "connection_closed": CatalogueEntry(
        "error",
        "banner",
        "the server closed the connection during the {stage} stage",
        "Check the server logs for this client address (connection limits, TLS or protocol errors, "
        "fail2ban-style bans).",
    ),
    # --- STARTTLS ------------------------------------------------------------------------------
    "starttls_not_offered": CatalogueEntry(
        "error",
        "starttls",
        "security is starttls, but the server does not advertise {command}; nothing was sent in plaintext",
        "Enable STARTTLS on the server (Dovecot: ssl = yes with a certificate; Postfix: smtpd_tls_security_level "
        "= may or encrypt), or use {protocol}'s implicit TLS port (usually {tls_port}) with security tls. Never "
        "fall back to plaintext.",
    ),
    "starttls_failed": CatalogueEntry(
        "error",
        "starttls",
        "the server refused {command}: {reply!r}",
        "The server advertises STARTTLS but cannot start it (missing or unreadable certificate or key); "
        "check the server's TLS configuration and logs.",
    ),
    # --- TLS -----------------------------------------------------------------------------------
    "tls_timeout": CatalogueEntry(
        "error",
        "tls",
        "the TLS handshake did not complete within {timeout}s",
        "The server accepted the connection but did not answer the TLS ClientHello; check that the port "
        "speaks TLS and the server's TLS configuration.",
    ),
    "plaintext_on_tls_port": CatalogueEntry(
        "error",
        "tls",
        "security is tls, but the server sent a plaintext {actual} greeting: {reply!r}",
        "Port {port} speaks plaintext {actual}: use security starttls for it (none only if it offers no "
        "STARTTLS), or {protocol}'s implicit TLS port (usually {tls_port}) with security tls.",
    ),
    "tls_handshake_failed": CatalogueEntry(
        "error",
        "tls",
        "the TLS handshake failed: {reason}",
        "Compare the protocol versions and ciphers both sides allow (openssl s_client -connect {host}:{port}); "
        "check the server's TLS logs.",
    ),
    "tls_version_too_old": CatalogueEntry(
        "error",
        "tls",
        "the server negotiates at most {version}, below tls_min_version {minimum}",
        "Enable TLS 1.2 and 1.3 on the server (Dovecot: ssl_min_protocol = TLSv1.2; Postfix: "
        "smtpd_tls_protocols = >=TLSv1.2), or lower tls_min_version if you accept the risk.",
    ),
    "tls_version_deprecated": CatalogueEntry(
        "warning",
        "tls",
        "the connection uses {version}, deprecated by RFC 8996",
        "Enable TLS 1.2 or newer on the server, then raise tls_min_version back to TLSv1.2.",
    ),
    "cert_expired": CatalogueEntry(
        "error",
        "tls",
        "the server certificate expired on {not_after} ({days} days ago){enforcement}",
        "Renew the certificate (certbot renew, or your CA) and reload the service; check that the service "
        "uses the renewed file (Dovecot ssl_cert, Postfix smtpd_tls_chain_files).",
    ),
    "cert_not_yet_valid": CatalogueEntry(
        "error",
        "tls",
        "the server certificate is not valid before {not_before}{enforcement}",
        "Check the clocks of the server, the managed node and the CA (NTP); or the certificate was issued "
        "with a future start date.",
    ),
    "cert_hostname_mismatch": CatalogueEntry(
        "error",
        "tls",
        "the server certificate does not cover {server_name!r} (names in the certificate: {names}){enforcement}",
        "Connect with a name the certificate covers (set host, or server_name when connecting by address), "
        "or issue a certificate that includes {server_name}.",
    ),
    "cert_self_signed": CatalogueEntry(
        "error",
        "tls",
        "the server certificate is self-signed ({subject}){enforcement}",
        "Install a certificate from a CA the clients trust, or give the self-signed certificate to the "
        "clients (ca_path here) if that is deliberate.",
    ),
    "cert_untrusted": CatalogueEntry(
        "error",
        "tls",
        "the certificate chain does not lead to a trusted CA (issuer {issuer}): {reason}",
        "Serve the full chain (leaf + intermediates: Dovecot ssl_cert, Postfix smtpd_tls_chain_files), or, "
        "for a private CA, set ca_path to that CA's certificate.",
    ),
    "cert_expiring_soon": CatalogueEntry(
        "warning",
        "tls",
        "the server certificate expires on {not_after}, in {days} days (warning threshold {threshold} days)",
        "Renew the certificate before it expires and check that automatic renewal works.",
    ),
    "cert_not_verified": CatalogueEntry(
        "warning",
        "tls",
        "validate_certs is false: the certificate chain and name were not enforced",
        "Set validate_certs: true (with ca_path for a private CA); clients will verify the certificate.",
    ),
    # --- capabilities --------------------------------------------------------------------------
    "command_timeout": CatalogueEntry(
        "error",
        "capabilities",
        "no complete answer to {command} within {timeout}s",
        "The server hangs or is overloaded; check its logs and load. timeout bounds the whole check up to "
        "the login: raise it if the server is only slow.",
    ),
    "command_rejected": CatalogueEntry(
        "error",
        "capabilities",
        "the server rejected {command}: {reply!r}",
        "The server does not follow {protocol} as expected; check the server logs.",
    ),
    "plaintext_auth_before_tls": CatalogueEntry(
        "warning",
        "capabilities",
        "the server offers password login before STARTTLS ({offered}); clients that do not enforce "
        "STARTTLS may send passwords unencrypted",
        "Allow password login only after TLS (Dovecot: disable_plaintext_auth = yes; Postfix: "
        "smtpd_tls_auth_only = yes).",
    ),
    "cleartext_auth_only": CatalogueEntry(
        "error",
        "capabilities",
        "the server offers password login ({offered}) but no TLS on this port: passwords can only be sent "
        "unencrypted{opt_in}",
        "Enable STARTTLS on this port (Dovecot: ssl = yes; Postfix: smtpd_tls_security_level = encrypt on "
        "submission) or move users to the implicit TLS port.",
    ),
    "login_disabled": CatalogueEntry(
        "error",
        "capabilities",
        "the server refuses password login on this connection ({evidence})",
        "On a plaintext connection (security none), use security tls or starttls: the server only accepts "
        "passwords over TLS. On a TLS connection, the server refuses password login altogether: check its "
        "auth settings (Dovecot: auth_mechanisms, disable_plaintext_auth).",
    ),
    # --- auth ----------------------------------------------------------------------------------
    "auth_not_offered": CatalogueEntry(
        "error",
        "auth",
        "the server offers no authentication on this connection{context}",
        "Enable authentication on this port (Postfix: smtpd_sasl_auth_enable = yes on submission 587/465, "
        "with smtpd_sasl_type = dovecot; Dovecot: auth_mechanisms). An SMTP port 25 (MX) usually has no AUTH: "
        "clients submit on 587 (security starttls) or 465 (security tls).",
    ),
    "auth_mechanism_not_offered": CatalogueEntry(
        "error",
        "auth",
        "auth_mechanism {mechanism} is not offered by the server (offered: {offered})",
        "Pick one of the offered mechanisms (or auth_mechanism auto), or enable {mechanism} on the server "
        "(Dovecot: auth_mechanisms).",
    ),
    "no_common_auth_mechanism": CatalogueEntry(
        "error",
        "auth",
        "no offered mechanism fits the given credentials (offered: {offered}; usable with {credential}: {usable})",
        "Enable a mechanism for this credential type on the server (Dovecot: auth_mechanisms = plain login "
        "for passwords, oauthbearer xoauth2 for tokens).",
    ),
    "auth_failed": CatalogueEntry(
        "error",
        "auth",
        "authentication of {username!r} with {mechanism} failed: {reply!r}",
        "Check the user name (often the full address) and the password or token; the server log says which "
        "(Dovecot: auth_verbose = yes). For tokens, check expiry, audience and scope.",
    ),
    "cleartext_credentials": CatalogueEntry(
        "warning",
        "auth",
        "credentials were sent with {mechanism} over an unencrypted connection",
        "Use security tls or starttls; consider the password exposed and change it if the network is not trusted.",
    ),
    # --- logout --------------------------------------------------------------------------------
    "logout_failed": CatalogueEntry(
        "warning",
        "logout",
        "the session did not end cleanly: {reason}",
        "Usually harmless; check the server logs if it happens on every connection.",
    ),
    # --- accounts ------------------------------------------------------------------------------
    "account_failures": CatalogueEntry(
        "error",
        "auth",
        "{failed} of {total} accounts did not pass: {names}",
        "See the accounts list in the result for each account's findings.",
    ),
    "account_not_checked": CatalogueEntry(
        "error",
        "auth",
        "not checked: the endpoint itself failed ({codes})",
        "Fix the endpoint findings first; the accounts are checked once a connection works.",
    ),
    # --- the verify role (plugin_utils/_verified.py): what a module result did not say ------------
    "module_failed": CatalogueEntry(
        "error",
        "module",
        "{reason}",
        "Read the message: a module option (mailops_verify_options, the server definition) was refused, or the "
        "probe host could not run the module (its Python, the collection on it, the connection to it).",
    ),
    "login_not_reported": CatalogueEntry(
        "error",
        "auth",
        "the module reported no login result for this account",
        "The result has no entry for this account, so it counts as not verified: run the same mailops.clients "
        "version on the controller and the probe host (update the collection), then run again.",
    ),
    # --- mail_roundtrip ------------------------------------------------------------------------
    "message_rejected": CatalogueEntry(
        "error",
        "send",
        "the SMTP server rejected the test message at {command}: {reply!r}",
        "Check that the authenticated user may send as from_address (Postfix: smtpd_sender_login_maps) and "
        "that to_address is accepted (relay and recipient restrictions).",
    ),
    "delivery_timeout": CatalogueEntry(
        "error",
        "deliver",
        "the test message did not arrive in the mailbox within {wait}s",
        "Check the mail queue (postqueue -p) and the delivery logs for the message id; raise wait_timeout "
        "for slow filters.",
    ),
    "cleanup_failed": CatalogueEntry(
        "warning",
        "cleanup",
        "the test message could not be removed from the mailbox: {reason}",
        "Delete the message with the given message_id by hand.",
    ),
    # --- mail_settings_info (plugin_utils/_discovery_engine.py): what discovery found or refused ------
    "discovery_document_untrusted": CatalogueEntry(
        "warning",
        "discovery",
        "{source} document at {url} was {how}: its servers were used only as candidates to probe",
        "Publish the document over HTTPS with a certificate that verifies for the host name in the URL.",
    ),
    "discovery_candidate_failed": CatalogueEntry(
        "warning",
        "discovery",
        "{source} ({where}) names {endpoint}, which did not verify: {reason}",
        "Correct or remove this server in the {source} data, or make the server answer as described.",
    ),
    "discovery_sources_disagree": CatalogueEntry(
        "info",
        "discovery",
        "sources disagree on the {direction} server: {choices}",
        "Publish the same settings everywhere (autoconfig, Autodiscover and SRV records) so every client agrees.",
    ),
    "discovery_service_not_offered": CatalogueEntry(
        "info",
        "discovery",
        "SRV {name} says the service is not offered (target '.')",
        "Nothing to do if the service is indeed not offered (RFC 2782).",
    ),
    "discovery_cleartext_only": CatalogueEntry(
        "error",
        "discovery",
        "the only {direction} server that answered is {endpoint} without encryption: passwords and mail "
        "would cross the network in cleartext",
        "Offer TLS (IMAP 993, POP3 995, SMTP 465) or STARTTLS on the server before using these settings; "
        "the entry needs allow_insecure: true in mailops_servers.",
    ),
    "discovery_cleartext_refused": CatalogueEntry(
        "error",
        "discovery",
        "{endpoint} answers without encryption, but an encrypted {direction} server answered and failed "
        "({reason}): an attacker on the path could cause exactly this, so the cleartext server is not proposed",
        "Fix the encrypted server's problem (certificate name, chain, expiry, the login) and discover again.",
    ),
    "discovery_nothing_verified": CatalogueEntry(
        "error",
        "discovery",
        "no {direction} server for {domain} verified ({tried} candidates tried)",
        "Check the domain for typos; publish an autoconfig document or RFC 6186 SRV records, or set the "
        "server by hand in mailops_servers.",
    ),
    "discovery_timeout": CatalogueEntry(
        "warning",
        "discovery",
        "discovery stopped at the {timeout}s timeout; {pending} source(s) or probe(s) had not finished",
        "Raise timeout if the servers are slow; settings found so far are still verified.",
    ),
    # --- the verify role's round trips (module_utils/_roundtrips.py) ------------------------------------
    "roundtrip_delivered_elsewhere": CatalogueEntry(
        "error",
        "deliver",
        "the test message to {recipient} arrived in the mailbox of {found_user} at {found_at}, not in this "
        "account's mailbox (removed there: {deleted})",
        "Mail for {recipient} is routed to another mailbox: check the alias and virtual maps for it (Postfix: "
        "postmap -q {recipient} against virtual_alias_maps and alias_maps) and the account's incoming user name.",
    ),
    "roundtrip_latency_high": CatalogueEntry(
        "warning",
        "deliver",
        "the test message took {latency}s to arrive (warning threshold {threshold}s)",
        "Delivery works but is slow: check the queue (postqueue -p), content filters and the delivery logs; raise "
        "mailops_verify_roundtrip_latency_warn if this delay is expected.",
    ),
    "roundtrip_budget_exhausted": CatalogueEntry(
        "error",
        "deliver",
        "the round trip did not run: the total budget of {budget}s was used up by the round trips before it",
        "Raise mailops_verify_roundtrip_budget or mailops_verify_roundtrip_concurrency, or select fewer accounts "
        "(roundtrip: false on an account or server).",
    ),
    "roundtrip_not_possible": CatalogueEntry(
        "info",
        "deliver",
        "no round trip for this account: {reason}",
        "The round trip logs in with the account's password: give the account a password and password "
        "authentication, or set roundtrip: false on it.",
    ),
}


@dataclass
class Finding:
    code: str
    severity: str
    stage: str
    message: str
    fix: str

    def as_dict(self):
        return {
            "code": self.code,
            "severity": self.severity,
            "stage": self.stage,
            "message": self.message,
            "fix": self.fix,
        }

    def with_severity(self, severity, stage=None):
        """The same finding at another severity (and stage): message and fix stay the catalogue's."""
        return replace(self, severity=severity, stage=stage or self.stage)


class _Params(dict):
    def __missing__(self, key):
        raise KeyError(f"finding template needs parameter {key!r}")


def make_finding(code, severity=None, stage=None, **params):
    """Build a Finding from the catalogue; ``severity``/``stage`` override the defaults.

    ``{stage}`` in a template is the finding's stage; every other placeholder must be in ``params``.
    """
    entry = CATALOGUE[code]
    stage = stage or entry.stage
    values = _Params(params, stage=stage)
    return Finding(
        code=code,
        severity=severity or entry.severity,
        stage=stage,
        message=entry.message.format_map(values),
        fix=entry.fix.format_map(values),
    )


def verdict(findings):
    """ok, warning or error: the worst severity among the findings (info never counts)."""
    severities = (f.severity if isinstance(f, Finding) else f["severity"] for f in findings)
    return worst_verdict(s for s in severities if s in VERDICTS)


def reaches_fail_on(result_verdict, fail_on):
    """True when a result with this verdict must fail the task for this fail_on setting."""
    if fail_on == "never":
        return False
    if fail_on == "warning":
        return result_verdict in ("warning", "error")
    return result_verdict == "error"


def failure_message(endpoint_label, findings, fail_on, account_results=()):
    """The module's failure msg: the endpoint and every finding at or above fail_on (code: message)."""
    wanted = ("warning", "error") if fail_on == "warning" else ("error",)
    parts = [f"{f['code']}: {f['message']}" for f in findings if f["severity"] in wanted]
    for account in account_results:
        parts.extend(
            f"{account['username']}: {f['code']}: {f['message']}"
            for f in account["findings"]
            if f["severity"] in wanted
        )
    level = "warning or error" if fail_on == "warning" else "error"
    return f"{endpoint_label} did not pass (fail_on={fail_on}, {level} findings): " + "; ".join(parts)


def excerpt(text, secrets=(), limit=120):
    """A short, printable, secret-free rendering of server text for messages."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<hidden>")
    text = "".join(c if c.isprintable() else "\ufffd" for c in text)
    return text if len(text) <= limit else text[:limit] + "..."

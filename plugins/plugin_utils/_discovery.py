# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mail settings discovery, the pure part: URLs, documents, SRV answers, guesses, ranking, findings.

No network here (``_discovery_engine`` fetches and probes). Facts and their sources:

- Thunderbird's account setup (comm-central ``mail/components/accountcreation``): the provider's
  ``https://autoconfig.<domain>/mail/config-v1.1.xml`` then ``https://<domain>/.well-known/autoconfig/mail/
  config-v1.1.xml`` and their ``http://`` forms, with ``?emailaddress=`` (``FetchConfig.sys.mjs``); the
  ISPDB at ``mailnews.auto_config_url`` + domain; the MX host's base domain in the ISPDB; Exchange
  Autodiscover (``ExchangeAutoDiscover.sys.mjs``); guessing (``GuessConfig.sys.mjs``: hosts ``imap.``,
  ``pop3.``, ``pop.``, ``mail.``, the bare domain; ``smtp.``, ``mail.``, the bare domain).
- The clientConfig 1.1 document (``readFromXML.sys.mjs``): ``incomingServer``/``outgoingServer`` with
  ``hostname``, ``port``, ``socketType`` (plain | SSL | STARTTLS), ``username``, ``authentication``;
  placeholders ``%EMAILADDRESS%``, ``%EMAILLOCALPART%``, ``%EMAILDOMAIN%``, ``%REALNAME%``; invalid
  entries are skipped; servers of one direction are listed in preference order.
- RFC 6186 §3 (``_imap``, ``_imaps``, ``_pop3``, ``_pop3s``, ``_submission``) and RFC 8314 §7.3
  (``_submissions``); RFC 2782: lower priority first, a target of "." means the service is decidedly not
  available.
- Microsoft's POX Autodiscover reference (Outlook request schema 2006, response schema 2006a): ``Protocol``
  with ``Type``, ``Server``, ``Port``, ``LoginName``, ``SPA``, ``SSL``, ``Encryption``; ``SSL`` and ``SPA``
  are on when absent; Thunderbird reads ``SSL`` off or ``Encryption`` None as plain, ports 143/110/25/587
  as STARTTLS, others as implicit TLS.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from urllib.parse import quote
from xml.parsers import expat

from ansible_collections.mailops.clients.plugins.plugin_utils._thunderbird import XML_AUTH, XML_SOCKET_TYPES

SOURCES = ("autoconfig", "wellknown", "ispdb", "mx", "srv", "autodiscover", "guess")
# Thunderbird's default mailnews.auto_config_url (mailnews/mailnews.js)
DEFAULT_ISPDB_URL = "https://autoconfig.thunderbird.net/v1.1/"
MAX_DOCUMENT = 1 << 20
SECURITY_ORDER = ("tls", "starttls", "none")
INCOMING_ORDER = ("imap", "pop3")
DIRECTIONS = ("incoming", "outgoing")

# RFC 6186 §3.1/§3.2 and RFC 8314 §7.3: SRV label -> (direction, protocol, security)
SRV_SERVICES = {
    "_imaps._tcp": ("incoming", "imap", "tls"),
    "_imap._tcp": ("incoming", "imap", "starttls"),
    "_pop3s._tcp": ("incoming", "pop3", "tls"),
    "_pop3._tcp": ("incoming", "pop3", "starttls"),
    "_submissions._tcp": ("outgoing", "smtp", "tls"),
    "_submission._tcp": ("outgoing", "smtp", "starttls"),
}
AUTODISCOVER_SRV = "_autodiscover._tcp"

# readFromXML.sys.mjs spellings -> inventory spellings: the reverse of what the Thunderbird renderer writes,
# plus the deprecated aliases plain and secure and the outgoing-only client-IP-address (no login: none)
_SOCKET_TYPES = {xml.lower(): ours for ours, xml in XML_SOCKET_TYPES.items()}
_AUTHS = dict(
    {xml.lower(): ours for ours, xml in XML_AUTH.items()},
    plain="password",
    secure="password-encrypted",
    **{"client-ip-address": "none"},
)
_PROTOCOLS = {"imap": "imap", "pop3": "pop3", "smtp": "smtp"}
_HOST_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")

AUTODISCOVER_REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
AUTODISCOVER_RESPONSE_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"


class DiscoveryError(ValueError):
    """An option or an address that cannot be used; the message names the field and the fix."""


class DocumentError(ValueError):
    """A fetched document that cannot be used; the message says why."""


@dataclass(frozen=True)
class Candidate:
    """One server a source named: where, how, and who said so."""

    direction: str
    protocol: str
    host: str
    port: int
    security: str
    auth: str = "password"
    source: str = ""
    url: str = ""
    trusted: bool = True
    username: str | None = None
    rank_in_source: int = 0

    @property
    def key(self):
        return (self.direction, self.protocol, self.host.lower().rstrip("."), self.port, self.security)


@dataclass
class SourceReport:
    """What one source returned, or why it did not."""

    status: str = "skipped"  # found | empty | failed | skipped | not_offered
    detail: str = ""
    urls: list = field(default_factory=list)
    candidates: list = field(default_factory=list)
    findings: list = field(default_factory=list)
    not_offered: list = field(default_factory=list)  # (protocol, security) an SRV "." rules out

    def as_dict(self):
        return {
            "status": self.status,
            "detail": self.detail,
            "urls": list(self.urls),
            "candidates": len(self.candidates),
        }


# --------------------------------------------------------------------------------------------------
# Addresses and URLs


def split_email(email, field_name="email"):
    """(local part, lower-cased domain) of an address; DiscoveryError naming the field otherwise."""
    if not isinstance(email, str) or not _EMAIL_RE.match(email.strip()):
        raise DiscoveryError(f"{field_name}: expected an email address like alice@example.org, got {email!r}")
    local, domain = email.strip().rsplit("@", 1)
    domain = domain.lower().rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise DiscoveryError(f"{field_name}: the domain of {email!r} is not a valid host name") from None
    if not _HOST_RE.match(domain):
        raise DiscoveryError(f"{field_name}: the domain of {email!r} is not a valid host name")
    return local, domain


def autoconfig_urls(domain, email, send_email_address=True):
    """The provider's autoconfig URLs in Thunderbird's order: (source, url, https)."""
    query = f"?emailaddress={quote(email, safe='@')}" if send_email_address else ""
    return [
        ("autoconfig", f"https://autoconfig.{domain}/mail/config-v1.1.xml{query}", True),
        ("wellknown", f"https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml{query}", True),
        ("autoconfig", f"http://autoconfig.{domain}/mail/config-v1.1.xml{query}", False),
        ("wellknown", f"http://{domain}/.well-known/autoconfig/mail/config-v1.1.xml{query}", False),
    ]


def ispdb_url(base, domain):
    """The ISPDB URL for ``domain`` (``mailnews.auto_config_url`` + domain)."""
    return base.rstrip("/") + "/" + quote(domain)


def autodiscover_urls(domain):
    """ExchangeAutoDiscover.sys.mjs order: autodiscover.<d> over https, <d> over https, autodiscover.<d> over http."""
    return [
        f"https://autodiscover.{domain}/autodiscover/autodiscover.xml",
        f"https://{domain}/autodiscover/autodiscover.xml",
        f"http://autodiscover.{domain}/autodiscover/autodiscover.xml",
    ]


def mx_base_domains(mx_host):
    """Where Thunderbird looks up an MX host's provider: its base domain and one more label.

    Thunderbird asks the public suffix list for the eTLD+1; without that list the last two labels
    (``mx1.mail.provider.example`` -> ``provider.example``) and the last three are tried, in that order.
    """
    labels = mx_host.lower().rstrip(".").split(".")
    found = []
    for count in (2, 3):
        if len(labels) >= count:
            name = ".".join(labels[-count:])
            if name not in found:
                found.append(name)
    return found


def autodiscover_request(email):
    """The POX request body Outlook sends (UTF-8 XML bytes)."""
    root = ET.Element("Autodiscover", xmlns=AUTODISCOVER_REQUEST_NS)
    request = ET.SubElement(root, "Request")
    ET.SubElement(request, "EMailAddress").text = email
    ET.SubElement(request, "AcceptableResponseSchema").text = AUTODISCOVER_RESPONSE_SCHEMA
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# Documents


def _refuse_declarations(*_args):
    raise DocumentError("the document declares a DOCTYPE or entities, which a settings document never needs")


def _parse_xml(data):
    """Parse a fetched document; no DOCTYPE, no entity declarations (expat never fetches external ones)."""
    if len(data) > MAX_DOCUMENT:
        raise DocumentError(f"the document is larger than {MAX_DOCUMENT} bytes")
    # a first pass with expat's own handlers refuses declarations before ElementTree builds anything
    check = expat.ParserCreate()
    check.StartDoctypeDeclHandler = _refuse_declarations
    check.EntityDeclHandler = _refuse_declarations
    try:
        check.Parse(data, True)
        return ET.fromstring(data)  # noqa: S314 - declarations were refused above
    except (expat.ExpatError, ET.ParseError) as exc:
        raise DocumentError(f"not well-formed XML: {exc}") from None


def _document_root(data, name):
    root = _parse_xml(data)
    if _local(root.tag) != name:
        raise DocumentError(f"the root element is <{_local(root.tag)}>, not <{name}>")
    return root


def _child(element, name):
    """The first child element called ``name`` (any namespace), or None."""
    return next((c for c in element if _local(c.tag) == name), None)


def _local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(element, name):
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def substitute(text, email, realname=""):
    """Fill the clientConfig placeholders for ``email``."""
    local, domain = email.rsplit("@", 1)
    return (
        text.replace("%EMAILADDRESS%", email)
        .replace("%EMAILLOCALPART%", local)
        .replace("%EMAILDOMAIN%", domain.lower())
        .replace("%REALNAME%", realname)
    )


def username_form(template, email):
    """How a document spells the login: ``email``, ``local_part`` or the literal name."""
    template = (template or "").strip()
    if template in ("", "%EMAILADDRESS%"):
        return "email"
    if template == "%EMAILLOCALPART%":
        return "local_part"
    return substitute(template, email)


def _port(text):
    try:
        port = int(text)
    except (TypeError, ValueError):
        return None
    return port if 1 <= port <= 65535 else None


def parse_autoconfig(data, email, source, url="", trusted=True):
    """Candidates from a clientConfig 1.1 document, in the document's order; DocumentError if none is valid.

    Entries with an unknown type, socketType or authentication, a bad port or host are skipped, as
    Thunderbird skips them; the document fails only when nothing usable remains.
    """
    provider = _child(_document_root(data, "clientConfig"), "emailProvider")
    if provider is None:
        raise DocumentError("no <emailProvider> element")
    found = []
    skipped = []
    for element in provider:
        name = _local(element.tag)
        if name not in ("incomingServer", "outgoingServer"):
            continue
        direction = "incoming" if name == "incomingServer" else "outgoing"
        kind = (element.get("type") or "").lower()
        protocol = _PROTOCOLS.get(kind)
        if protocol is None or (direction == "incoming") == (protocol == "smtp"):
            skipped.append(f"{name} type {kind or '(none)'}")
            continue
        host = substitute(_child_text(element, "hostname"), email).lower().rstrip(".")
        port = _port(_child_text(element, "port"))
        security = _SOCKET_TYPES.get(_child_text(element, "socketType").lower())
        # several <authentication> elements: the first one this collection can express wins
        auths = [_AUTHS.get((c.text or "").strip().lower()) for c in element if _local(c.tag) == "authentication"]
        auth = next((a for a in auths if a), None)
        if not host or not _HOST_RE.match(host) or port is None or security is None or auth is None:
            skipped.append(f"{name} {host or '(no hostname)'}")
            continue
        found.append(
            Candidate(
                direction=direction,
                protocol=protocol,
                host=host,
                port=port,
                security=security,
                auth=auth,
                source=source,
                url=url,
                trusted=trusted,
                username=username_form(_child_text(element, "username"), email),
                rank_in_source=len(found),
            )
        )
    for direction in DIRECTIONS:
        if not any(c.direction == direction for c in found):
            extra = f" (skipped: {', '.join(skipped)})" if skipped else ""
            raise DocumentError(f"no usable {direction} server{extra}")
    return found


def _login_form(login, email):
    """POX ``LoginName`` is the literal login: the address, its local part or another name."""
    if not login or login.lower() == email.lower():
        return "email"
    if login == email.rsplit("@", 1)[0]:
        return "local_part"
    return login


def _flag(element, name, default):
    value = _child_text(element, name).lower()
    if value in ("on", "true"):
        return True
    if value in ("off", "false"):
        return False
    return default


def parse_autodiscover(data, email, url="", trusted=True):
    """(candidates, redirect address or None) from a POX Autodiscover response."""
    response = _child(_document_root(data, "Autodiscover"), "Response")
    if response is None:
        raise DocumentError("no <Response> element")
    error = _child(response, "Error")
    if error is not None:
        raise DocumentError(f"the server answered an error: {_child_text(error, 'Message') or 'no message'}")
    account = _child(response, "Account")
    if account is None:
        raise DocumentError("no <Account> element")
    action = _child_text(account, "Action").lower()
    if action == "redirectaddr":
        target = _child_text(account, "RedirectAddr")
        if not _EMAIL_RE.match(target):
            raise DocumentError(f"redirect to an invalid address {target!r}")
        return [], target
    found = []
    for element in account:
        if _local(element.tag) != "Protocol":
            continue
        protocol = {"IMAP": "imap", "POP3": "pop3", "SMTP": "smtp"}.get(_child_text(element, "Type").upper())
        host = _child_text(element, "Server").lower().rstrip(".")
        port = _port(_child_text(element, "Port"))
        if protocol is None or not host or not _HOST_RE.match(host) or port is None:
            continue
        encryption = _child_text(element, "Encryption").lower()
        if encryption == "none" or not _flag(element, "SSL", True):
            security = "none"
        elif port in (143, 110, 25, 587):
            security = "starttls"
        else:
            security = "tls"
        login = _child_text(element, "LoginName")
        found.append(
            Candidate(
                direction="outgoing" if protocol == "smtp" else "incoming",
                protocol=protocol,
                host=host,
                port=port,
                security=security,
                auth="ntlm" if _flag(element, "SPA", True) else "password",
                source="autodiscover",
                url=url,
                trusted=trusted,
                username=_login_form(login, email),
                rank_in_source=len(found),
            )
        )
    if not found:
        raise DocumentError("no IMAP, POP3 or SMTP <Protocol> in the response")
    return found, None


# --------------------------------------------------------------------------------------------------
# SRV answers and guesses


def srv_candidates(label, records):
    """Candidates from the SRV records of one RFC 6186 label; ``records`` are (priority, weight, port, target).

    Returns (candidates, not_offered): RFC 2782's single "." target means the service is not offered.
    Ordered by priority, then by weight (heavier first: a deterministic stand-in for the weighted draw).
    """
    direction, protocol, security = SRV_SERVICES[label]
    records = list(records)
    if len(records) == 1 and records[0][3].rstrip(".") == "":
        return [], True
    ordered = sorted(records, key=lambda r: (r[0], -r[1], r[3].lower(), r[2]))
    found = []
    for priority, _weight, port, target in ordered:
        host = target.lower().rstrip(".")
        if not host or not _HOST_RE.match(host) or not 1 <= port <= 65535:
            continue
        found.append(
            Candidate(direction, protocol, host, port, security, source="srv", url=f"{label}.", rank_in_source=priority)
        )
    return found, False


def guess_candidates(domain):
    """GuessConfig.sys.mjs's hosts and ports, in its order (encrypted first, IMAP before POP3, TLS first)."""
    incoming_hosts = [f"imap.{domain}", f"pop3.{domain}", f"pop.{domain}", f"mail.{domain}", domain]
    outgoing_hosts = [f"smtp.{domain}", f"mail.{domain}", domain]
    incoming_ways = [
        ("imap", 993, "tls"),
        ("imap", 143, "starttls"),
        ("pop3", 995, "tls"),
        ("pop3", 110, "starttls"),
        ("imap", 143, "none"),
        ("pop3", 110, "none"),
    ]
    outgoing_ways = [("smtp", 465, "tls"), ("smtp", 587, "starttls"), ("smtp", 25, "starttls"), ("smtp", 587, "none")]
    found = []
    for direction, hosts, ways in (
        ("incoming", incoming_hosts, incoming_ways),
        ("outgoing", outgoing_hosts, outgoing_ways),
    ):
        for protocol, port, security in ways:
            for host in hosts:
                if protocol == "imap" and host.startswith(("pop3.", "pop.")):
                    continue
                if protocol == "pop3" and host.startswith("imap."):
                    continue
                found.append(
                    Candidate(direction, protocol, host, port, security, source="guess", rank_in_source=len(found))
                )
    return found


# --------------------------------------------------------------------------------------------------
# Ranking and the result


def ruled_out(candidate, not_offered):
    """Whether an SRV "." for the candidate's service rules out a guessed candidate (RFC 2782)."""
    if candidate.source != "guess":
        return False
    security = "starttls" if candidate.security == "none" else candidate.security
    return (candidate.protocol, security) in not_offered or (candidate.protocol, "*") in not_offered


def merge(candidates):
    """One Candidate per endpoint key (the first, by source order), with every source that named it."""
    merged = {}
    named_by = {}
    for candidate in sorted(candidates, key=lambda c: (SOURCES.index(c.source), c.rank_in_source)):
        if candidate.key not in merged:
            merged[candidate.key] = candidate
            named_by[candidate.key] = []
        if candidate.source not in named_by[candidate.key]:
            named_by[candidate.key].append(candidate.source)
        if not merged[candidate.key].trusted and candidate.trusted:
            merged[candidate.key] = replace(merged[candidate.key], trusted=True)
    return list(merged.values()), named_by


def rank_key(candidate, verified):
    """Verified first, IMAP before POP3, implicit TLS before STARTTLS before none, then the source order."""
    protocol_rank = INCOMING_ORDER.index(candidate.protocol) if candidate.protocol in INCOMING_ORDER else 0
    return (
        0 if verified else 1,
        protocol_rank,
        SECURITY_ORDER.index(candidate.security),
        SOURCES.index(candidate.source),
        candidate.rank_in_source,
        candidate.host,
        candidate.port,
    )


def choose(candidates, verified):
    """The best verified Candidate per direction (or None): ``verified`` maps a key to True/False."""
    chosen = {}
    for direction in DIRECTIONS:
        mine = [c for c in candidates if c.direction == direction and verified.get(c.key)]
        chosen[direction] = min(mine, key=lambda c: rank_key(c, True)) if mine else None
    return chosen


def server_entry(chosen):
    """A ``mailops_servers`` entry from the chosen incoming and outgoing Candidates (None if one is missing)."""
    incoming, outgoing = chosen.get("incoming"), chosen.get("outgoing")
    if incoming is None or outgoing is None:
        return None
    entry = {
        "incoming": {
            "protocol": incoming.protocol,
            "host": incoming.host,
            "port": incoming.port,
            "security": incoming.security,
            "auth": incoming.auth,
        },
        "outgoing": {
            "host": outgoing.host,
            "port": outgoing.port,
            "security": outgoing.security,
            "auth": outgoing.auth,
        },
    }
    if "none" in (incoming.security, outgoing.security):
        entry["allow_insecure"] = True
    return entry


def endpoint_label(candidate):
    return f"{candidate.protocol}://{candidate.host}:{candidate.port}/{candidate.security}"


# Sources a "did you mean" suggestion may use: the domain's own (no third-party ISPDB, so no MX lookup in it).
OWN_SOURCES = ("autoconfig", "wellknown", "srv", "autodiscover", "guess")


def suggestion(endpoint, result):
    """A "did you mean" line for a failed endpoint from a discovery result for its account, or None.

    ``endpoint`` is the failed ``{protocol, host, port, security}``; ``result`` one address's result of
    ``mail_settings_info``. The best verified candidate of the same direction (the same protocol first) is
    proposed with the settings to change, e.g. ``imap.example.test:993 tls verified (source: srv) — set port
    993, security tls``; None when nothing verified or the best candidate is the failed endpoint itself.
    """
    direction = "outgoing" if endpoint.get("protocol") == "smtp" else "incoming"
    verified = [c for c in result.get("candidates") or [] if c["direction"] == direction and c["verified"]]
    if not verified:
        return None
    same = [c for c in verified if c["protocol"] == endpoint.get("protocol")]
    best = (same or verified)[0]
    changes = [
        f"{key} {best[key]}"
        for key in ("protocol", "host", "port", "security")
        if str(best[key]).lower() != str(endpoint.get(key, "")).lower()
    ]
    if not changes:
        return None
    return (
        f"{best['host']}:{best['port']} {best['security']} verified (source: {best['source']}) — "
        f"set {', '.join(changes)}"
    )

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Exchange Autodiscover (POX) responder for the verified mail domains of mailops.clients.publish.

A WSGI application (``application``), standard library only, Python 3.7 or later: it runs on the web host without
the collection. The domain plans come from the JSON file named by the environment variable
``MAILOPS_AUTODISCOVER_CONFIG`` (written by the publish role; read again when it changes)::

    {"example.com": {"username": "email" | "local_part", "display_name": "...",
                     "incoming": [{"protocol": "imap" | "pop3", "host", "port", "security", "auth"}, ...],
                     "outgoing": [{"protocol": "smtp", ...}], "autodiscover_host": "..."}}

Servers are in preference order; ``security`` is tls, starttls or none (plain); ``auth`` is the inventory's
(password, password-encrypted, ntlm, oauth2, none, ...).

Protocol, from Microsoft Learn's POX Autodiscover reference (Outlook request schema 2006, response schemas 2006
and 2006a): the client POSTs ``Autodiscover/Request`` with ``EMailAddress`` and ``AcceptableResponseSchema``
``.../outlook/responseschema/2006a``; the answer is ``Autodiscover/Response/Account`` with ``AccountType`` email,
``Action`` settings and one ``Protocol`` per server (``Type`` IMAP, POP3 or SMTP, ``Server``, ``Port``,
``DomainRequired``, ``LoginName``, ``SPA``, ``SSL``, ``Encryption``, ``AuthRequired``; SMTP also ``UsePOPAuth``).
``SSL`` and ``SPA`` are on when absent, so both are always written. ``Encryption`` TLS marks STARTTLS; ``SSL`` stays
on for it so that a client that ignores ``Encryption`` uses TLS rather than clear text.

Safety: only POST; the body is limited to MAX_BODY bytes (413 beyond); a DOCTYPE or entity declaration is refused
(no entity expansion, nothing external is ever fetched: expat without a DTD); an error answer is a fixed text that
never repeats the request. ``python3 autodiscover.py --check FILE`` checks a configuration file (exit status 1 and
the reason when it cannot be used), as the role does before installing one.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import xml.etree.ElementTree as ET  # noqa: S405  (writing only; requests are read with expat below)
from xml.parsers import expat

CONFIG_ENV = "MAILOPS_AUTODISCOVER_CONFIG"
MAX_BODY = 16384  # an Outlook request is about 350 bytes
MAX_ELEMENTS = 64
MAX_DEPTH = 8
PATH = "/autodiscover/autodiscover.xml"  # compared without case: Outlook asks /Autodiscover/Autodiscover.xml

NS_REQUEST = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
NS_RESPONSE = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
NS_OUTLOOK = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

POX_TYPES = {"imap": "IMAP", "pop3": "POP3", "smtp": "SMTP"}
POX_ENCRYPTION = {"tls": "SSL", "starttls": "TLS", "none": "None", "plain": "None"}
USERNAMES = {"email": "email", "%EMAILADDRESS%": "email", "local_part": "local_part", "%EMAILLOCALPART%": "local_part"}
_PROTOCOLS = {"incoming": ("imap", "pop3"), "outgoing": ("smtp",)}
_LOCAL_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

ERRORS = {
    400: "400 Bad Request",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    411: "411 Length Required",
    413: "413 Payload Too Large",
    415: "415 Unsupported Media Type",
    500: "500 Internal Server Error",
}
# fixed texts: an error never repeats what the client sent
REASONS = {
    "method": "only POST is answered here",
    "path": "no such resource",
    "length": "the request has no valid Content-Length",
    "size": "the request is larger than an Autodiscover request can be",
    "type": "the request must be XML (text/xml)",
    "xml": "the request is not well-formed XML",
    "doctype": "a DOCTYPE or entity declaration is not accepted",
    "request": "not an Outlook Autodiscover request (requestschema 2006, EMailAddress)",
    "schema": "only the response schema outlook/responseschema/2006a is offered",
    "address": "the e-mail address is not valid",
    "domain": "no settings are published for this e-mail domain",
    "config": "the settings cannot be read; see the server's log",
}


class ConfigError(ValueError):
    """The configuration file cannot be used; the message names the entry."""


class RequestError(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


# -- configuration ---------------------------------------------------------------------------------------------


def dns_name(value):
    """A host or domain name in lower-case A-labels (IDNA 2003, the standard library's codec), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    name = value.strip().rstrip(".")
    try:
        name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    if len(name) > 253 or not all(_LABEL_RE.match(label) for label in name.split(".")):
        return None
    return name


def _server(entry, direction, where):
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a dictionary with protocol, host, port and security")
    protocol = entry.get("protocol")
    if protocol not in _PROTOCOLS[direction]:
        raise ConfigError(f"{where}.protocol: expected one of {', '.join(_PROTOCOLS[direction])}")
    host = dns_name(entry.get("host"))
    if host is None:
        raise ConfigError(f"{where}.host: not a valid host name")
    port = entry.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"{where}.port: not a port number (1 to 65535)")
    security = entry.get("security", "tls")
    if security not in POX_ENCRYPTION:
        raise ConfigError(f"{where}.security: expected tls, starttls or none")
    auth = entry.get("auth", "password")
    if not isinstance(auth, str):
        raise ConfigError(f"{where}.auth: expected a word such as password, ntlm or none")
    return {"protocol": protocol, "host": host, "port": port, "security": security, "auth": auth}


def check_config(data):
    """The domain plans, checked: ``{domain (A-labels, lower case): {username, incoming, outgoing}}``."""
    if not isinstance(data, dict):
        raise ConfigError("the file must hold a JSON object of mail domain to its settings")
    domains = {}
    for raw, entry in data.items():
        domain = dns_name(raw)
        if domain is None:
            raise ConfigError(f"{raw!r}: not a valid domain name")
        if domain in domains:
            raise ConfigError(f"{raw!r}: the domain {domain} is listed twice")
        if not isinstance(entry, dict):
            raise ConfigError(f"{domain}: expected an object with username, incoming and outgoing")
        username = USERNAMES.get(entry.get("username", "email"))
        if username is None:
            raise ConfigError(f"{domain}.username: expected email or local_part")
        servers = {}
        for direction in ("incoming", "outgoing"):
            items = entry.get(direction) or []
            if not isinstance(items, list):
                raise ConfigError(f"{domain}.{direction}: expected a list of servers")
            where = f"{domain}.{direction}"
            servers[direction] = [_server(s, direction, f"{where}[{i}]") for i, s in enumerate(items)]
        if not servers["incoming"] and not servers["outgoing"]:
            raise ConfigError(f"{domain}: no incoming and no outgoing server")
        domains[domain] = {"username": username, "incoming": servers["incoming"], "outgoing": servers["outgoing"]}
    return domains


def load_config(path):
    try:
        with open(path, "rb") as handle:
            raw = handle.read(16 * 1024 * 1024 + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > 16 * 1024 * 1024:
        raise ConfigError(f"{path} is larger than 16 MiB")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path} is not JSON: {exc}") from None
    return check_config(data)


class _Settings:
    """The configuration of ``MAILOPS_AUTODISCOVER_CONFIG``, read again when the file changes (mtime, size)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._stamp = None
        self._domains = None

    def domains(self):
        path = os.environ.get(CONFIG_ENV)
        if not path:
            raise ConfigError(f"the environment variable {CONFIG_ENV} is not set")
        try:
            st = os.stat(path)
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
        stamp = (path, st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            if stamp != self._stamp:
                self._domains = load_config(path)
                self._stamp = stamp
            return self._domains


SETTINGS = _Settings()


# -- the request -----------------------------------------------------------------------------------------------


def _refuse(*_args):
    raise RequestError(400, "doctype")


def parse_request(body):
    """``(email address, acceptable response schema)`` from a POX request body (bytes); RequestError otherwise."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack = []
    texts = {}
    count = [0]

    def start(name, _attributes):
        count[0] += 1
        if count[0] > MAX_ELEMENTS or len(stack) >= MAX_DEPTH:
            raise RequestError(400, "request")
        stack.append(name)
        path = tuple(stack)
        if path in texts:
            raise RequestError(400, "request")  # a repeated EMailAddress is ambiguous
        texts[path] = []

    def end(_name):
        stack.pop()

    def chars(data):
        if stack:
            texts[tuple(stack)].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(body, True)
    except expat.ExpatError:
        raise RequestError(400, "xml") from None
    root = NS_REQUEST + " Autodiscover"
    request = NS_REQUEST + " Request"
    email = texts.get((root, request, NS_REQUEST + " EMailAddress"))
    schema = texts.get((root, request, NS_REQUEST + " AcceptableResponseSchema"))
    if email is None or schema is None:
        raise RequestError(400, "request")
    if "".join(schema).strip() != NS_OUTLOOK:
        raise RequestError(400, "schema")
    return "".join(email).strip(), NS_OUTLOOK


def split_address(email):
    """``(local part, domain in A-labels)``; RequestError 400 for an address that cannot be one."""
    if len(email) > 254 or email.count("@") != 1:
        raise RequestError(400, "address")
    local, domain = email.split("@")
    domain = dns_name(domain)
    if not _LOCAL_RE.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise RequestError(400, "address")
    if domain is None or "." not in domain:
        raise RequestError(400, "address")
    return local, domain


# -- the response ----------------------------------------------------------------------------------------------


def _flag(value):
    return "on" if value else "off"


def _protocol(parent, server, login, smtp_reuses_login):
    # the elements, their order and their values are those of the Autodiscover XML files the outlook role writes
    # (plugin_utils/_outlook.py): one account gets one answer whichever way Outlook finds it
    needs_login = server["auth"] != "none"
    proto = ET.SubElement(parent, "Protocol")
    items = [
        ("Type", POX_TYPES[server["protocol"]]),
        ("Server", server["host"]),
        ("Port", str(server["port"])),
        ("DomainRequired", "off"),
        ("LoginName", login),
        ("SPA", _flag(server["auth"] == "ntlm")),
        ("SSL", _flag(server["security"] not in ("none", "plain"))),
        ("Encryption", POX_ENCRYPTION[server["security"]]),
        ("AuthRequired", _flag(needs_login)),
    ]
    if server["protocol"] == "smtp":
        items.append(("UsePOPAuth", _flag(needs_login and smtp_reuses_login)))
    for tag, text in items:
        ET.SubElement(proto, tag).text = text


def response_xml(email, plan):
    """The POX response (UTF-8 bytes) for ``email`` in a domain of ``plan`` (one checked domain entry)."""
    local = email.rsplit("@", 1)[0]
    login = email if plan["username"] == "email" else local
    root = ET.Element("Autodiscover", {"xmlns": NS_RESPONSE})
    response = ET.SubElement(root, "Response", {"xmlns": NS_OUTLOOK})
    account = ET.SubElement(response, "Account")
    ET.SubElement(account, "AccountType").text = "email"
    ET.SubElement(account, "Action").text = "settings"
    # one login for the domain: SMTP can reuse the incoming one when the preferred incoming server needs a login
    incoming_login = bool(plan["incoming"]) and plan["incoming"][0]["auth"] != "none"
    for server in plan["incoming"] + plan["outgoing"]:
        _protocol(account, server, login, incoming_login)
    # the declaration by hand: tostring(xml_declaration=) needs Python 3.8
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8")


# -- WSGI ------------------------------------------------------------------------------------------------------


def _content_length(environ):
    value = environ.get("CONTENT_LENGTH") or ""
    if not value:
        return None
    if not value.isdigit():
        raise RequestError(400, "length")
    return int(value)


def _read_body(environ):
    length = _content_length(environ)
    if length is not None and length > MAX_BODY:
        raise RequestError(413, "size")
    stream = environ["wsgi.input"]
    if length is None:
        # chunked or unknown length: read one byte more than allowed to see whether it is too large
        if environ.get("HTTP_TRANSFER_ENCODING", "").lower() != "chunked":
            raise RequestError(411, "length")
        body = stream.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise RequestError(413, "size")
        return body
    body = stream.read(length) if length else b""
    if len(body) != length:
        raise RequestError(400, "length")
    return body


def _check_content_type(environ):
    value = (environ.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()
    if value and value not in ("text/xml", "application/xml") and not value.endswith("+xml"):
        raise RequestError(415, "type")


def answer(environ):
    """``(status, headers, body)`` for one request."""
    path = (environ.get("PATH_INFO") or "/").lower()
    if path != PATH:
        raise RequestError(404, "path")
    if environ.get("REQUEST_METHOD") != "POST":
        raise RequestError(405, "method")
    _check_content_type(environ)
    body = _read_body(environ)
    email, _schema = parse_request(body)
    _local, domain = split_address(email)
    try:
        domains = SETTINGS.domains()
    except ConfigError as exc:
        print(f"mailops-autodiscover: {exc}", file=environ.get("wsgi.errors") or sys.stderr)
        raise RequestError(500, "config") from None
    plan = domains.get(domain)
    if plan is None:
        raise RequestError(404, "domain")
    data = response_xml(email, plan)
    headers = [
        ("Content-Type", "text/xml; charset=utf-8"),
        ("Content-Length", str(len(data))),
        # the answer names the user's login: no shared cache may keep it
        ("Cache-Control", "private, no-store"),
    ]
    return "200 OK", headers, data


def application(environ, start_response):
    try:
        status, headers, body = answer(environ)
    except RequestError as exc:
        body = (REASONS[exc.reason] + "\n").encode("ascii")
        status = ERRORS[exc.status]
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ]
        if exc.status == 405:
            headers.append(("Allow", "POST"))
    start_response(status, headers)
    return [body]


def main(argv):
    if len(argv) == 3 and argv[1] == "--check":
        try:
            domains = load_config(argv[2])
        except ConfigError as exc:
            print(f"autodiscover: {exc}", file=sys.stderr)
            return 1
        print(f"autodiscover: {len(domains)} domain(s): {', '.join(sorted(domains))}")
        return 0
    print(f"usage: {argv[0]} --check CONFIG.json   (the WSGI application is autodiscover:application)")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

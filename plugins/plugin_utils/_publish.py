# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the publish role puts on the web: the domain plan and the documents made from it.

Pure functions, no Ansible. ``plan_domains`` turns ``mailops_publish_domains`` (mail domain -> servers of
``mailops_servers``) into THE domain plan, the one input of every published form (autoconfig XML, the Apple
profile, the Autodiscover responder, the SRV records)::

    {"example.test": {"username": "email" | "local_part", "display_name": "Example",
                      "incoming": [{"protocol": "imap", "host": ..., "port": 993, "security": "tls", "auth": ...}],
                      "outgoing": [{"protocol": "smtp", ...}], "autodiscover_host": "autoconfig.example.test"}}

Servers are in preference order (the order of the domain's ``server`` list); ``security`` is ``tls``,
``starttls`` or ``plain``. A domain enters the plan only when every endpoint it names passed the verify gate
(``_verified.gate``, the rule of every renderer): a domain that did not is reported in ``refused`` and its
published documents are left as they are. ``render_documents`` makes the files of one planned domain with the
renderers the client roles use (``_thunderbird.render_autoconfig_xml``, ``_apple.render_profiles``), so a
published document and a deployed one never disagree.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence

from ansible_collections.mailops.clients.plugins.plugin_utils import _apple, _cms, _thunderbird
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import (
    InventoryError,
    dns_name,
    normalize_account,
)
from ansible_collections.mailops.clients.plugins.plugin_utils._values import kind
from ansible_collections.mailops.clients.plugins.plugin_utils._verified import VerifyError, gate

DOMAIN_KEYS = ("server", "username", "display_name", "autodiscover_host")
USERNAMES = ("email", "local_part")
# the plan's name of each inventory security value (clientConfig's socketType "plain" for none)
PLAN_SECURITY = {"tls": "tls", "starttls": "starttls", "none": "plain"}
INVENTORY_SECURITY = {value: key for key, value in PLAN_SECURITY.items()}
ENDPOINT_KEYS = ("protocol", "host", "port", "security", "auth")
# The sample mailbox the synthetic accounts carry; only its local part matters (the username placeholder), it never
# reaches a document: autoconfig writes %EMAILADDRESS% / %EMAILLOCALPART%, the Apple profile leaves the address out.
SAMPLE_LOCAL_PART = "user"
# Keys the device asks for when they are missing (Apple's com.apple.mail.managed schema: EmailAddress,
# EmailAccountName, IncomingMailServerUsername, OutgoingMailServerUsername are "presence: optional", "the device
# prompts the user for this string during interactive profile installation").
APPLE_PROMPTED_KEYS = ("EmailAddress", "EmailAccountName", "IncomingMailServerUsername", "OutgoingMailServerUsername")
AUTOCONFIG_PATHS = ("mail/config-v1.1.xml", ".well-known/autoconfig/mail/config-v1.1.xml")


class PublishError(ValueError):
    """A publish setting that cannot be used; the message names the domain, the field and the fix."""


def _refuse_setting(domain, field, problem, fix) -> PublishError:
    where = f"mailops_publish_domains[{domain}]" + (f".{field}" if field else "")
    return PublishError(f"{where}: {problem}. Fix: {fix}.")


def domain_name(value) -> str:
    """A mail domain in lower-case A-label form, or PublishError."""
    name = dns_name(value)
    # a mail domain has at least two labels and, as a host name, no underscore (RFC 952, RFC 1123 section 2.1)
    if not name or "." not in name or "_" in name:
        raise PublishError(
            f"mailops_publish_domains: {value!r} is not a mail domain. Fix: use the part of the addresses after the "
            "@, such as example.com"
        )
    return name


def domains_from_accounts(accounts: Sequence[Mapping]) -> dict:
    """``mailops_publish_domains`` derived from normalized accounts: each domain with the servers its accounts use
    (first use first) and ``local_part`` when every one of them logs in with its local part, else ``email``.

    Accounts with inline settings (no server name) and absent accounts are not counted."""
    result: dict = {}
    for account in accounts:
        if account.get("state", "present") == "absent" or not account.get("server"):
            continue
        entry = result.setdefault(account["domain"], {"server": [], "usernames": set()})
        if account["server"] not in entry["server"]:
            entry["server"].append(account["server"])
        for direction in ("incoming", "outgoing"):
            side = account[direction]
            if side["auth"] != "none":
                local = side["username"] == account["local_part"]
                entry["usernames"].update(["local_part" if local else "email"])
    return {
        domain: {
            "server": entry["server"],
            "username": "local_part" if entry["usernames"] == {"local_part"} else "email",
        }
        for domain, entry in sorted(result.items())
    }


def _servers_of(domain, raw) -> list:
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, Sequence) or isinstance(names, (bytes, Mapping)) or not names:
        raise _refuse_setting(
            domain,
            "server",
            f"expected a server name or a list of them, got {kind(raw)}",
            "set server to a name from mailops_servers, or a list of names in preference order",
        )
    for name in names:
        if not isinstance(name, str) or not name:
            raise _refuse_setting(
                domain, "server", f"expected server names, got {kind(name)}", "list names from mailops_servers"
            )
    if len(set(names)) != len(names):
        raise _refuse_setting(domain, "server", "a server is named twice", "name each server once")
    return list(names)


def domain_accounts(domain: str, entry: Mapping, servers: Mapping) -> list[dict]:
    """One normalized account per server of the domain (the renderers' input), ``id`` ``<domain>/<server>``."""
    username = entry.get("username", "email")
    if username not in USERNAMES:
        raise _refuse_setting(domain, "username", f"unknown value {username!r}", "use email or local_part")
    accounts = []
    for name in _servers_of(domain, entry.get("server")):
        email = f"{SAMPLE_LOCAL_PART}@{domain}"
        raw = {"email": email, "server": name, "username": email if username == "email" else SAMPLE_LOCAL_PART}
        try:
            account = normalize_account(raw, servers, host=None)
        except InventoryError as err:
            raise _refuse_setting(domain, "server", f"server {name}: {err.problem}", err.fix) from None
        account["id"] = f"{domain}/{name}"
        account["pop3"] = None  # a POP3 client's own choice, not the provider's
        accounts.append(account)
    return accounts


def _endpoint(side: Mapping) -> dict:
    plan = {key: side[key] for key in ENDPOINT_KEYS}
    plan["security"] = PLAN_SECURITY[side["security"]]
    return plan


def plan_domains(
    domains: Mapping | None,
    servers: Mapping | None,
    verified: Mapping | None,
    allow_unverified: bool = False,
    fail_on: str = "error",
    autodiscover_host: str | None = None,
) -> dict:
    """THE domain plan of the domains whose servers verified.

    ``domains`` is ``mailops_publish_domains`` (``{domain: {server, username, display_name, autodiscover_host}}``),
    ``servers`` ``mailops_servers``, ``verified`` the verify role's ``mailops_verified``. ``autodiscover_host`` is
    the default of each domain's ``autodiscover_host`` (``{domain}`` is replaced by the domain).

    Returns ``domains`` (the plan), ``refused`` (domain -> the gate's message: not published, left as it was),
    ``warnings`` (the gate's, e.g. unverified certificates, or what ``allow_unverified`` let through).
    """
    if domains is None:
        domains = {}
    if not isinstance(domains, Mapping):
        raise PublishError(
            f"mailops_publish_domains must be a dictionary of mail domains, got {kind(domains)}. Fix: write "
            "example.com: {server: <a name from mailops_servers>}"
        )
    plan, refused, warnings = {}, {}, []
    seen = {}
    for raw_name in sorted(domains, key=str):
        domain = domain_name(raw_name)
        if domain in seen:
            raise PublishError(
                f"mailops_publish_domains: {raw_name!r} and {seen[domain]!r} are the same domain. Fix: keep one"
            )
        seen[domain] = raw_name
        entry = domains[raw_name] if domains[raw_name] is not None else {}
        if not isinstance(entry, Mapping):
            raise _refuse_setting(domain, None, f"expected a dictionary, got {kind(entry)}", "write {server: <name>}")
        unknown = sorted(str(key) for key in entry if key not in DOMAIN_KEYS)
        if unknown:
            raise _refuse_setting(domain, unknown[0], "unknown key", f"use one of: {', '.join(DOMAIN_KEYS)}")
        display = entry.get("display_name") or domain
        if not isinstance(display, str) or any(ord(c) < 32 for c in display):
            raise _refuse_setting(domain, "display_name", "expected one line of text", "write the name on one line")
        accounts = domain_accounts(domain, entry, servers or {})
        try:
            decision = gate(accounts, verified, allow_unverified=allow_unverified, client="publish", fail_on=fail_on)
        except VerifyError as err:
            raise PublishError(f"mailops_publish_fail_on: {err}") from None
        warnings.extend(decision["warnings"])
        if decision["refusals"]:
            refused[domain] = _refusal(domain, decision["refusals"])
            continue
        ad_host = entry.get("autodiscover_host", autodiscover_host)
        incoming, outgoing = [], []
        for account in accounts:
            for side, into in ((account["incoming"], incoming), (account["outgoing"], outgoing)):
                endpoint = _endpoint(side)
                if endpoint not in into:
                    into.append(endpoint)
        plan[domain] = {
            "username": entry.get("username", "email"),
            "display_name": display,
            "incoming": incoming,
            "outgoing": outgoing,
            "autodiscover_host": ad_host.replace("{domain}", domain) if isinstance(ad_host, str) and ad_host else None,
        }
    return {"domains": plan, "refused": refused, "warnings": warnings}


def _refusal(domain: str, lines: Sequence[str]) -> str:
    return (
        f"{domain}: not published (its last verified documents stay as they are): its servers did not verify:\n"
        + "\n".join(lines)
    )


def plan_accounts(domain: str, entry: Mapping) -> list[dict]:
    """Normalized-style accounts of one planned domain, for the renderers: incoming server i with outgoing server i
    (the last outgoing server when there are fewer), so every server appears, in preference order."""
    local = entry["username"] == "local_part"
    email = f"{SAMPLE_LOCAL_PART}@{domain}"
    user = SAMPLE_LOCAL_PART if local else email
    outgoing = entry["outgoing"]
    accounts = []
    for index, inc in enumerate(entry["incoming"]):
        out = outgoing[min(index, len(outgoing) - 1)]
        sides = []
        for side in (inc, out):
            sides.append(dict(side, security=INVENTORY_SECURITY[side["security"]], username=user))
        accounts.append(
            {
                "id": f"{domain}/{index}",
                "email": email,
                "domain": domain,
                "local_part": SAMPLE_LOCAL_PART,
                "display_name": entry["display_name"],
                "user": None,
                "incoming": sides[0],
                "outgoing": sides[1],
                "password": None,
                "pop3": None,
            }
        )
    return accounts


def mobileconfig_name(domain: str) -> str:
    return f"{domain}{_apple.PROFILE_SUFFIX}"


def render_autoconfig(domain: str, entry: Mapping) -> tuple[bytes, list]:
    """The clientConfig 1.1 document of a planned domain (the thunderbird role's renderer) and its warnings."""
    docs, warnings = _thunderbird.render_autoconfig_xml(
        plan_accounts(domain, entry), {"display_names": {domain: entry["display_name"]}}
    )
    return docs[domain], warnings


def render_mobileconfig(domain: str, entry: Mapping, identifier_prefix: str, organization: str | None = None):
    """``(plist bytes or None, warnings)``: the Apple profile of a planned domain's preferred servers, without address,
    user name or password (the device asks for them when the profile is installed)."""
    first = plan_accounts(domain, entry)[0]
    options = {"identifier_prefix": identifier_prefix, "default_user": domain, "unsupported": "skip"}
    if organization:
        options["organization"] = organization
    rendered = _apple.render_profiles([first], options)
    if not rendered.profiles:
        return None, [f"{domain}: no Apple profile: {warning}" for warning in rendered.warnings]
    payload = rendered.profiles[0].payload
    payload["PayloadDisplayName"] = entry["display_name"]
    payload["PayloadDescription"] = f"Mail settings of {domain}"
    for item in payload["PayloadContent"]:
        for key in APPLE_PROMPTED_KEYS:
            item.pop(key, None)
        item["PayloadDisplayName"] = entry["display_name"]
        item["EmailAccountDescription"] = entry["display_name"]
    warnings = []
    if len(entry["incoming"]) > 1 or len(entry["outgoing"]) > 1:
        warnings.append(
            f"{domain}: the Apple profile names only the preferred servers (a com.apple.mail.managed payload holds one "
            "incoming and one outgoing server)"
        )
    return _apple.dumps(payload), warnings


def index_page(domain: str, entry: Mapping) -> bytes:
    """The small page that offers the Apple profile: a link, no address of anyone."""
    name = html.escape(entry["display_name"])
    link = html.escape(mobileconfig_name(domain))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Mail settings: {name}</title></head>\n<body><h1>Mail settings: {name}</h1>\n"
        f'<p><a href="{link}">Install the mail settings on an Apple device</a> (the device asks for your address '
        "and password).</p>\n<p>Thunderbird and Outlook find the settings by themselves when you enter your "
        "address.</p>\n</body></html>\n"
    ).encode()


def render_documents(
    plan: Mapping,
    identifier_prefix: str = "local.mailops.publish",
    organization: str | None = None,
    signing: Mapping | None = None,
    existing: Mapping | None = None,
) -> dict:
    """The files of every planned domain, relative to its document root, base64 encoded.

    ``existing`` maps ``<domain>/<name>.mobileconfig`` to the base64 bytes published now: a signed profile whose
    signature still covers exactly the new plist is kept (a new signature would only change its signing time).
    Returns ``{"files": {domain: {relative path: base64}}, "warnings": [...]}``.
    """
    signer = None
    if signing:
        try:
            signer = _cms.load_signer(
                signing.get("certificate"),
                signing.get("private_key"),
                signing.get("private_key_passphrase"),
                signing.get("chain"),
            )
        except _cms.CMSError as err:
            raise PublishError(f"mailops_publish_signing: {err}") from None
    files, warnings = {}, []
    for domain in sorted(plan):
        entry = plan[domain]
        autoconfig, more = render_autoconfig(domain, entry)
        warnings.extend(more)
        mine = dict.fromkeys(AUTOCONFIG_PATHS, autoconfig)
        plist, more = render_mobileconfig(domain, entry, identifier_prefix, organization)
        warnings.extend(more)
        if plist is not None:
            name = f"mail/{mobileconfig_name(domain)}"
            data = plist
            if signer is not None:
                old = (existing or {}).get(f"{domain}/{name}")
                old = base64.b64decode(old) if old else None
                data = old if old is not None and _cms.is_current(old, plist, signer) else _cms.sign(plist, signer)
            mine[name] = data
            mine["mail/index.html"] = index_page(domain, entry)
        files[domain] = {path: base64.b64encode(data).decode("ascii") for path, data in sorted(mine.items())}
    return {"files": files, "warnings": warnings}

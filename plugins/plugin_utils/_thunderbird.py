# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Thunderbird account configuration from normalized mail accounts.

Pure functions, no Ansible: normalized accounts (see the inventory model) go in, text comes out.

Three outputs:

* the managed block of a profile's ``user.js`` plus the edits of its ``prefs.js`` (:func:`plan_profile`);
* enterprise AutoConfig: ``defaults/pref/autoconfig.js`` and the ``.cfg`` (:func:`render_enterprise`);
* Mozilla autoconfig XML ``config-v1.1.xml`` per mail domain (:func:`render_autoconfig_xml`).

Decisions (also in docs/thunderbird.md):

* **Keys.** Every managed account gets one number N and the keys ``accountN``, ``serverN``, ``idN`` and
  ``smtpN``. N is the smallest number from :data:`KEY_BASE` (1000) up for which none of the four keys is
  used anywhere in ``prefs.js`` or ``user.js`` outside the block (Thunderbird counts its own keys up from 1).
  The choice is persisted: each managed account carries ``mail.account.accountN.mailops_id`` (the
  inventory account id) in the block, and Thunderbird copies it into ``prefs.js``. The next run reads the
  markers back (block first, then ``prefs.js``) and keeps every key, so keys never move.
* **Ownership and removal.** An account is ours only when it carries the marker. A marked account whose id
  is no longer in the inventory for this profile is removed: its lines leave the block, and every
  ``mail.account.accountN.*``, ``mail.server.serverN.*``, ``mail.identity.idN.*`` and
  ``mail.smtpserver.smtpN.*`` pref Thunderbird copied (or wrote) into ``prefs.js`` is deleted, and its
  keys leave ``mail.accountmanager.accounts`` and ``mail.smtpservers``. A pref the previous block set and
  the new one does not is also cleared from ``prefs.js`` while it holds the block's value (``user.js`` removal
  alone does not undo a value; another value is the user's own).
  Accounts without the marker (made by hand) are never changed. An account with ``state: absent`` is removed
  the same way. A new account never takes the keys of an account removed in the same run.
* **Rename and server move.** An account whose ``previous_email`` gives the id of a marked account takes over its
  keys (:func:`_renames`). When a kept account's incoming or outgoing host or login name changes, the plan lists a
  :class:`ServerMove`; what Thunderbird's own ``migrateServerUris`` (comm-central
  mailnews/base/src/MsgIncomingServer.sys.mjs) would move is moved here: the identity folder URIs and junk targets
  in ``prefs.js`` (in the plan), the saved login's origin in ``logins.json`` (:func:`migrate_logins`) and the
  filter actions in ``msgFilterRules.dat`` (:func:`migrate_filter_rules`), both read and written by the action.
* **Lists.** ``mail.accountmanager.accounts`` and ``mail.smtpservers`` are never forced from ``user.js``
  (that would drop accounts the user adds later). They are merged in ``prefs.js`` (the user's keys in
  their order, ours appended), so ``prefs.js`` is only edited while Thunderbird is closed. The block also
  lists our accounts in ``mail.accountmanager.appendaccounts`` with ``mailnews.append_preconfig_accounts.version``
  reset to 1, so Thunderbird appends them to the account list at every start even if the list lost them.
* **Escaping.** One function, :func:`js_string`, writes every string as an ASCII double-quoted literal
  (``\\"``, ``\\\\``, ``\\n``, ``\\r``, ``\\uXXXX`` for every other control or non-ASCII character, UTF-16
  surrogate pairs above U+FFFF); it is valid for Mozilla's preference parser and for JavaScript (.cfg).
"""

from __future__ import annotations

import configparser
import hashlib
import io
import json
import posixpath
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import present
from ansible_collections.mailops.clients.plugins.plugin_utils._renderer_error import RendererError, check_names
from ansible_collections.mailops.clients.plugins.plugin_utils._values import kind

KEY_BASE = 1000
BLOCK_BEGIN = "// >>> mailops.clients thunderbird: managed block, rewritten by Ansible; edit outside it >>>"
BLOCK_END = "// <<< mailops.clients thunderbird: end of managed block <<<"
MARKER = "mailops_id"

SOCKET_TYPES = {"none": 0, "starttls": 2, "tls": 3}
AUTH_METHODS = {
    "none": 1,
    "password": 3,
    "password-encrypted": 4,
    "gssapi": 5,
    "ntlm": 6,
    "oauth2": 10,
}
XML_SOCKET_TYPES = {"none": "plain", "starttls": "STARTTLS", "tls": "SSL"}
XML_AUTH = {
    "password": "password-cleartext",
    "password-encrypted": "password-encrypted",
    "gssapi": "GSSAPI",
    "ntlm": "NTLM",
    "oauth2": "OAuth2",
    "none": "none",
}
INT32 = (-(2**31), 2**31 - 1)
LIST_PREFS = ("mail.accountmanager.accounts", "mail.smtpservers")
_KIND_PREFIX = {
    "account": "mail.account.",
    "server": "mail.server.",
    "id": "mail.identity.",
    "smtp": "mail.smtpserver.",
}
_NAME_KEY_RE = re.compile(r"^mail\.(account|server|identity|smtpserver)\.([^.]+)\.")
_PREF_NAME_RE = re.compile(r"^[A-Za-z0-9_.@:+-]+$")


class ThunderbirdError(RendererError):
    """Input that cannot become a working Thunderbird configuration; the message says what and how to fix it."""


# The rendering options (the ``options`` of the thunderbird_profiles action, the role's mailops_thunderbird_*
# variables): what plan_profile, render_enterprise and render_autoconfig_xml read.
OPTIONS = (
    "account_name_format",
    "cfg_name",
    "default_account",
    "display_names",
    "extra_prefs",
    "lock_accounts",
    "locked_prefs",
    "login_at_startup",
    "pop3_delete_mail_left_on_server",
    "prefs",
    "short_names",
)


def check_options(options: Mapping) -> None:
    """Refuse an option name none of the outputs reads (a typo would otherwise be silently ignored)."""
    check_names(options, OPTIONS, ThunderbirdError)


# --- the one escaping function --------------------------------------------------------------------------


def js_string(value: str) -> str:
    """``value`` as a double-quoted ASCII string literal for prefs files and AutoConfig JavaScript.

    Refuses NUL (Mozilla's preference parser rejects it) and lone surrogates (not text).
    """
    if not isinstance(value, str):
        raise ThunderbirdError(f"expected a string for a preference value, got {kind(value)}")
    out = ['"']
    for char in value:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif code == 0:
            raise ThunderbirdError("a preference string cannot contain a NUL character")
        elif 0xD800 <= code <= 0xDFFF:
            raise ThunderbirdError(f"a preference string cannot contain a lone surrogate (U+{code:04X})")
        elif code < 0x20 or code >= 0x7F:
            if code > 0xFFFF:
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}")
            else:
                out.append(f"\\u{code:04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def js_value(value) -> str:
    """A preference value literal: string, bool or 32-bit integer."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not INT32[0] <= value <= INT32[1]:
            raise ThunderbirdError(f"integer preference value {value} is outside the 32-bit range")
        return str(value)
    if isinstance(value, str):
        return js_string(value)
    raise ThunderbirdError(f"a preference value must be a string, boolean or integer, got {kind(value)}")


def pref_line(name: str, value, function: str = "user_pref") -> str:
    if not _PREF_NAME_RE.match(name):
        raise ThunderbirdError(f"invalid preference name {name!r}")
    return f"{function}({js_string(name)}, {js_value(value)});"


# --- a tolerant reader for prefs.js / user.js lines (the files Thunderbird writes: one statement per line) ---
# Lines and blanks as Mozilla's preference parser sees them (modules/libpref/parser/src/lib.rs): a line ends at
# "\n", "\r\n" or a lone "\r"; blanks are space, \t, \v and \f. Other characters (\x1c, U+0085, U+2028, ...)
# end no line. Each line keeps its terminator, so the lines the code does not change are written back as read.

_EOL_RE = re.compile(r"\r\n|\r|\n")
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_BLANKS = " \t\x0b\x0c"
_WS = f"[{_BLANKS}]*"
_STRING = r'"(?:[^"\\\r\n]|\\[^\r\n])*"'
_STMT_RE = re.compile(
    rf"{_WS}(?:user_pref|pref|sticky_pref){_WS}\({_WS}({_STRING}){_WS},{_WS}"
    rf"({_STRING}|true|false|-?[0-9]+){_WS}\){_WS};{_WS}(?://[^\r\n]*)?(?:\r\n|\r|\n)?"
)


def _lines(text: str) -> list[str]:
    """The lines of ``text``, each with its terminator (the last one may have none)."""
    return _LINE_RE.findall(text)


def _terminator(line: str) -> str:
    """The terminator of one line of :func:`_lines` ("" for a last line without one)."""
    return line[len(line.rstrip("\r\n")) :]


def _newline(text: str | None) -> str:
    """The first line terminator of ``text``: the style for lines the code adds (LF when there is none)."""
    match = _EOL_RE.search(text or "")
    return match.group() if match else "\n"


def _unescape(body: str) -> str:
    out = []
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt == "u" and re.match(r"^[0-9A-Fa-f]{4}$", body[i + 2 : i + 6]):
            code = int(body[i + 2 : i + 6], 16)
            i += 6
            if (
                0xD800 <= code <= 0xDBFF
                and body[i : i + 2] == "\\u"
                and re.match(r"^[0-9A-Fa-f]{4}$", body[i + 2 : i + 6])
            ):
                low = int(body[i + 2 : i + 6], 16)
                if 0xDC00 <= low <= 0xDFFF:
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
            out.append(chr(code))
        elif nxt == "x" and re.match(r"^[0-9A-Fa-f]{2}$", body[i + 2 : i + 4]):
            out.append(chr(int(body[i + 2 : i + 4], 16)))
            i += 4
        else:
            out.append({"n": "\n", "r": "\r", "t": "\t"}.get(nxt, nxt))
            i += 2
    return "".join(out)


def parse_line(line: str):
    """``(name, value)`` of a one-line preference statement (with or without its terminator), or None.

    An integer outside 32 bits is None: Mozilla's parser rejects that statement ("integer literal overflowed").
    """
    match = _STMT_RE.fullmatch(line)
    if not match:
        return None
    raw = match.group(2)
    if raw.startswith('"'):
        value = _unescape(raw[1:-1])
    elif raw in ("true", "false"):
        value = raw == "true"
    else:
        if len(raw.lstrip("-").lstrip("0")) > 10:
            return None
        value = int(raw)
        if not INT32[0] <= value <= INT32[1]:
            return None
    return _unescape(match.group(1)[1:-1]), value


def _read_lines(lines: Sequence[str]) -> dict:
    result = {}
    for line in lines:
        parsed = parse_line(line)
        if parsed:
            result[parsed[0]] = parsed[1]
    return result


def read_prefs(text: str | None) -> dict:
    """Name -> value of every one-line statement (the last one wins, as in Thunderbird)."""
    return _read_lines(_lines(text or ""))


# --- the block in user.js ----------------------------------------------------------------------------


@dataclass
class UserJs:
    """The lines of ``user.js`` (each with its terminator) around the block, and the file's line terminator."""

    before: list[str]
    block: list[str] | None
    after: list[str]
    newline: str = "\n"


def _marker(line: str) -> str:
    return line.rstrip("\r\n").strip(_BLANKS)


def split_user_js(text: str | None, where: str = "user.js") -> UserJs:
    lines = _lines(text or "")
    newline = _newline(text)
    begins = [i for i, line in enumerate(lines) if _marker(line) == BLOCK_BEGIN]
    ends = [i for i, line in enumerate(lines) if _marker(line) == BLOCK_END]
    if not begins and not ends:
        return UserJs(lines, None, [], newline)
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise ThunderbirdError(
            f"{where} has {len(begins)} begin and {len(ends)} end markers of the mailops.clients block (expected one "
            "pair, begin first); repair or delete the block by hand, the next run writes it again"
        )
    return UserJs(lines[: begins[0]], lines[begins[0] + 1 : ends[0]], lines[ends[0] + 1 :], newline)


def join_user_js(parts: UserJs, block: list[str] | None) -> str:
    """``user.js`` with ``block`` (lines without terminators; None: no block); the user's lines stay as read."""
    newline = parts.newline
    before = list(parts.before)
    after = list(parts.after)
    if block is None:
        if parts.block is not None and not after and before and before[-1] in ("\n", "\r\n", "\r"):
            before.pop()  # the empty line that separated the removed block from the user's lines
        return "".join(before + after)
    if parts.block is None and before:
        if not _terminator(before[-1]):
            before[-1] += newline
        if before[-1].rstrip("\r\n").strip(_BLANKS):
            # after a lone "\r", a "\n" would join it into one "\r\n" instead of making an empty line
            before.append("\r" if newline == "\n" and before[-1].endswith("\r") else newline)
    # likewise, an end marker ending in a lone "\r" would take an empty "\n" line that follows it
    end = "\r\n" if newline == "\r" and after and after[0].startswith("\n") else newline
    ours = [line + newline for line in (BLOCK_BEGIN, *block)] + [BLOCK_END + end]
    return "".join(before + ours + after)


# --- key bookkeeping -----------------------------------------------------------------------------------


def _keys_in(prefs: Mapping) -> set:
    """Every account/server/identity/smtp key a set of prefs names or references."""
    keys = set()
    for name, value in prefs.items():
        match = _NAME_KEY_RE.match(name)
        if match:
            keys.add(match.group(2))
        if isinstance(value, str) and (
            name in LIST_PREFS
            or name.endswith((".server", ".identities", ".smtpServer"))
            or name in ("mail.accountmanager.defaultaccount", "mail.smtp.defaultserver")
            or name == "mail.accountmanager.appendaccounts"
        ):
            keys.update(k.strip() for k in value.split(",") if k.strip())
    return keys


def _markers(prefs: Mapping) -> dict:
    """Account number -> inventory id, from ``mail.account.accountN.mailops_id`` prefs."""
    found = {}
    for name, value in prefs.items():
        # N exactly as keys_for writes it (no leading zero), and short enough for int()
        match = re.fullmatch(r"mail\.account\.account([1-9][0-9]{0,17})\." + MARKER, name)
        if match and isinstance(value, str) and value:
            found[int(match.group(1))] = value
    return found


def keys_for(number: int) -> dict:
    return {"account": f"account{number}", "server": f"server{number}", "id": f"id{number}", "smtp": f"smtp{number}"}


def allocate(ids: Sequence[str], owned: Mapping[str, int], used: set, base: int = KEY_BASE) -> dict:
    """id -> number: owned ids keep theirs; new ids get the smallest free number from ``base`` (in order)."""
    result = {i: owned[i] for i in ids if i in owned}
    taken = set(owned.values()) | set(result.values())
    number = base
    for account_id in ids:
        if account_id in result:
            continue
        while number in taken or any(k in used for k in keys_for(number).values()):
            number += 1
        result[account_id] = number
        taken.add(number)
    return result


# --- what goes into the block -------------------------------------------------------------------------


def check_collisions(accounts: Sequence[Mapping], where: str = "") -> None:
    """Thunderbird identifies incoming servers by type + user@host and ignores the port: refuse duplicates."""
    seen: dict[tuple, Mapping] = {}
    for account in accounts:
        inc = account["incoming"]
        key = (inc["protocol"], (inc["username"] or "").lower(), inc["host"].lower())
        other = seen.get(key)
        if other is not None:
            ports = f"ports {other['incoming']['port']} and {inc['port']}"
            if other["incoming"]["port"] == inc["port"]:
                ports = f"port {inc['port']} in both"
            raise ThunderbirdError(
                f"thunderbird{where}: accounts {other['id']} and {account['id']} both use {inc['protocol'].upper()} "
                f"user {inc['username']} on host {inc['host']} ({ports}); Thunderbird identifies incoming servers "
                "by user@host and ignores the port, so it would treat them as one server. Remove one of them, or "
                "reach one through another host name"
            )
        seen[key] = account


def account_prefs(account: Mapping, number: int, options: Mapping | None = None) -> list[tuple[str, object]]:
    """The ``(name, value)`` prefs of one account, in a fixed order."""
    options = options or {}
    keys = keys_for(number)
    inc, out = account["incoming"], account["outgoing"]
    srv = f"mail.server.{keys['server']}."
    ident = f"mail.identity.{keys['id']}."
    smtp = f"mail.smtpserver.{keys['smtp']}."
    prefs: list[tuple[str, object]] = [
        (f"mail.account.{keys['account']}.{MARKER}", account["id"]),
        (f"mail.account.{keys['account']}.server", keys["server"]),
        (f"mail.account.{keys['account']}.identities", keys["id"]),
        (srv + "type", inc["protocol"]),
        (srv + "hostname", inc["host"]),
        (srv + "port", int(inc["port"])),
        (srv + "socketType", SOCKET_TYPES[inc["security"]]),
        (srv + "authMethod", AUTH_METHODS[inc["auth"]]),
        (srv + "userName", inc["username"] or ""),
        (srv + "name", account_name(options.get("account_name_format", "{email}"), account)),
        (srv + "login_at_startup", bool(options.get("login_at_startup", True))),
    ]
    if account.get("check_interval_minutes"):
        prefs += [(srv + "check_new_mail", True), (srv + "check_time", int(account["check_interval_minutes"]))]
    if inc["protocol"] == "pop3":
        pop3 = account.get("pop3") or {}
        leave = bool(pop3.get("leave_on_server"))
        days = pop3.get("delete_after_days")
        prefs += [
            (srv + "download_on_biff", True),
            (srv + "leave_on_server", leave),
            (srv + "delete_mail_left_on_server", leave and bool(options.get("pop3_delete_mail_left_on_server", True))),
            (srv + "delete_by_age_from_server", leave and days is not None),
        ]
        if days is not None:
            prefs.append((srv + "num_days_to_leave_on_server", int(days)))
    prefs += [
        (ident + "fullName", account["display_name"]),
        (ident + "useremail", account["email"]),
        (ident + "smtpServer", keys["smtp"]),
        (ident + "valid", True),
    ]
    if account.get("reply_to"):
        prefs.append((ident + "reply_to", account["reply_to"]))
    if account.get("signature"):
        prefs += [(ident + "htmlSigText", account["signature"]), (ident + "htmlSigFormat", False)]
    prefs += [
        (smtp + "type", "smtp"),
        (smtp + "hostname", out["host"]),
        (smtp + "port", int(out["port"])),
        (smtp + "try_ssl", SOCKET_TYPES[out["security"]]),
        (smtp + "authMethod", AUTH_METHODS[out["auth"]]),
    ]
    if out["auth"] != "none":
        prefs.append((smtp + "username", out["username"] or ""))
    prefs.append((smtp + "description", account["email"]))
    return prefs


def account_name(template, account: Mapping) -> str:
    """The account name Thunderbird shows, from ``account_name_format``; a wrong placeholder names the option."""
    names = _names(account)
    if not isinstance(template, str):
        raise ThunderbirdError(
            f"account_name_format must be a string with placeholders such as {{email}}, got {kind(template)}"
        )
    try:
        return template.format_map(names)
    except KeyError as missing:
        raise ThunderbirdError(
            f"account_name_format {template!r} uses the unknown placeholder {{{missing.args[0]}}}; use "
            + ", ".join("{" + name + "}" for name in names)
        ) from None
    except (ValueError, IndexError, AttributeError):
        raise ThunderbirdError(
            f"account_name_format {template!r} is not a valid format (write literal braces as {{{{ and }}}}); use "
            + ", ".join("{" + name + "}" for name in names)
        ) from None


def _names(account: Mapping) -> dict:
    return {
        "email": account["email"],
        "display_name": account["display_name"],
        "id": account["id"],
        "domain": account["domain"],
        "local_part": account["local_part"],
    }


def global_prefs(accounts: Sequence[Mapping], numbers: Mapping[str, int], options: Mapping | None = None) -> list:
    options = options or {}
    prefs: list[tuple[str, object]] = []
    if accounts:
        prefs.append(
            ("mail.accountmanager.appendaccounts", ",".join(keys_for(numbers[a["id"]])["account"] for a in accounts))
        )
        prefs.append(("mailnews.append_preconfig_accounts.version", 1))
    default = options.get("default_account")
    if default and accounts:
        chosen = None
        if default == "first":
            chosen = accounts[0]
        else:
            chosen = next((a for a in accounts if default in (a["id"], a["email"])), None)
        if chosen is not None:
            prefs.append(("mail.accountmanager.defaultaccount", keys_for(numbers[chosen["id"]])["account"]))
    timeouts = sorted({int(a["timeout"]) for a in accounts if a.get("timeout")})
    if timeouts:
        prefs.append(("mailnews.tcptimeout", timeouts[-1]))
    for name in sorted(options.get("extra_prefs") or {}):
        prefs.append((name, options["extra_prefs"][name]))
    return prefs


def render_block(accounts: Sequence[Mapping], numbers: Mapping[str, int], options: Mapping | None = None) -> list[str]:
    lines = [
        "// Accounts of the Ansible inventory (collection mailops.clients, role thunderbird). Keys stay fixed:",
        "// mail.account.accountN.mailops_id names the inventory account that owns accountN/serverN/idN/smtpN.",
    ]
    for account in accounts:
        number = numbers[account["id"]]
        lines.append(f"// {keys_for(number)['account']}: {_comment_safe(account['id'])}")
        lines.extend(pref_line(name, value) for name, value in account_prefs(account, number, options))
    globals_ = global_prefs(accounts, numbers, options)
    if globals_:
        lines.append("// profile-wide")
        lines.extend(pref_line(name, value) for name, value in globals_)
    return lines


def _comment_safe(text: str) -> str:
    return js_string(text)[1:-1]


# --- planning one profile ------------------------------------------------------------------------------


@dataclass
class ProfilePlan:
    user_js: str
    prefs_js: str | None  # None: leave prefs.js alone
    keys: dict = field(default_factory=dict)  # account id -> {"account": ..., "server": ..., ...}
    removed: list = field(default_factory=list)  # ids of accounts removed from the profile
    warnings: list = field(default_factory=list)
    renamed: dict = field(default_factory=dict)  # new account id -> the id whose keys it keeps (previous_email)
    moves: list = field(default_factory=list)  # ServerMove of every kept server whose user or host changed
    origins_in_use: dict = field(default_factory=dict)  # login origin -> keys of the servers using it after the change


def _merge_list(current: str | None, drop: set, add: Sequence[str]) -> str:
    keys = [k.strip() for k in (current or "").split(",") if k.strip()]
    keys = [k for k in dict.fromkeys(keys) if k not in drop]
    keys += [k for k in add if k not in keys]
    return ",".join(keys)


def _list_line(name: str, value: str, where: str, what: str = "merged list") -> str:
    """The statement for a rewritten value (merged list, moved URI); ``where`` names the old value's file and line."""
    try:
        return pref_line(name, value, "user_pref")
    except ThunderbirdError:
        raise ThunderbirdError(
            f"{where}: the value of {name} contains a NUL, a lone surrogate or bytes that are not UTF-8, so the "
            f"{what} cannot be written; fix or remove that line"
        ) from None


def _shown(text: str) -> str:
    """Text from a user's file, for a message: control, format and invalid characters escaped."""
    return "".join(
        ascii(char)[1:-1] if unicodedata.category(char)[0] == "C" or char in "\u2028\u2029" else char for char in text
    )


def _previous_ids(account: Mapping) -> list:
    """The ids the account had before its address changed (``previous_email``): the id with the old address."""
    old = account.get("previous_email")
    if not old:
        return []
    email, account_id = account["email"], account["id"]
    candidates = [old]
    if account_id.startswith(email + "#"):  # email#server or email#server#user (duplicate addresses)
        candidates.insert(0, old + account_id[len(email) :])
    return list(dict.fromkeys(candidates))


def _renames(accounts: Sequence[Mapping], by_id: Mapping[str, int], ids: Sequence[str]) -> dict:
    """new id -> old id, for accounts with ``previous_email`` whose old id owns keys and is not wanted itself."""
    renamed: dict = {}
    for account in accounts:
        if account["id"] in by_id:
            continue  # already renamed in an earlier run (or never changed): its own marker wins
        for old in _previous_ids(account):
            if old in by_id and old not in ids and old not in renamed.values():
                renamed[account["id"]] = old
                break
    return renamed


def _old_value(name: str, block_prefs: Mapping, prefs: Mapping):
    """What the collection last set for ``name``: the old block's value, else the copy in prefs.js."""
    return block_prefs.get(name, prefs.get(name))


# Server URIs, as Thunderbird builds them. IMAP (C++, nsMsgIncomingServer::GetServerURI in
# mailnews/base/src/nsMsgIncomingServer.cpp): <localStoreType>://<username escaped with ESCAPE_XALPHAS>@<hostname
# escaped with ESCAPE_URL_PATH>; POP3 (JavaScript, MsgIncomingServer.sys.mjs): encodeURIComponent of both. The
# local store type is "imap" for IMAP and "mailbox" for POP3. Saved passwords live in the login manager under
# the origin <localStoreType>://<hostname> (MsgPasswordAuthModule.sys.mjs) and smtp://<hostname> for SMTP
# (SmtpServer.sys.mjs _getServerURISpec); the user name inside a login is encrypted.
STORE_TYPES = {"imap": "imap", "pop3": "mailbox", "nntp": "news", "none": "mailbox"}
_XALPHAS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._")
_URI_COMPONENT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()")
_URL_PATH = _XALPHAS | frozenset("+/")
# the identity and server prefs that hold folder URIs (MsgIncomingServer.sys.mjs migrateIdentities and
# migrateSpamActions)
IDENTITY_FOLDER_PREFS = ("fcc_folder", "draft_folder", "archive_folder", "stationery_folder")
SERVER_URI_PREFS = ("spamActionTargetFolder", "spamActionTargetAccount")


def _escape(text: str, safe: frozenset) -> str:
    return "".join(char if char in safe else "".join(f"%{b:02X}" for b in char.encode("utf-8")) for char in text)


def _host_part(host: str, safe: frozenset) -> str:
    return "[" + host + "]" if ":" in host and safe is _URI_COMPONENT else _escape(host, safe)


def server_uris(store: str, username: str, host: str) -> list:
    """The forms Thunderbird writes for one server's URI (C++ escaping first, then the JavaScript one)."""
    forms = []
    for user_safe, host_safe in ((_XALPHAS, _URL_PATH), (_URI_COMPONENT, _URI_COMPONENT)):
        auth = _escape(username, user_safe) + "@" if username else ""
        forms.append(f"{store}://{auth}{_host_part(host, host_safe)}")
    return list(dict.fromkeys(forms))


@dataclass
class ServerMove:
    """A kept server whose host or user changed: what must follow it (folder URIs, filters, the saved login)."""

    account_id: str
    key: str  # serverN or smtpN
    kind: str  # "incoming" or "outgoing"
    store: str  # localStoreType, or "smtp"
    old_host: str
    new_host: str
    old_user: str
    new_user: str

    @property
    def old_uris(self) -> list:
        return server_uris(self.store, self.old_user, self.old_host)

    @property
    def new_uri(self) -> str:
        forms = server_uris(self.store, self.new_user, self.new_host)
        return forms[-1] if self.store == "mailbox" else forms[0]

    def moved_uri(self, value: str):
        """``value`` with the old server URI replaced by the new one, or None when it is not on this server."""
        for old in self.old_uris:
            if value == old or value.startswith(old + "/"):
                return self.new_uri + value[len(old) :]
        return None

    @property
    def old_origin(self) -> str:
        return f"{self.store}://{self.old_host}"

    @property
    def new_origin(self) -> str:
        return f"{self.store}://{self.new_host}"

    @property
    def host_changed(self) -> bool:
        return self.old_host.lower() != self.new_host.lower()

    def describe(self) -> dict:
        return {
            "id": self.account_id,
            "key": self.key,
            "from": f"{self.store}://{self.old_user + '@' if self.old_user else ''}{self.old_host}",
            "to": f"{self.store}://{self.new_user + '@' if self.new_user else ''}{self.new_host}",
        }


def server_moves(account: Mapping, number: int, block_prefs: Mapping, prefs: Mapping) -> list:
    """The ServerMoves of one kept account: its incoming and outgoing server when the host or user changed."""
    keys = keys_for(number)
    moves = []
    inc, out = account["incoming"], account["outgoing"]
    srv = f"mail.server.{keys['server']}."
    old_host = _old_value(srv + "hostname", block_prefs, prefs)
    old_user = _old_value(srv + "userName", block_prefs, prefs)
    new_user = inc["username"] or ""
    known = isinstance(old_host, str) and isinstance(old_user, str)
    if known and (old_host.lower() != inc["host"].lower() or old_user != new_user):
        store = STORE_TYPES[inc["protocol"]]
        moves.append(
            ServerMove(account["id"], keys["server"], "incoming", store, old_host, inc["host"], old_user, new_user)
        )
    smtp = f"mail.smtpserver.{keys['smtp']}."
    old_host = _old_value(smtp + "hostname", block_prefs, prefs)
    old_user = _old_value(smtp + "username", block_prefs, prefs)
    old_user = old_user if isinstance(old_user, str) else ""
    new_user = (out["username"] or "") if out["auth"] != "none" else ""
    if isinstance(old_host, str) and (old_host.lower() != out["host"].lower() or old_user != new_user):
        moves.append(
            ServerMove(account["id"], keys["smtp"], "outgoing", "smtp", old_host, out["host"], old_user, new_user)
        )
    return moves


def _origins(prefs: Mapping, gone: set) -> dict:
    """Login origin (``<store>://<host>``, ``smtp://<host>``) -> the keys of the servers in ``prefs`` that use it.

    Servers of the ``gone`` keys are left out.
    """
    found: dict = {}
    for name, value in prefs.items():
        match = re.fullmatch(r"mail\.(server|smtpserver)\.([^.]+)\.hostname", name)
        if not match or match.group(2) in gone or not isinstance(value, str):
            continue
        if match.group(1) == "smtpserver":
            origin = f"smtp://{value}"
        else:
            kind_ = prefs.get(f"mail.server.{match.group(2)}.type")
            origin = f"{STORE_TYPES.get(kind_, kind_)}://{value}"
        found.setdefault(origin, set()).add(match.group(2))
    return found


_DROP = object()


def _migrated_pref(name: str, value, kind_: str, key: str, moves: Sequence[ServerMove], uri_moves):
    """New value of one of our prefs in prefs.js after ``moves``; None keeps the line, _DROP deletes it."""
    setting = name.rsplit(".", 1)[-1]
    if setting == "clientid" and any(m.key == key for m in moves):
        return _DROP  # Thunderbird clears the client id when the user or host changes (OnUserOrHostNameChanged)
    if not isinstance(value, str):
        return None
    if (kind_ == "identity" and setting in IDENTITY_FOLDER_PREFS) or (
        kind_ == "server" and setting in SERVER_URI_PREFS
    ):
        for move in uri_moves:
            moved = move.moved_uri(value)
            if moved is not None:
                return moved
    return None


def _foreign_uri_warnings(prefs: Mapping, ours_all: set, uri_moves: Sequence[ServerMove], where: str) -> list:
    """Prefs of accounts made by hand that point into a moved server: named, left alone."""
    found = []
    for name, value in prefs.items():
        match = _NAME_KEY_RE.match(name)
        if not match or match.group(2) in ours_all or not isinstance(value, str):
            continue
        if any(move.moved_uri(value) is not None for move in uri_moves):
            found.append(_shown(name))
    if not found:
        return []
    return [
        f"profile{where}: {', '.join(sorted(found))} (not managed by this collection) point into a server that moved; "
        "left alone, correct them in Thunderbird"
    ]


def server_directory(prefs_js: str | None, key: str, profile: str) -> str | None:
    """The local directory of server ``key`` relative to the profile (``ImapMail/host``), or None.

    From ``mail.server.<key>.directory-rel`` (``[ProfD]ImapMail/host``), else ``directory`` when it is inside
    ``profile``. Only plain relative paths inside the profile are returned.
    """
    prefs = read_prefs(prefs_js)
    rel = prefs.get(f"mail.server.{key}.directory-rel")
    path = None
    if isinstance(rel, str) and rel.startswith("[ProfD]"):
        path = rel[len("[ProfD]") :]
    else:
        absolute = prefs.get(f"mail.server.{key}.directory")
        base = profile.rstrip("/") + "/"
        if isinstance(absolute, str) and absolute.startswith(base):
            path = absolute[len(base) :]
    if not path:
        return None
    parts = path.replace("\\", "/").split("/")
    if any(part in ("", ".", "..") for part in parts) or any(unicodedata.category(c) == "Cc" for c in path):
        return None
    return "/".join(parts)


# --- files that follow a moved server: logins.json and msgFilterRules.dat ---------------------------------


def _logins_text(data) -> str:
    """logins.json as JSON.stringify writes it (toolkit/modules/JSONFile.sys.mjs): no blanks, non-ASCII as is."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def migrate_logins(text: str | None, moves: Sequence[ServerMove], origins_in_use: Mapping, where: str = ""):
    """``(new text or None, moved, warnings)`` of logins.json after ``moves``.

    A login follows its server when only the host changed (its origin and realm ``<store>://<host>`` become the
    new host's; the encrypted user name and password stay as they are). It stays when the user name changed
    (logins.json holds the user name encrypted with the profile's key: Thunderbird asks for the password once),
    when another server still uses the old origin (the login cannot be told apart), or when the new origin
    already has a login and no other server uses it (that login is this server's). ``origins_in_use``: origin ->
    keys of the servers using it after the change. ``moved`` lists ``(old origin, new origin, login count)``.
    """
    warnings: list[str] = []
    moved: list = []
    if not text or not moves:
        return None, moved, warnings
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    logins = data.get("logins") if isinstance(data, dict) else None
    if not isinstance(logins, list) or _logins_text(data) != text:
        for move in moves:
            warnings.append(
                f"profile{where}: logins.json is not in the form Thunderbird writes; the saved password of "
                f"{move.account_id} ({move.old_origin}) was not moved to {move.new_origin}, Thunderbird asks for it"
            )
        return None, moved, warnings
    for move in moves:
        if not move.host_changed:
            if move.old_user != move.new_user:
                warnings.append(
                    f"profile{where}: {move.account_id} logs in as {move.new_user!r} now; the saved password of "
                    f"{move.old_user!r} ({move.old_origin}) cannot follow (logins.json keeps user names encrypted), "
                    "Thunderbird asks for the password once"
                )
            continue
        mine = [x for x in logins if isinstance(x, dict) and x.get("hostname") == move.old_origin]
        if not mine:
            continue
        if move.old_user != move.new_user:
            warnings.append(
                f"profile{where}: {move.account_id} logs in as {move.new_user!r} on {move.new_host} now; the saved "
                f"password of {move.old_origin} cannot follow (logins.json keeps user names encrypted), Thunderbird "
                "asks for the password once"
            )
            continue
        if origins_in_use.get(move.old_origin, set()) - {move.key}:
            warnings.append(
                f"profile{where}: another server still uses {move.old_origin}, so the saved password of "
                f"{move.account_id} cannot be told apart (user names are encrypted) and stays; Thunderbird asks for "
                f"it on {move.new_host}"
            )
            continue
        shared = origins_in_use.get(move.new_origin, set()) - {move.key}
        if not shared and any(isinstance(x, dict) and x.get("hostname") == move.new_origin for x in logins):
            continue  # a password is already saved for the new host, and only this server uses it: it is used
        for login in mine:
            login["hostname"] = move.new_origin
            if login.get("httpRealm") == move.old_origin:
                login["httpRealm"] = move.new_origin
        moved.append((move.old_origin, move.new_origin, len(mine)))
    if not moved:
        return None, moved, warnings
    return _logins_text(data), moved, warnings


def logins_summary(text: str | None) -> str:
    """What a diff of logins.json shows: id, origin and realm of each login (never the encrypted fields)."""
    try:
        logins = json.loads(text or "{}").get("logins") or []
    except (ValueError, AttributeError):
        return ""
    return "".join(
        f"login {x.get('id')}: hostname={x.get('hostname')} httpRealm={x.get('httpRealm')}\n"
        for x in logins
        if isinstance(x, dict)
    )


_ACTION_VALUE_RE = re.compile(r'^(actionValue=")((?:[^"\\\r\n]|\\.)*)("[ \t]*)(\r\n|\r|\n)?$')


def migrate_filter_rules(text: str | None, moves: Sequence[ServerMove]):
    """msgFilterRules.dat with every ``actionValue`` folder URI on a moved server rewritten, or None.

    The file is the one Thunderbird writes (mailnews/search/src/nsMsgFilterList.cpp): one ``attrib="value"`` per
    line, ``"`` and ``\\`` escaped with a backslash. Other lines stay as read.
    """
    if not text:
        return None
    out = []
    changed = False
    for line in _lines(text):
        match = _ACTION_VALUE_RE.match(line)
        if match:
            value = re.sub(r"\\(.)", r"\1", match.group(2))
            for move in moves:
                moved = move.moved_uri(value)
                if moved is not None:
                    escaped = moved.replace("\\", "\\\\").replace('"', '\\"')
                    line = match.group(1) + escaped + match.group(3) + (match.group(4) or "")
                    changed = True
                    break
        out.append(line)
    return "".join(out) if changed else None


def plan_profile(
    accounts: Sequence[Mapping],
    user_js: str | None,
    prefs_js: str | None,
    options: Mapping | None = None,
    where: str = "",
) -> ProfilePlan:
    """New ``user.js`` text and, when needed, new ``prefs.js`` text for one profile.

    ``accounts``: the normalized accounts this profile should hold (inventory order). ``prefs_js`` None
    means the profile has no prefs.js yet. ``where`` names the profile in messages.
    """
    options = options or {}
    accounts = present(accounts)  # an account with state: absent is removed like one that left the inventory
    check_collisions(accounts, where)
    parts = split_user_js(user_js, f"user.js{where}")
    block_prefs = _read_lines(parts.block or [])
    outside_user = _read_lines(parts.before + parts.after)
    prefs = read_prefs(prefs_js)

    block_owned = _markers(block_prefs)
    owned_numbers = dict(_markers(prefs))
    owned_numbers.update(block_owned)  # for one number the block wins over prefs.js
    ids = [a["id"] for a in accounts]
    by_id: dict[str, int] = {}
    # an id marked more than once keeps the block's (then the lowest) number; the others are stale
    for number, account_id in [*sorted(block_owned.items()), *sorted(owned_numbers.items())]:
        by_id.setdefault(account_id, number)
    ours_all = set()
    for number in owned_numbers:
        ours_all.update(keys_for(number).values())
    used = (_keys_in(prefs) | _keys_in(outside_user)) - ours_all
    warnings = []
    renamed = _renames(accounts, by_id, ids)
    for new_id, old_id in renamed.items():
        by_id[new_id] = by_id[old_id]
    kept = {i: n for i, n in by_id.items() if i in ids}
    for account in accounts:
        number = kept.get(account["id"])
        old_type = None if number is None else _old_value(f"mail.server.server{number}.type", block_prefs, prefs)
        if isinstance(old_type, str) and old_type != account["incoming"]["protocol"]:
            # Thunderbird cannot change the type of a server: the old account goes, a new one comes
            del kept[account["id"]]
            warnings.append(
                f"profile{where}: account {account['id']} changes from {old_type} to "
                f"{account['incoming']['protocol']}; "
                f"Thunderbird cannot change a server's type, so account{number} is removed and a new account added "
                "(its local folders, filters and folder settings do not carry over)"
            )
    # a new account never takes the keys of one removed in the same run (what Thunderbird keeps for those keys
    # in prefs.js and on disk would otherwise become the new account's)
    numbers = allocate(ids, kept, used | ours_all)

    keep_numbers = set(numbers.values())
    stale_numbers = sorted(n for n in owned_numbers if n not in keep_numbers)
    removed = sorted(
        {
            owned_numbers[n]
            for n in stale_numbers
            if owned_numbers[n] not in ids and owned_numbers[n] not in renamed.values()
        }
    )
    hand_made = {}
    for name, value in prefs.items():
        match = re.fullmatch(r"mail\.server\.([^.]+)\.hostname", name)
        if match and match.group(1) not in ours_all and isinstance(value, str):
            srv = match.group(1)
            hand_made[
                (
                    prefs.get(f"mail.server.{srv}.type"),
                    str(prefs.get(f"mail.server.{srv}.userName", "")).lower(),
                    value.lower(),
                )
            ] = srv
    for account in accounts:
        inc = account["incoming"]
        srv = hand_made.get((inc["protocol"], (inc["username"] or "").lower(), inc["host"].lower()))
        if srv:
            warnings.append(
                f"profile{where}: account {account['id']} duplicates the account the user made by hand ({_shown(srv)}, "
                f"{inc['protocol']} {inc['username']}@{inc['host']}); Thunderbird will show both. Remove one of them"
            )
        if inc["auth"] == "oauth2" or account["outgoing"]["auth"] == "oauth2":
            warnings.append(
                f"profile{where}: account {account['id']} uses OAuth2; Thunderbird can only get tokens for providers "
                "it ships OAuth2 settings for (OAuth2Providers)"
            )

    new_block = render_block(accounts, numbers, options) if accounts else None
    new_user_js = join_user_js(parts, new_block)
    new_block_prefs = _read_lines(new_block or [])
    moves = [
        move
        for account in accounts
        if numbers[account["id"]] in owned_numbers
        for move in server_moves(account, numbers[account["id"]], block_prefs, prefs)
    ]
    ours_kept = {(_KIND_PREFIX[k], key) for n in set(numbers.values()) for k, key in keys_for(n).items()}
    uri_moves = [m for m in moves if m.kind == "incoming"]
    warnings.extend(_foreign_uri_warnings(prefs, ours_all, uri_moves, where))
    stale_keys = {k for n in stale_numbers for k in keys_for(n).values()}
    origins = _origins(dict(prefs, **new_block_prefs), stale_keys) if moves else {}

    # prefs.js: drop what belongs to stale numbers, clear prefs the old block set and the new one does not,
    # merge our keys into the two lists. Every other line is kept as read, terminator included.
    stale = {(_KIND_PREFIX[kind], key) for number in stale_numbers for kind, key in keys_for(number).items()}
    cleared = {name for name in block_prefs if name not in new_block_prefs}
    stale_keys = {k for n in stale_numbers for k in keys_for(n).values()}
    new_accounts_keys = [keys_for(numbers[i])["account"] for i in ids]
    new_smtp_keys = [keys_for(numbers[i])["smtp"] for i in ids]
    if prefs_js is None and not accounts:
        return ProfilePlan(new_user_js, None, {}, removed, warnings, renamed, moves, origins)
    newline = _newline(prefs_js)
    lines = _lines(prefs_js or "")
    if prefs_js is None:
        lines = [
            "// Mozilla User Preferences\n",
            "\n",
            "// Started by mailops.clients before Thunderbird's first start; Thunderbird rewrites this file.\n",
            "\n",
        ]
    out_lines = []
    seen_lists = set()
    for number, line in enumerate(lines, 1):
        parsed = parse_line(line)
        if parsed is None:
            out_lines.append(line)
            continue
        name, value = parsed
        owner = _NAME_KEY_RE.match(name)  # a set lookup: a long prefs.js with many stale keys stays linear
        if owner and (f"mail.{owner.group(1)}.", owner.group(2)) in stale:
            continue
        # only the copy of the block's value (Thunderbird saves user.js values into prefs.js): a different value is
        # the user's own (set before the block existed, or changed in Thunderbird since) and stays
        if name in cleared and name not in LIST_PREFS and value == block_prefs[name]:
            continue
        if name in LIST_PREFS:
            seen_lists.add(name)
            add = new_accounts_keys if name == "mail.accountmanager.accounts" else new_smtp_keys
            current = value if isinstance(value, str) else ""
            merged = _merge_list(current, stale_keys, add)
            if merged in (value, _merge_list(current, set(), [])):  # nothing to add or drop: the line stays
                out_lines.append(line)
            else:
                out_lines.append(_list_line(name, merged, f"prefs.js{where} line {number}") + _terminator(line))
            continue
        if name in ("mail.accountmanager.defaultaccount", "mail.smtp.defaultserver") and value in stale_keys:
            continue
        if moves and owner and (f"mail.{owner.group(1)}.", owner.group(2)) in ours_kept:
            moved = _migrated_pref(name, value, owner.group(1), owner.group(2), moves, uri_moves)
            if moved is _DROP:
                continue
            if moved is not None:
                shown = f"prefs.js{where} line {number}"
                out_lines.append(_list_line(name, moved, shown, "moved folder URI") + _terminator(line))
                continue
        out_lines.append(line)
    for name, add in (("mail.accountmanager.accounts", new_accounts_keys), ("mail.smtpservers", new_smtp_keys)):
        if name not in seen_lists and add:
            if out_lines and not _terminator(out_lines[-1]):
                out_lines[-1] += newline
            out_lines.append(pref_line(name, ",".join(add), "user_pref") + newline)
    new_prefs_js = "".join(out_lines)
    if prefs_js is not None and new_prefs_js == prefs_js:
        new_prefs_js = None
    keys = {i: keys_for(numbers[i]) for i in ids}
    return ProfilePlan(new_user_js, new_prefs_js, keys, removed, warnings, renamed, moves, origins)


# --- profiles.ini ----------------------------------------------------------------------------------------


class _IniParser(configparser.RawConfigParser):
    # RawConfigParser.OPTCRE, "(?P<option>.*?)\s*(?P<vi>[=:])...", takes quadratic time on a long run of blanks
    # (CPython Lib/configparser.py); this one splits every line at the same first delimiter (the parser rstrips
    # the option name and strips the value), in linear time.
    OPTCRE = re.compile(r"(?P<option>[^=:]*)(?P<vi>[=:])\s*(?P<value>.*)$")


def _option_lines(text: str) -> dict:
    """``(section, option) -> line number`` of the assignment :class:`_IniParser` keeps (the last one).

    configparser reports no line numbers; this follows ``RawConfigParser._read`` (CPython Lib/configparser.py)
    with the settings used here: lines split at "\\n", full-line comments ``#`` and ``;``, no inline comments,
    continuation lines indented deeper than their option.
    """
    found = {}
    section = option = None
    indent = 0
    for number, line in enumerate(io.StringIO(text), 1):
        value = line.strip()
        if not value or value.startswith(("#", ";")):
            continue
        first = _IniParser.NONSPACECRE.search(line)
        level = first.start() if first else 0
        if section is not None and option and level > indent:
            continue  # continuation of the option's value
        indent = level
        header = _IniParser.SECTCRE.match(value)
        if header:
            section, option = header.group("header"), None
        elif section is not None:
            match = _IniParser.OPTCRE.match(value)
            if match:
                option = match.group("option").rstrip()
                found[(section, option)] = number
    return found


def parse_profiles_ini(text: str, root: str, sep: str = "/") -> list[dict]:
    """Profiles of a ``profiles.ini``: ``[{"name", "path", "relative_path", "raw_path", "line", "default"}]``.

    In file order. ``raw_path`` is the ``Path`` value as written, ``line`` the number of its line in ``text``.
    ``default`` is true for the profiles an ``[Install...]`` section names (what current Thunderbird starts
    with), or, when there is no such section, for the ``Default=1`` profile. The paths are not checked: see
    :func:`check_profile_inside`.
    """
    parser = _IniParser(strict=False, interpolation=None)
    parser.optionxform = str  # keep key case
    try:
        parser.read_file(io.StringIO(text))
    except configparser.Error as err:
        raise ThunderbirdError(f"cannot read {root}{sep}profiles.ini: {err.__class__.__name__}") from None
    install_defaults = {
        parser.get(s, "Default").replace("\\", "/")
        for s in parser.sections()
        if s.startswith("Install") and parser.has_option(s, "Default")
    }
    lines = _option_lines(text)
    profiles = []
    for section in parser.sections():
        if not section.startswith("Profile") or not parser.has_option(section, "Path"):
            continue
        line = lines.get((section, "Path"), lines.get((parser.default_section, "Path")))
        raw = parser.get(section, "Path")
        relative = parser.get(section, "IsRelative", fallback="1").strip() == "1"
        norm = raw.replace("\\", "/")
        path = root.rstrip("/\\") + sep + raw.replace("/", sep).replace("\\", sep) if relative else raw
        profiles.append(
            {
                "name": parser.get(section, "Name", fallback=section),
                "path": path,
                "relative_path": norm if relative else None,
                "raw_path": raw,
                "line": line,
                "default_flag": parser.get(section, "Default", fallback="0").strip() == "1",
                "install_default": norm in install_defaults or raw in install_defaults,
            }
        )
    any_install = any(p["install_default"] for p in profiles)
    for profile in profiles:
        profile["default"] = profile["install_default"] if any_install else profile["default_flag"]
        del profile["default_flag"], profile["install_default"]
    return profiles


def check_profile_inside(profile: Mapping, root: str, ini: str) -> None:
    """Refuse a profile of :func:`parse_profiles_ini` whose directory is not strictly inside ``root``.

    ``profiles.ini`` belongs to the user: ``IsRelative=0`` with ``Path=/etc``, or ``Path=../../etc``, would send
    the writes anywhere. The check is lexical (``posixpath.normpath``) on the path built for ``sep="/"``; an
    absolute ``Path`` inside ``root`` is fine. ``ini`` names the file in the message.
    """
    raw, line = profile["raw_path"], profile["line"]
    if any(unicodedata.category(char) == "Cc" for char in raw):
        raise ThunderbirdError(f"{ini} line {line}: Path contains a control character; fix or remove that profile")
    base = root.rstrip("/\\")
    top = posixpath.normpath(base or "/")
    if profile["relative_path"] is None:
        where = posixpath.normpath(raw)
    else:
        where = posixpath.normpath(base + "/" + profile["relative_path"])
    if where == top or not where.startswith(top.rstrip("/") + "/"):
        raise ThunderbirdError(
            f"{ini} line {line}: Path={raw!r} points outside {root}; a profile must be a directory inside the user's "
            "Thunderbird directory (fix or remove that profile)"
        )


def select_profiles(profiles: Sequence[Mapping], select: str, where: str = "") -> list[Mapping]:
    if select == "all":
        return list(profiles)
    if select != "default":
        wanted = [p for p in profiles if p["name"] == select]
        if not wanted:
            names = ", ".join(_shown(p["name"]) for p in profiles) or "none"
            raise ThunderbirdError(f"no Thunderbird profile named {select!r}{where} (profiles: {names})")
        return wanted
    defaults = [p for p in profiles if p["default"]]
    if defaults:
        return defaults
    if len(profiles) == 1:
        return list(profiles)
    names = ", ".join(_shown(p["name"]) for p in profiles)
    raise ThunderbirdError(
        f"cannot tell which Thunderbird profile is the default{where} (profiles: {names}, none marked default); "
        "set mailops_thunderbird_profile to a profile name or to all"
    )


NEW_PROFILE_DIR = "mailops.default"


def new_profiles_ini() -> str:
    """profiles.ini for a profile this collection creates (``mailops.default``, relative, the default)."""
    return (
        "[Profile0]\nName=default\nIsRelative=1\nPath=" + NEW_PROFILE_DIR + "\nDefault=1\n\n"
        "[General]\nStartWithLastProfile=1\nVersion=2\n"
    )


def profile_lock_pid(link_target: str | None):
    """PID from the target of a Linux profile ``lock`` symlink (``127.0.1.1:+1234``), else None."""
    match = re.fullmatch(r".*:\+?([0-9]{1,10})", link_target or "")
    return int(match.group(1)) if match else None


# --- enterprise AutoConfig ------------------------------------------------------------------------------

ENTERPRISE_BASE = 100000


def enterprise_numbers(accounts: Sequence[Mapping]) -> dict:
    """Stable numbers independent of any profile: 100000 + a hash of (user, id), probing on collision."""
    result = {}
    taken = set()
    for account in sorted(accounts, key=lambda a: (a.get("user") or "", a["id"])):
        digest = hashlib.sha256(f"{account.get('user') or ''}\0{account['id']}".encode()).digest()
        number = ENTERPRISE_BASE + int.from_bytes(digest[:4], "big") % 900000
        while number in taken:
            number = ENTERPRISE_BASE + (number - ENTERPRISE_BASE + 1) % 900000
        taken.add(number)
        result[(account.get("user"), account["id"])] = number
    return result


def render_enterprise(accounts: Sequence[Mapping], options: Mapping | None = None) -> dict:
    """``{"autoconfig.js": text, "<cfg_name>": text}`` for the Thunderbird installation directory.

    Accounts without ``user`` apply to everybody; accounts with ``user`` only when the environment variable
    USER (USERNAME on Windows) equals it. Account prefs use ``defaultPref`` (``lockPref`` with
    ``lock_accounts``). The account and SMTP lists are never locked: ``mail.smtpservers`` is a default value
    and the accounts are appended to the user's list at every start (``mail.accountmanager.appendaccounts``
    with ``mailnews.append_preconfig_accounts.version`` reset to 1, as in ``user.js``).
    """
    options = options or {}
    cfg_name = options.get("cfg_name") or "mailops.cfg"
    if not re.match(r"^[A-Za-z0-9._-]+\.cfg$", cfg_name) or cfg_name == "dsengine.cfg":
        raise ThunderbirdError(f"cfg_name {cfg_name!r} must be a plain file name ending in .cfg (not dsengine.cfg)")
    account_fn = "lockPref" if options.get("lock_accounts") else "defaultPref"
    numbers = enterprise_numbers(accounts)
    groups: dict = {}
    for account in accounts:
        groups.setdefault(account.get("user"), []).append(account)
    lines = [
        "// mailops.clients: Thunderbird enterprise AutoConfig, managed by Ansible (Thunderbird skips this first line)",
        f"// Evaluated at every start; account prefs are {account_fn} values. See docs/thunderbird.md.",
    ]
    for name in sorted(options.get("prefs") or {}):
        lines.append(pref_line(name, options["prefs"][name], "defaultPref"))
    for name in sorted(options.get("locked_prefs") or {}):
        lines.append(pref_line(name, options["locked_prefs"][name], "lockPref"))
    if accounts:
        lines += [
            'var mailopsUser = getenv("USER") || getenv("USERNAME") || "";',
            "var mailopsAccounts = [];",
            "var mailopsSmtp = [];",
        ]
    for user in sorted(groups, key=lambda u: (u is not None, u or "")):
        members = groups[user]
        check_collisions(members, f" (AutoConfig, user {user or 'everybody'})")
        indent = ""
        if user is not None:
            lines.append(f"if (mailopsUser == {js_string(user)}) {{")
            indent = "  "
        for account in members:
            number = numbers[(user, account["id"])]
            lines.append(f"{indent}// {_comment_safe(account['id'])}")
            for name, value in account_prefs(account, number, options):
                lines.append(indent + pref_line(name, value, account_fn))
            keys = keys_for(number)
            lines.append(f"{indent}mailopsAccounts.push({js_string(keys['account'])});")
            lines.append(f"{indent}mailopsSmtp.push({js_string(keys['smtp'])});")
        if user is not None:
            lines.append("}")
    if accounts:
        lines += [
            "if (mailopsAccounts.length) {",
            '  defaultPref("mail.accountmanager.appendaccounts", mailopsAccounts.join(","));',
            '  pref("mailnews.append_preconfig_accounts.version", 1);',
            '  defaultPref("mail.smtpservers", mailopsSmtp.join(","));',
            "}",
        ]
    bootstrap = "\n".join(
        [
            "// mailops.clients: enterprise AutoConfig bootstrap, managed by Ansible",
            pref_line("general.config.filename", cfg_name, "pref"),
            pref_line("general.config.obscure_value", 0, "pref"),
        ]
    )
    return {"autoconfig.js": bootstrap + "\n", cfg_name: "\n".join(lines) + "\n"}


# --- autoconfig XML (config-v1.1.xml) --------------------------------------------------------------------


def _placeholder(account: Mapping, username: str | None, warnings: list) -> str | None:
    if username is None:
        return None
    if username == account["email"]:
        return "%EMAILADDRESS%"
    if username == account["local_part"]:
        return "%EMAILLOCALPART%"
    warnings.append(
        f"autoconfig XML for {account['domain']}: account {account['id']} logs in as {username!r}, which is neither "
        "the address nor its local part; the file offers %EMAILADDRESS% (users correct it in the wizard)"
    )
    return "%EMAILADDRESS%"


def render_autoconfig_xml(accounts: Sequence[Mapping], options: Mapping | None = None) -> tuple[dict, list]:
    """``({domain: xml bytes}, warnings)``: one ``clientConfig`` per mail domain, servers in inventory order."""
    options = options or {}
    warnings: list[str] = []
    by_domain: dict[str, list] = {}
    for account in accounts:
        by_domain.setdefault(account["domain"].lower(), []).append(account)
    result = {}
    for domain in sorted(by_domain):
        members = by_domain[domain]
        root = ET.Element("clientConfig", {"version": "1.1"})
        provider = ET.SubElement(root, "emailProvider", {"id": domain})
        ET.SubElement(provider, "domain").text = domain
        display = (options.get("display_names") or {}).get(domain) or domain
        ET.SubElement(provider, "displayName").text = display
        ET.SubElement(provider, "displayShortName").text = (options.get("short_names") or {}).get(domain) or display
        seen_in, seen_out = [], []
        incoming, outgoing = [], []
        for account in members:
            inc, out = account["incoming"], account["outgoing"]
            if inc["auth"] == "none":
                warnings.append(
                    f"autoconfig XML for {domain}: incoming server of {account['id']} has auth none, which "
                    "autoconfig cannot express for incoming servers; left out"
                )
            else:
                user = _placeholder(account, inc["username"], warnings)
                key = (inc["protocol"], inc["host"], inc["port"], inc["security"], inc["auth"], user)
                if key not in seen_in:
                    seen_in.append(key)
                    incoming.append((account, user))
            user = None if out["auth"] == "none" else _placeholder(account, out["username"], warnings)
            key = (out["host"], out["port"], out["security"], out["auth"], user)
            if key not in seen_out:
                seen_out.append(key)
                outgoing.append((account, user))
        for account, user in incoming:
            inc = account["incoming"]
            server = ET.SubElement(provider, "incomingServer", {"type": inc["protocol"]})
            ET.SubElement(server, "hostname").text = inc["host"]
            ET.SubElement(server, "port").text = str(inc["port"])
            ET.SubElement(server, "socketType").text = XML_SOCKET_TYPES[inc["security"]]
            ET.SubElement(server, "authentication").text = XML_AUTH[inc["auth"]]
            ET.SubElement(server, "username").text = user
            if inc["protocol"] == "pop3" and account.get("pop3"):
                pop3 = ET.SubElement(server, "pop3")
                leave = bool(account["pop3"].get("leave_on_server"))
                ET.SubElement(pop3, "leaveMessagesOnServer").text = "true" if leave else "false"
                if leave and account["pop3"].get("delete_after_days") is not None:
                    ET.SubElement(pop3, "daysToLeaveMessagesOnServer").text = str(account["pop3"]["delete_after_days"])
        for account, user in outgoing:
            out = account["outgoing"]
            server = ET.SubElement(provider, "outgoingServer", {"type": "smtp"})
            ET.SubElement(server, "hostname").text = out["host"]
            ET.SubElement(server, "port").text = str(out["port"])
            ET.SubElement(server, "socketType").text = XML_SOCKET_TYPES[out["security"]]
            ET.SubElement(server, "authentication").text = XML_AUTH[out["auth"]]
            if user is not None:
                ET.SubElement(server, "username").text = user
        if any(a["incoming"]["auth"] == "oauth2" for a in members):
            warnings.append(
                f"autoconfig XML for {domain}: OAuth2 is offered, but Thunderbird accepts it only for hosts it ships "
                "OAuth2 settings for"
            )
        ET.indent(root, space="  ")
        body = ET.tostring(root, encoding="unicode")
        result[domain] = ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")
    return result, warnings

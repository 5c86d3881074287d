# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Classic Outlook for Windows (Office 16.0) account provisioning from normalized mail accounts.

Pure functions, no Ansible. Normalized accounts (the inventory model) go in; out come, per OS user:

* local Autodiscover XML files (POX responses, one per mail domain) plus the
  ``HKCU\\Software\\Microsoft\\Office\\16.0\\Outlook\\AutoDiscover`` values that make Outlook read them;
* a PRF file (``outlook.exe /importprf``), optionally with the ``Setup\\ImportPRF`` value and the
  FirstRun reset that makes Outlook import it at its next start;
* optionally (off by default, unsupported by Microsoft, KB 266352) the values of existing accounts in
  the profile registry (``...\\Profiles\\<profile>\\9375CFF0413111d3B88A00104B2A6676\\<subkey>``);
* one ``.reg`` file (Windows Registry Editor Version 5.00) holding every registry value of that user,
  and the same values as items for ``ansible.windows.win_regedit``.

Sources: Microsoft's Autodiscover POX response schema (Exchange Autodiscover reference), the PRF format of the
Office Customization Tool, KB 310516 (.reg syntax); decisions (also in docs/outlook.md):

* Passwords are never written: Outlook keeps them per user encrypted with DPAPI (CryptProtectData), which
  only that user's own session can produce. Inventory passwords are ignored with one note.
* ``auth: oauth2`` and ``gssapi`` cannot be expressed by any of the three mechanisms (classic Outlook offers
  OAuth 2.0 for IMAP/POP only to providers it knows itself; none of the formats has a field for an issuer
  or a mechanism): refused, or left out with a warning (``unsupported: skip``).
* ``auth: password-encrypted`` (CRAM-MD5) has no Outlook setting: over TLS it is rendered as ordinary
  password authentication (SPA off) with a warning; without TLS it is refused, because Outlook could then
  send the password in clear text.
* STARTTLS on the incoming server has no documented PRF key and only a community-reported registry value
  (not confirmed): the PRF and the profile registry refuse it (writing ``UseSSL=0`` would let Outlook log in without
  TLS); the Autodiscover XML expresses it with ``Encryption=TLS`` and keeps ``SSL=on`` so that a client
  that ignores ``Encryption`` fails closed (implicit TLS) instead of falling back to clear text.
* Every text format has exactly one escaping function: `reg_quote` (.reg), `prf_value` (PRF); XML is
  produced by ElementTree.
* Removal (accounts with ``state: absent``, accounts gone from the inventory, renames, server moves): what this
  module wrote before is read back from its own previous ``.reg`` files in the output directory (`parse_reg`
  accepts only what `render_reg` writes, byte for byte). Every value written before and not now is deleted
  with ``"name"=-`` in a separate ``mailops-outlook-remove.reg`` per user (Microsoft, "How to add, modify, or
  delete registry subkeys and values by using a .reg file"), which keeps the values it deleted, so importing
  it again (a client that was offline) removes them too. Never deleted: values another account still needs
  (they are written now), values of Outlook account keys the profile registry mechanism only patched, and whole
  keys (none of the keys is the collection's alone). A PRF cannot remove an account.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import xml.etree.ElementTree as ET  # noqa: S405  (we only write XML here)
from dataclasses import asdict, dataclass, field

from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import is_absent
from ansible_collections.mailops.clients.plugins.plugin_utils._renderer_error import RendererError, check_names
from ansible_collections.mailops.clients.plugins.plugin_utils._values import kind

OFFICE_VERSION = "16.0"
HKCU = "HKEY_CURRENT_USER"
OUTLOOK_KEY = f"{HKCU}\\Software\\Microsoft\\Office\\{OFFICE_VERSION}\\Outlook"
AUTODISCOVER_KEY = f"{OUTLOOK_KEY}\\AutoDiscover"
AUTODISCOVER_POLICY_KEY = f"{HKCU}\\Software\\Policies\\Microsoft\\Office\\{OFFICE_VERSION}\\Outlook\\AutoDiscover"
SETUP_KEY = f"{OUTLOOK_KEY}\\Setup"
ACCOUNT_MANAGER = "9375CFF0413111d3B88A00104B2A6676"

NS_RESPONSE = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
NS_OUTLOOK = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

REG_HEADER = "Windows Registry Editor Version 5.00"
REG_TYPES = ("REG_SZ", "REG_DWORD", "REG_BINARY", "delete")
# ansible.windows.win_regedit type names
WIN_REGEDIT_TYPES = {"REG_SZ": "string", "REG_DWORD": "dword", "REG_BINARY": "binary"}

FILE_PREFIX = "mailops-outlook"
REG_FILE = f"{FILE_PREFIX}.reg"
REMOVAL_REG_FILE = f"{FILE_PREFIX}-remove.reg"
SHARED_LABEL = "shared"
PROFILES_KEY = f"{OUTLOOK_KEY}\\Profiles"
AUTODISCOVER_DIR = "autodiscover"

EXCLUDE_SWITCHES = {
    "scp_lookup": "ExcludeScpLookup",
    "https_root_domain": "ExcludeHttpsRootDomain",
    "https_autodiscover_domain": "ExcludeHttpsAutoDiscoverDomain",
    "http_redirect": "ExcludeHttpRedirect",
    "srv_record": "ExcludeSrvRecord",
    "last_known_good_url": "ExcludeLastKnownGoodURL",
    "explicit_o365_endpoint": "ExcludeExplicitO365Endpoint",
}
_AUTODISCOVER_SWITCHES = frozenset(n.casefold() for n in ("PreferLocalXML", *EXCLUDE_SWITCHES.values()))
PRF_OVERWRITE = ("Append", "Yes", "No")
PRF_IMPORT = ("registry", "none")
UNSUPPORTED_ACTIONS = ("fail", "skip")
MECHANISMS = ("autodiscover", "prf", "profile_registry")

UNSUPPORTED_AUTH = {
    "oauth2": (
        "classic Outlook offers OAuth 2.0 for IMAP/POP only to providers it knows itself; neither the Autodiscover "
        "XML, a PRF nor the profile registry can request it or name an issuer"
    ),
    "gssapi": "classic Outlook has no Kerberos/GSSAPI setting for IMAP, POP3 or SMTP accounts",
}
POX_TYPES = {"imap": "IMAP", "pop3": "POP3", "smtp": "SMTP"}
POX_ENCRYPTION = {"tls": "SSL", "starttls": "TLS", "none": "None"}
# PROP_SMTP_SECURE_CONNECTION codes (0 none, 1 SSL, 2 TLS/STARTTLS; 3 auto is never written)
SECURE_CONNECTION = {"none": 0, "tls": 1, "starttls": 2}
PRF_ACCOUNT_TYPES = {"imap": "IMAP_I_Mail", "pop3": "I_Mail"}

# Section 7 of a PRF: property mappings Outlook needs for the [AccountN] keys (do not modify).
_PRF_MAPPING_COMMON = (
    ("AccountName", "PT_UNICODE,0x0002"),
    ("DisplayName", "PT_UNICODE,0x000B"),
    ("EmailAddress", "PT_UNICODE,0x000C"),
)
_PRF_MAPPING_SMTP = (
    ("SMTPServer", "PT_UNICODE,0x0200"),
    ("SMTPUseAuth", "PT_LONG,0x0203"),
    ("SMTPAuthMethod", "PT_LONG,0x0208"),
    ("SMTPUserName", "PT_UNICODE,0x0204"),
    ("SMTPUseSPA", "PT_LONG,0x0207"),
    ("ConnectionType", "PT_LONG,0x000F"),
    ("ConnectionOID", "PT_UNICODE,0x0010"),
    ("SMTPPort", "PT_LONG,0x0201"),
    ("SMTPUseSSL", "PT_LONG,0x0202"),
    ("SMTPSecureConnection", "PT_LONG,0x020A"),
    ("ServerTimeOut", "PT_LONG,0x0209"),
)


def _prf_mapping(prefix: str) -> tuple:
    return (
        *_PRF_MAPPING_COMMON,
        (f"{prefix}Server", "PT_UNICODE,0x0100"),
        (f"{prefix}UserName", "PT_UNICODE,0x0101"),
        (f"{prefix}UseSPA", "PT_LONG,0x0108"),
        ("Organization", "PT_UNICODE,0x0107"),
        ("ReplyEmailAddress", "PT_UNICODE,0x0103"),
        (f"{prefix}Port", "PT_LONG,0x0104"),
        (f"{prefix}UseSSL", "PT_LONG,0x0105"),
        *_PRF_MAPPING_SMTP,
    )


PRF_MAPPINGS = {
    "I_Mail": ("POP3", (*_prf_mapping("POP3"), ("LeaveOnServer", "PT_LONG,0x1000"))),
    "IMAP_I_Mail": (
        "IMAP",
        (*_prf_mapping("IMAP"), ("CheckNewImap", "PT_LONG,0x1100"), ("RootFolder", "PT_UNICODE,0x1101")),
    ),
}

# XML 1.0 cannot hold these; "\r" too (a parser turns it into "\n").
_XML_INVALID_RE = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SUBKEY_RE = re.compile(r"^[0-9A-Fa-f]{8}$")
_WINDOWS_DIR_RE = re.compile(r"^([A-Za-z]:\\|\\\\[^\\/]+\\[^\\/]+)")
_WINDOWS_BAD_CHARS = set('<>"|?*/') | {chr(c) for c in range(32)}


class OutlookError(RendererError):
    """An account or option that cannot be rendered for Outlook; names the account and field."""


class UnsupportedError(OutlookError):
    """The account needs something a mechanism cannot express (OAuth 2.0, GSSAPI, incoming STARTTLS in a PRF)."""


class RegFileError(RendererError):
    """Text that a .reg file cannot carry (line breaks, NUL, lone surrogates)."""


class PrfError(RendererError):
    """Text that a PRF (INI) value cannot carry (line breaks, NUL)."""


# -- the two escaping functions -------------------------------------------------------------------


def _check_line_text(text, what: str, error: type) -> None:
    """Refuse what one line of a .reg or PRF file cannot carry (never repeating the text: it may be private)."""
    if not isinstance(text, str):
        raise error(f"{what} must be text, got {kind(text)}")
    for char in text:
        if char in "\r\n\0":
            raise error(f"{what} cannot contain U+{ord(char):04X} (line break or NUL)")
        if "\ud800" <= char <= "\udfff":
            raise error(f"{what} cannot contain the lone surrogate U+{ord(char):04X}")


def reg_quote(text: str) -> str:
    """The .reg escaping function: ``text`` as a quoted .reg string (value name or REG_SZ data).

    Inside the quotes ``\\`` becomes ``\\\\`` and ``"`` becomes ``\\"`` (KB 310516); nothing else is
    escaped. A .reg line cannot carry CR, LF or NUL, and UTF-16 cannot carry a lone surrogate: those raise
    `RegFileError` (the message never repeats the text).
    """
    _check_line_text(text, "a .reg string", RegFileError)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def prf_value(text: str) -> str:
    """The PRF escaping function: ``text`` as the right-hand side of a ``Key=value`` line.

    A PRF is read like an INI file (GetPrivateProfileString): the value runs to the end of the line,
    surrounding blanks are dropped and one pair of matching quotes (``"`` or ``'``) around the whole value
    is removed. So a value with leading or trailing blanks, or that itself starts and ends with the same
    quote character, is wrapped in double quotes; everything else is written as is. CR, LF and NUL cannot
    be carried and raise `PrfError`.
    """
    _check_line_text(text, "a PRF value", PrfError)
    quoted = len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'"
    if text != text.strip(" \t") or quoted:
        return f'"{text}"'
    return text


# -- registry values and the .reg writer ---------------------------------------------------------


@dataclass(frozen=True)
class RegValue:
    """One registry value to set (REG_SZ str, REG_DWORD int, REG_BINARY bytes) or delete (type ``delete``)."""

    key: str
    name: str
    type: str
    data: object = None
    user: str | None = None
    mechanism: str = ""
    # applied on a Windows host only when the user's PRF file changed (ImportPRF and the FirstRun reset)
    on_prf_change: bool = False


def utf16z(text: str) -> bytes:
    """REG_BINARY string of the profile registry: UTF-16LE text plus a 2-byte NUL terminator."""
    return text.encode("utf-16-le") + b"\x00\x00"


def _check_key(key: str) -> None:
    if not key.startswith(HKCU + "\\") or not key[len(HKCU) + 1 :]:
        raise RegFileError("every key must be below HKEY_CURRENT_USER")
    for char in key:
        if char in "\r\n\0[]" or "\ud800" <= char <= "\udfff":
            raise RegFileError(f"a registry key path cannot contain U+{ord(char):04X} in a .reg file")
    if "\\\\" in key or key.endswith("\\"):
        raise RegFileError("a registry key path cannot contain an empty component")


def reg_value_line(value: RegValue) -> str:
    """One ``"name"=data`` line (binary data on a single line, see docs/outlook.md)."""
    name = reg_quote(value.name)
    if value.type == "REG_SZ":
        return f"{name}={reg_quote(value.data)}"
    if value.type == "REG_DWORD":
        data = value.data
        if not isinstance(data, int) or isinstance(data, bool) or not 0 <= data <= 0xFFFFFFFF:
            raise RegFileError(f"REG_DWORD {value.name!r} must be an integer from 0 to 4294967295")
        return f"{name}=dword:{data:08x}"
    if value.type == "REG_BINARY":
        if not isinstance(value.data, (bytes, bytearray)):
            raise RegFileError(f"REG_BINARY {value.name!r} must be bytes")
        return f"{name}=hex:{','.join(f'{b:02x}' for b in value.data)}"
    if value.type == "delete":
        return f"{name}=-"
    raise RegFileError(f"unknown registry value type {value.type!r}; use one of {', '.join(REG_TYPES)}")


def render_reg(values: list) -> bytes:
    """A .reg file: header, one ``[key]`` block per key (first-appearance order), UTF-16LE with BOM, CRLF.

    Like regedit's own export: a blank line before each key and after the last value.
    """
    blocks: dict[str, list] = {}
    for value in values:
        _check_key(value.key)
        blocks.setdefault(value.key, []).append(value)
    lines = [REG_HEADER]
    for key, items in blocks.items():
        seen = set()
        lines.append("")
        lines.append(f"[{key}]")
        for item in items:
            if item.name.lower() in seen:
                raise RegFileError(f"value {item.name!r} appears twice under {key}")
            seen.add(item.name.lower())
            lines.append(reg_value_line(item))
    lines.append("")
    text = "\r\n".join(lines) + "\r\n"
    return b"\xff\xfe" + text.encode("utf-16-le")


_DWORD_RE = re.compile(r"dword:([0-9a-f]{8})")
_HEX_RE = re.compile(r"hex:((?:[0-9a-f]{2}(?:,[0-9a-f]{2})*)?)")


def _reg_unquote(line: str, pos: int) -> tuple:
    """The text of the quoted .reg string at ``line[pos]`` and the position after it (inverse of `reg_quote`)."""
    if line[pos : pos + 1] != '"':
        raise ValueError("a quoted string was expected")
    out = []
    i = pos + 1
    while i < len(line):
        char = line[i]
        if char == "\\":
            if line[i + 1 : i + 2] not in ("\\", '"'):
                raise ValueError("an unknown escape sequence")
            out.append(line[i + 1])
            i += 2
        elif char == '"':
            return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    raise ValueError("an unterminated string")


def _reg_data(rest: str) -> tuple:
    if rest == "-":
        return "delete", None
    if rest.startswith('"'):
        data, end = _reg_unquote(rest, 0)
        if end != len(rest):
            raise ValueError("text after a closing quote")
        return "REG_SZ", data
    match = _DWORD_RE.fullmatch(rest)
    if match:
        return "REG_DWORD", int(match.group(1), 16)
    match = _HEX_RE.fullmatch(rest)
    if match:
        return "REG_BINARY", bytes.fromhex(match.group(1).replace(",", ""))
    raise ValueError("value data this collection does not write")


def parse_reg(data: bytes, what: str) -> list:
    """The values of a .reg file that `render_reg` wrote, as `RegValue` (no user, no mechanism).

    Strict: the values read are written again with `render_reg` and must give the same bytes, so a file edited
    by hand, exported by another tool or cut short is refused (`RegFileError` naming ``what``), never half
    trusted: removals are derived from it, and only values this collection wrote may be removed.
    """

    def refuse(reason: str) -> RegFileError:
        return RegFileError(
            f"{what} is not a .reg file as mailops.clients writes it ({reason}), so the values written before "
            "cannot be known. Fix: restore it from its backup, or delete it (then values it set are not removed)"
        )

    if not data.startswith(b"\xff\xfe") or len(data) % 2:
        raise refuse("not UTF-16LE with a byte-order mark")
    try:
        text = data[2:].decode("utf-16-le")
    except UnicodeDecodeError:
        raise refuse("not UTF-16LE") from None
    lines = text.split("\r\n")
    if lines[0] != REG_HEADER:
        raise refuse(f"the first line is not {REG_HEADER!r}")
    values = []
    key = None
    for number, line in enumerate(lines[1:], 2):
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            key = line[1:-1]
            continue
        try:
            if key is None:
                raise ValueError("a value outside a key")
            name, end = _reg_unquote(line, 0)
            if line[end : end + 1] != "=":
                raise ValueError("no '=' after the value name")
            kind_, value = _reg_data(line[end + 1 :])
        except ValueError as exc:
            raise refuse(f"line {number}: {exc}") from None
        values.append(RegValue(key, name, kind_, value))
    try:
        same = render_reg(values) == data
    except RegFileError as exc:
        raise refuse(str(exc)) from None
    if not same:
        raise refuse("its layout differs from what this collection writes")
    return values


# -- options --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderOptions:
    """Rendering settings; the user-facing names are those of the role without ``mailops_outlook_``."""

    autodiscover: bool = True
    autodiscover_prefer_local_xml: bool = True
    autodiscover_exclude: dict = field(default_factory=lambda: {"explicit_o365_endpoint": True})
    autodiscover_policy_key: bool = False
    prf: bool = False
    prf_import: str = "registry"
    prf_default_profile: bool = True
    prf_overwrite_profile: str = "Append"
    prf_modify_default_profile: bool = True
    prf_backup_profile: bool = True
    profile_name: str = "Outlook"
    profile_registry: bool = False
    profile_registry_subkeys: dict = field(default_factory=dict)
    windows_dir: str = "C:\\ProgramData\\mailops.clients\\outlook"
    default_user: str | None = None
    unsupported: str = "fail"


_NULLABLE = frozenset({"default_user"})


def _type_name(expected) -> str:
    return {bool: "a boolean", int: "an integer", str: "a string", dict: "a dictionary"}[expected]


def _check_type(value, expected, what: str, account: str | None = None):
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if not ok:
        where = f"account {account}: " if account else ""
        raise OutlookError(
            f"{where}{what} must be {_type_name(expected)}, got {kind(value)}", account=account, field=what
        )
    return value


def _choice(value, choices, name):
    if value not in choices:
        raise OutlookError(f"{name} must be one of {', '.join(choices)}, got {value!r}", field=name)


def options_from_dict(data: dict | None) -> RenderOptions:
    """Validated `RenderOptions` from the user-facing names (None means the default, except for nullables)."""
    data = dict(data or {})
    check_names(data, RenderOptions.__dataclass_fields__, OutlookError)
    data = {key: value for key, value in data.items() if value is not None or key in _NULLABLE}
    opts = RenderOptions(**data)
    for name in (
        "autodiscover",
        "autodiscover_prefer_local_xml",
        "autodiscover_policy_key",
        "prf",
        "prf_default_profile",
        "prf_modify_default_profile",
        "prf_backup_profile",
        "profile_registry",
    ):
        _check_type(getattr(opts, name), bool, name)
    _choice(opts.prf_import, PRF_IMPORT, "prf_import")
    _choice(opts.prf_overwrite_profile, PRF_OVERWRITE, "prf_overwrite_profile")
    _choice(opts.unsupported, UNSUPPORTED_ACTIONS, "unsupported")
    _check_type(opts.autodiscover_exclude, dict, "autodiscover_exclude")
    bad = sorted(set(opts.autodiscover_exclude) - set(EXCLUDE_SWITCHES))
    if bad:
        raise OutlookError(
            f"autodiscover_exclude: unknown switch(es) {', '.join(bad)}; valid: {', '.join(EXCLUDE_SWITCHES)}",
            field="autodiscover_exclude",
        )
    for name, value in opts.autodiscover_exclude.items():
        if value is not None:
            _check_type(value, bool, f"autodiscover_exclude.{name}")
    _check_type(opts.profile_name, str, "profile_name")
    if (
        not opts.profile_name
        or len(opts.profile_name) > 64
        or opts.profile_name != opts.profile_name.strip()
        or any(c in '\\[]"' or unicodedata.category(c)[0] == "C" for c in opts.profile_name)
    ):
        raise OutlookError(
            f"profile_name {opts.profile_name!r} is not usable as an Outlook profile and registry key name: use 1 to "
            '64 characters without \\ [ ] " control characters or surrounding blanks',
            field="profile_name",
        )
    _check_type(opts.profile_registry_subkeys, dict, "profile_registry_subkeys")
    for account, subkey in opts.profile_registry_subkeys.items():
        if not isinstance(subkey, str) or not _SUBKEY_RE.match(subkey):
            raise OutlookError(
                f"profile_registry_subkeys[{account}] must be the 8 hex digits of an existing account key "
                f"(e.g. 00000002), got {subkey!r}",
                account=str(account),
                field="profile_registry_subkeys",
            )
    if not (opts.autodiscover or opts.prf or opts.profile_registry):
        raise OutlookError(
            "nothing to render: enable at least one of autodiscover, prf, profile_registry", field="autodiscover"
        )
    _check_type(opts.windows_dir, str, "windows_dir")
    windows_dir(opts.windows_dir)
    if opts.default_user is not None:
        _check_type(opts.default_user, str, "default_user")
    return opts


def windows_dir(path: str) -> str:
    """The validated Windows directory, without a trailing backslash."""
    rest = path[2:] if re.match(r"^[A-Za-z]:", path) else path
    prefix = _WINDOWS_DIR_RE.match(path)
    if (
        not prefix
        or any(c in _WINDOWS_BAD_CHARS or c == ":" for c in rest)
        or "\\\\" in path[prefix.end() - 1 :].rstrip("\\")
    ):
        raise OutlookError(
            f"windows_dir {path!r} must be an absolute Windows path (C:\\... or \\\\server\\share\\...) without "
            '< > " | ? * / : control characters or empty components; environment variables are not expanded in the '
            "registry",
            field="windows_dir",
        )
    return path.rstrip("\\")


def directory_name(text: str) -> str:
    """A directory name from a user name: lower-case ASCII letters, digits, dots, hyphens, underscores.

    Used in the output paths, so it never changes. Unlike Apple's ``_apple.reverse_dns_label`` (one component of a
    reverse-DNS identifier) it keeps dots and underscores, which a file name may hold.

    Text without any such character becomes ``x-`` plus 10 hex digits of its SHA-256 (stable, distinct).
    """
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.")
    if not cleaned:
        cleaned = "x-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    return cleaned


# -- rendering ------------------------------------------------------------------------------------


@dataclass
class OutFile:
    """One file to write: ``path`` relative to the host's output directory (POSIX separators)."""

    path: str
    kind: str  # autodiscover | prf | reg
    user: str | None
    content: bytes
    windows_path: str | None
    accounts: list

    def text(self) -> str:
        """The content as text (for diffs); none of the files holds a secret."""
        return file_text(self.content)

    def summary(self) -> dict:
        """Every field but the content, in field order (copies: safe to change, safe to log)."""
        summary = asdict(self)
        del summary["content"]
        return summary


def file_text(data: bytes) -> str:
    """Text of a rendered file (UTF-16LE with BOM, or UTF-8/ASCII) with LF line ends, for diffs."""
    if data.startswith(b"\xff\xfe"):
        return data[2:].decode("utf-16-le").replace("\r\n", "\n")
    return data.decode("utf-8").replace("\r\n", "\n")


@dataclass
class RenderResult:
    files: list
    registry: list
    warnings: list
    notes: list
    skipped: list
    # values to delete (type ``delete``), from the removal .reg files of users whose name is known
    removals: list = field(default_factory=list)
    # Windows copies of files written before and not now: ``dest`` (Windows path), ``kind``, ``user``
    removed_files: list = field(default_factory=list)


def _check_text(value: str, account: str, what: str) -> str:
    match = _XML_INVALID_RE.search(value)
    if match:
        raise OutlookError(
            f"account {account}: {what} contains U+{ord(match.group()):04X}, which XML cannot hold; remove control "
            "characters",
            account=account,
            field=what,
        )
    return value


def _unsupported_reason(account: dict, mechanism: str) -> str | None:
    reasons = []
    for direction in ("incoming", "outgoing"):
        ep = account[direction]
        if ep["auth"] in UNSUPPORTED_AUTH:
            reasons.append(f"{direction} auth {ep['auth']}: {UNSUPPORTED_AUTH[ep['auth']]}")
        elif ep["auth"] == "password-encrypted" and ep["security"] == "none":
            reasons.append(
                f"{direction} auth password-encrypted without TLS: Outlook has no CRAM-MD5 setting and could send "
                "the password in clear text"
            )
    if mechanism in ("prf", "profile_registry") and account["incoming"]["security"] == "starttls":
        what = "a PRF" if mechanism == "prf" else "the profile registry"
        reasons.append(
            f"incoming security starttls: {what} has no documented setting for STARTTLS on the incoming server, "
            "and UseSSL=0 would let Outlook log in without TLS (the Autodiscover XML can express it)"
        )
    return "; ".join(reasons) or None


def _flag(value: bool) -> str:
    return "on" if value else "off"


def _needs_login(ep: dict) -> bool:
    return ep["auth"] != "none"


def _smtp_reuses_incoming(account: dict) -> bool:
    inc, out = account["incoming"], account["outgoing"]
    return _needs_login(inc) and _needs_login(out) and inc["username"] == out["username"]


def _pox_protocol(parent, ep: dict, account: dict) -> None:
    proto = ET.SubElement(parent, "Protocol")
    items = [
        ("Type", POX_TYPES[ep["protocol"]]),
        ("Server", ep["host"]),
        ("Port", str(ep["port"])),
        ("DomainRequired", "off"),
        ("LoginName", _check_text(ep["username"], account["id"], f"{ep['protocol']} username")),
        ("SPA", _flag(ep["auth"] == "ntlm")),
        # on for STARTTLS too: Encryption=TLS overrides it, and a client that ignores Encryption fails closed
        ("SSL", _flag(ep["security"] != "none")),
        ("Encryption", POX_ENCRYPTION[ep["security"]]),
        ("AuthRequired", _flag(_needs_login(ep))),
    ]
    if ep["protocol"] == "smtp":
        items.append(("UsePOPAuth", _flag(_smtp_reuses_incoming(account))))
    for tag, text in items:
        ET.SubElement(proto, tag).text = text


def _pox_signature(account: dict) -> tuple:
    keys = ("protocol", "host", "port", "security", "auth", "username")
    return (
        tuple(account["incoming"][k] for k in keys),
        tuple(account["outgoing"][k] for k in keys),
        _smtp_reuses_incoming(account),
    )


def autodiscover_xml(accounts: list) -> bytes:
    """A POX Autodiscover response for the accounts of one user in one domain (identical settings)."""
    root = ET.Element("Autodiscover", {"xmlns": NS_RESPONSE})
    response = ET.SubElement(root, "Response", {"xmlns": NS_OUTLOOK})
    names = {a["display_name"] for a in accounts}
    if len(names) == 1:
        user = ET.SubElement(response, "User")
        ET.SubElement(user, "DisplayName").text = _check_text(names.pop(), accounts[0]["id"], "display_name")
    acc = ET.SubElement(response, "Account")
    ET.SubElement(acc, "AccountType").text = "email"
    ET.SubElement(acc, "Action").text = "settings"
    _pox_protocol(acc, accounts[0]["incoming"], accounts[0])
    _pox_protocol(acc, accounts[0]["outgoing"], accounts[0])
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _prf_account_lines(account: dict, number: int) -> list:
    inc, out = account["incoming"], account["outgoing"]
    prefix = "IMAP" if inc["protocol"] == "imap" else "POP3"
    values = [
        ("UniqueService", "No"),
        ("AccountName", account["email"]),
        ("DisplayName", account["display_name"]),
        ("EmailAddress", account["email"]),
    ]
    if account.get("reply_to"):
        values.append(("ReplyEmailAddress", account["reply_to"]))
    values += [
        (f"{prefix}Server", inc["host"]),
        (f"{prefix}UserName", inc["username"]),
        (f"{prefix}UseSPA", int(inc["auth"] == "ntlm")),
        (f"{prefix}Port", inc["port"]),
        (f"{prefix}UseSSL", int(inc["security"] == "tls")),
        ("SMTPServer", out["host"]),
        ("SMTPPort", out["port"]),
        ("SMTPUseSSL", int(out["security"] == "tls")),
        ("SMTPSecureConnection", SECURE_CONNECTION[out["security"]]),
        ("SMTPUseAuth", int(_needs_login(out))),
    ]
    if _needs_login(out):
        reuse = _smtp_reuses_incoming(account)
        values.append(("SMTPAuthMethod", 0 if reuse else 1))
        if not reuse:
            values.append(("SMTPUserName", out["username"]))
        values.append(("SMTPUseSPA", int(out["auth"] == "ntlm")))
    values.append(("ConnectionType", 0))
    if prefix == "POP3":
        values.append(("LeaveOnServer", leave_on_server(account.get("pop3"))))
    lines = [f"[Account{number}]"]
    for key, value in values:
        text = str(value) if isinstance(value, int) else value
        try:
            lines.append(f"{key}={prf_value(text)}")
        except PrfError as exc:
            raise OutlookError(f"account {account['id']}: {key}: {exc}", account=account["id"], field=key) from None
    return lines


def leave_on_server(pop3: dict | None) -> int:
    """PROP_POP_LEAVE_ON_SERVER bitmask: 0x1 leave, 0x2 remove after N days (N in the high 16 bits)."""
    if not pop3 or not pop3.get("leave_on_server"):
        return 0
    days = pop3.get("delete_after_days")
    if days:
        return 0x1 | 0x2 | (min(int(days), 0xFFFF) << 16)
    return 0x1


def render_prf(accounts: list, opts: RenderOptions) -> bytes:
    """The PRF text of one user's accounts: ASCII with CRLF, or UTF-16LE with BOM when it has other text."""
    lines = [
        "; Outlook profile (PRF) written by mailops.clients (role outlook). Changes here are overwritten.",
        "; Import: outlook.exe /importprf <this file>. Passwords are not in this file: Outlook asks once.",
        "[General]",
        "Custom=1",
        f"ProfileName={prf_value(opts.profile_name)}",
        f"DefaultProfile={'Yes' if opts.prf_default_profile else 'No'}",
        f"OverwriteProfile={opts.prf_overwrite_profile}",
        f"ModifyDefaultProfileIfPresent={'TRUE' if opts.prf_modify_default_profile else 'FALSE'}",
    ]
    if not opts.prf_backup_profile:
        lines.append("BackupProfile=No")
    lines += ["", "[Internet Account List]"]
    for number, account in enumerate(accounts, 1):
        lines.append(f"Account{number}={PRF_ACCOUNT_TYPES[account['incoming']['protocol']]}")
    for number, account in enumerate(accounts, 1):
        lines.append("")
        lines.extend(_prf_account_lines(account, number))
    for section in ("I_Mail", "IMAP_I_Mail"):
        if not any(PRF_ACCOUNT_TYPES[a["incoming"]["protocol"]] == section for a in accounts):
            continue
        account_type, mapping = PRF_MAPPINGS[section]
        lines += ["", f"[{section}]", f"AccountType={account_type}"]
        lines += [f"{key}={value}" for key, value in mapping]
    text = "\r\n".join(lines) + "\r\n"
    if text.isascii():
        return text.encode("ascii")
    return b"\xff\xfe" + text.encode("utf-16-le")


def _profile_registry_values(account: dict, subkey: str, opts: RenderOptions, user: str | None) -> list:
    inc, out = account["incoming"], account["outgoing"]
    prefix = "IMAP" if inc["protocol"] == "imap" else "POP3"
    key = f"{OUTLOOK_KEY}\\Profiles\\{opts.profile_name}\\{ACCOUNT_MANAGER}\\{subkey.lower()}"
    items = [
        ("Account Name", "REG_BINARY", utf16z(account["email"])),
        ("Display Name", "REG_BINARY", utf16z(account["display_name"])),
        ("Email", "REG_BINARY", utf16z(account["email"])),
        (f"{prefix} Server", "REG_BINARY", utf16z(inc["host"])),
        (f"{prefix} User", "REG_BINARY", utf16z(inc["username"])),
        (f"{prefix} Port", "REG_DWORD", inc["port"]),
        (f"{prefix} Use SSL", "REG_DWORD", int(inc["security"] == "tls")),
        (f"{prefix} Use SPA", "REG_DWORD", int(inc["auth"] == "ntlm")),
    ]
    if prefix == "IMAP":
        items.append(("IMAP Secure Connection", "REG_DWORD", SECURE_CONNECTION[inc["security"]]))
    items += [
        ("SMTP Server", "REG_BINARY", utf16z(out["host"])),
        ("SMTP Port", "REG_DWORD", out["port"]),
        ("SMTP Use SSL", "REG_DWORD", int(out["security"] == "tls")),
        ("SMTP Secure Connection", "REG_DWORD", SECURE_CONNECTION[out["security"]]),
        ("SMTP Use Auth", "REG_DWORD", int(_needs_login(out))),
        ("SMTP Use SPA", "REG_DWORD", int(out["auth"] == "ntlm")),
    ]
    if _needs_login(out):
        items.append(("SMTP User", "REG_BINARY", utf16z(out["username"])))
    return [RegValue(key, name, kind, data, user, "profile_registry") for name, kind, data in items]


def _user_of(account: dict, opts: RenderOptions) -> str | None:
    return account.get("user") or opts.default_user


def _label_of(user: str | None) -> str:
    return directory_name(user) if user else SHARED_LABEL


def _subkey_of(account: dict, opts: RenderOptions) -> str | None:
    """The profile registry key of an account: mapped by id, email, or (after a rename) its previous email."""
    for name in (account["id"], account["email"], account.get("previous_email")):
        if name is not None and name in opts.profile_registry_subkeys:
            return opts.profile_registry_subkeys[name]
    return None


def _is_absent(account) -> bool:
    return isinstance(account, dict) and is_absent(account)


_OUTPUT_PATH_RE = re.compile(
    # user directory names and domains never start with a dot (directory_name strips them): no ".." either
    rf"^(?!\.)[^/]+/(?:{re.escape(REG_FILE)}|{re.escape(REMOVAL_REG_FILE)}|{re.escape(FILE_PREFIX)}\.prf"
    rf"|{re.escape(AUTODISCOVER_DIR)}/(?!\.)[^/]+\.xml)$"
)


def is_output_path(path: str) -> bool:
    """Whether ``path`` (relative to the host's output directory) has the name of a file `render` writes."""
    return isinstance(path, str) and bool(_OUTPUT_PATH_RE.match(path))


def registry_file_paths(accounts: list, options: dict | RenderOptions | None = None, listed=()) -> list:
    """The .reg files (paths relative to the host's output directory) whose previous bytes `render` needs.

    For every user of ``accounts`` (present or absent) and every user directory of a file in ``listed`` (the
    files written before, e.g. from the manifest of the output directory): the user's ``.reg`` (what was written
    before) and removal ``.reg`` (what was removed before).
    """
    opts = options if isinstance(options, RenderOptions) else options_from_dict(options)
    if not isinstance(accounts, list):
        return []
    labels = dict.fromkeys(_label_of(_user_of(a, opts)) for a in accounts if isinstance(a, dict))
    labels.update(dict.fromkeys(path.split("/", 1)[0] for path in listed if is_output_path(path)))
    return [f"{label}/{name}" for label in labels for name in (REG_FILE, REMOVAL_REG_FILE)]


def _validate_account(account) -> dict:
    if not isinstance(account, dict) or "id" not in account:
        raise OutlookError("every account must be a normalized account dictionary (with an id)")
    account_id = account["id"]
    for direction in ("incoming", "outgoing"):
        ep = account.get(direction)
        if not isinstance(ep, dict):
            raise OutlookError(f"account {account_id}: {direction} is missing", account=account_id, field=direction)
        expected = ("imap", "pop3") if direction == "incoming" else ("smtp",)
        if ep.get("protocol") not in expected:
            raise OutlookError(
                f"account {account_id}: {direction} protocol {ep.get('protocol')!r} is not {' or '.join(expected)}",
                account=account_id,
                field=f"{direction}.protocol",
            )
        if ep.get("security") not in SECURE_CONNECTION:
            raise OutlookError(
                f"account {account_id}: {direction} security {ep.get('security')!r} is not one of tls, starttls, none",
                account=account_id,
                field=f"{direction}.security",
            )
        port = ep.get("port")
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            raise OutlookError(
                f"account {account_id}: {direction} port {port!r} is not an integer from 1 to 65535",
                account=account_id,
                field=f"{direction}.port",
            )
    return account


def render(accounts: list, options: dict | RenderOptions | None = None, previous: dict | None = None) -> RenderResult:
    """Everything the role writes for one host's accounts (see the module docstring).

    Files are ordered by user (first appearance), then Autodiscover XML (by domain), PRF, .reg; then the removal
    .reg files. Accounts with ``state: absent`` are not rendered. ``previous`` maps paths relative to the host's
    output directory (`registry_file_paths`, and any other ``<user>/mailops-outlook[-remove].reg``) to the bytes
    found there. Raises `OutlookError` / `UnsupportedError` naming the account and field, `RegFileError` for a
    previous file this module did not write.
    """
    opts = options if isinstance(options, RenderOptions) else options_from_dict(options)
    if not isinstance(accounts, list):
        raise OutlookError(f"accounts must be a list of normalized accounts, got {kind(accounts)}")
    absent = [_validate_absent(a) for a in accounts if _is_absent(a)]
    accounts = [a for a in accounts if not _is_absent(a)]
    enabled = [m for m, on in zip(MECHANISMS, (opts.autodiscover, opts.prf, opts.profile_registry)) if on]
    warnings: list = []
    notes: list = []
    skipped: list = []
    per_user: dict = {}
    rendered_ids: list = []
    subkeys_used: dict = {}
    for account in accounts:
        account = _validate_account(account)
        account_id = account["id"]
        for mechanism in enabled:
            reason = _unsupported_reason(account, mechanism)
            if reason and opts.unsupported == "fail":
                raise UnsupportedError(
                    f"account {account_id}: cannot be provisioned for Outlook ({mechanism}): {reason}. Fix: change "
                    f"the server settings if the server offers another method, leave the account out "
                    f"(mailops_outlook_exclude: [{account_id}]) or skip what cannot be expressed "
                    "(mailops_outlook_unsupported: skip)",
                    account=account_id,
                    field="auth",
                )
            if reason:
                skipped.append({"id": account_id, "mechanism": mechanism, "reason": reason})
                warnings.append(f"account {account_id}: left out of the Outlook {mechanism} output: {reason}")
                continue
            if mechanism == "profile_registry":
                subkey = _subkey_of(account, opts)
                if subkey is None:
                    warnings.append(
                        f"account {account_id}: no profile registry values written: map it to the key of the "
                        "account Outlook created (mailops_outlook_profile_registry_subkeys)"
                    )
                    continue
                user = _user_of(account, opts)
                owner = subkeys_used.setdefault((user, subkey.lower()), account_id)
                if owner != account_id:
                    raise OutlookError(
                        f"accounts {owner} and {account_id} of user {user or 'shared'} map to the same profile "
                        f"registry key {subkey}",
                        account=account_id,
                        field="profile_registry_subkeys",
                    )
            user = _user_of(account, opts)
            bucket = per_user.setdefault(user, {m: [] for m in MECHANISMS})
            bucket[mechanism].append(account)
            if account_id not in rendered_ids:
                rendered_ids.append(account_id)
        in_registry = any(a is account for b in per_user.values() for a in b["profile_registry"])
        if in_registry and (account.get("pop3") or {}).get("leave_on_server"):
            notes.append(
                f"account {account_id}: POP3 leave-on-server is written to the PRF only; its profile registry value "
                "name is not confirmed"
            )
        if (account.get("pop3") or {}).get("leave_on_server") and not opts.prf and account_id in rendered_ids:
            warnings.append(
                f"account {account_id}: POP3 leave_on_server is not written: only the PRF output carries it (set the "
                "prf option, mailops_outlook_prf: true); Outlook applies its own default"
            )
        cram = "password-encrypted" in (account["incoming"]["auth"], account["outgoing"]["auth"])
        if cram and not _unsupported_reason(account, "autodiscover"):
            warnings.append(
                f"account {account_id}: auth password-encrypted (CRAM-MD5) has no Outlook setting; rendered as "
                "password authentication over TLS (Outlook chooses the SASL mechanism)"
            )

    by_id = {a["id"]: a for a in accounts if isinstance(a, dict)}
    with_password = [i for i in rendered_ids if by_id[i].get("password")]
    if with_password:
        notes.append(
            f"passwords not written ({', '.join(with_password)}): Outlook keeps each password encrypted for the "
            "user with DPAPI, which only that user's session can produce; Outlook asks for it once"
        )
    for what, reason in (
        ("check_interval_minutes", "Outlook schedules Send/Receive per profile, not per account"),
        ("signature", "Outlook keeps signatures as files in the user's profile, not in account settings"),
        ("timeout", "the unit and registry name of Outlook's server timeout are not confirmed"),
    ):
        ids = [i for i in rendered_ids if by_id[i].get(what) is not None]
        if ids:
            notes.append(f"{what} not written ({', '.join(ids)}): {reason}")

    files: list = []
    registry: list = []
    written: dict = {}
    base = windows_dir(opts.windows_dir)
    seen_labels: dict = {}
    for user, bucket in per_user.items():
        user_label = directory_name(user) if user else "shared"
        if seen_labels.setdefault(user_label, user) != user:
            raise OutlookError(
                f"users {seen_labels[user_label]!r} and {user!r} map to the same directory name {user_label!r}; "
                "rename one (directory names keep lower-case ASCII letters, digits, dots, hyphens, underscores)",
                field="user",
            )
        win_user_dir = f"{base}\\{user_label}"
        user_files, user_registry = _render_user(user, user_label, win_user_dir, bucket, opts)
        files.extend(user_files)
        registry.extend(user_registry)
        written[user_label] = (user, [v for v in user_registry if v.type != "delete"])
    removal = _removal_files(written, absent, previous or {}, opts)
    current = {f.windows_path.casefold() for f in files if f.windows_path}
    return RenderResult(
        files=[*files, *removal.files],
        registry=registry,
        warnings=[*warnings, *removal.warnings],
        notes=[*notes, *removal.notes],
        skipped=skipped,
        removals=removal.registry,
        removed_files=[f for f in removal.removed_files if f["dest"].casefold() not in current],
    )


def _validate_absent(account: dict) -> dict:
    if "id" not in account or not isinstance(account.get("email"), str):
        raise OutlookError("every account must be a normalized account dictionary (with an id and an email)")
    return account


def _ident(value: RegValue) -> tuple:
    """Registry key paths and value names compare without regard to case."""
    return (value.key.casefold(), value.name.casefold())


def _mechanism_of(key: str) -> str:
    folded = key.casefold()
    if folded.startswith(PROFILES_KEY.casefold() + "\\"):
        return "profile_registry"
    return "prf" if folded == SETUP_KEY.casefold() else "autodiscover"


def _previous_by_label(previous: dict) -> dict:
    """``{label: (values set before, values removed before)}`` from the previous .reg files."""
    found: dict = {}
    for path in sorted(previous):
        label, _sep, name = path.rpartition("/")
        data = previous[path]
        if data is None or "/" in label or name not in (REG_FILE, REMOVAL_REG_FILE):
            continue
        values = parse_reg(data, f"the previous {path}")
        entry = found.setdefault(label, ([], []))
        if name == REG_FILE:
            entry[0].extend(v for v in values if v.type != "delete")
        elif any(v.type != "delete" for v in values):
            raise RegFileError(
                f"the previous {path} sets values; a removal .reg only deletes. Fix: restore it from its backup, or "
                "delete it (then the values it removed are not removed again)"
            )
        else:
            entry[1].extend(values)
    return found


def _implicit_user(label: str):
    """The user of a directory no account names any more: None for shared, the name when the label is one."""
    if label == SHARED_LABEL:
        return None, True
    if re.fullmatch(r"x-[0-9a-f]{10}", label) or directory_name(label) != label:
        return None, False
    return label, True


def _files_named_by(values: list, label: str, user) -> list:
    """The Windows files that values set before point to, when they have the names this module gives its files.

    An Autodiscover value ``<domain>`` = ``<dir>\\<label>\\autodiscover\\<domain>.xml`` and ``ImportPRF`` =
    ``<dir>\\<label>\\mailops-outlook.prf``; any other path is not ours and is never listed.
    """
    found = []
    for value in values:
        if value.type != "REG_SZ" or not _WINDOWS_DIR_RE.match(value.data):
            continue
        mechanism = _mechanism_of(value.key)
        if mechanism == "autodiscover" and value.name.casefold() not in _AUTODISCOVER_SWITCHES:
            tail, kind_ = f"\\{label}\\{AUTODISCOVER_DIR}\\{value.name}.xml", "autodiscover"
        elif mechanism == "prf" and value.name.casefold() == "importprf":
            tail, kind_ = f"\\{label}\\{FILE_PREFIX}.prf", "prf"
        else:
            continue
        if value.data.casefold().endswith(tail.casefold()) and len(value.data) > len(tail):
            found.append({"dest": value.data, "kind": kind_, "user": user})
    return found


def _removal_files(written: dict, absent: list, previous: dict, opts: RenderOptions) -> RenderResult:
    """The removal .reg per user: every value written before (or removed before) that is not written now.

    ``written``: ``{label: (user, values set now)}``. Values of the shared user (no ``user``) may be imported
    into any user's HKEY_CURRENT_USER, so they are never deleted for a named user, and the shared user deletes
    nothing a named user still sets.
    """
    out = RenderResult(files=[], registry=[], warnings=[], notes=[], skipped=[])
    before = _previous_by_label(previous)
    absent_by_label: dict = {}
    for account in absent:
        user = _user_of(account, opts)
        absent_by_label.setdefault(_label_of(user), (user, []))[1].append(account["id"])
    shared_now = {_ident(v) for v in written.get(SHARED_LABEL, (None, []))[1]}
    everyone_now = {_ident(v) for _user, values in written.values() for v in values}
    for label in dict.fromkeys([*written, *absent_by_label, *before]):
        if label in written or label in absent_by_label:
            user, known = (written.get(label) or absent_by_label[label])[0], True
        else:
            user, known = _implicit_user(label)
        now_values = written.get(label, (None, []))[1]
        now = {_ident(v) for v in now_values} | (everyone_now if label == SHARED_LABEL else shared_now)
        now_keys = {v.key.casefold() for v in now_values}
        set_before, removed_before = before.get(label, ([], []))
        if known:
            out.removed_files.extend(_files_named_by(set_before, label, user))
        gone: dict = {}
        patched: list = []
        for value in [*set_before, *removed_before]:
            if _ident(value) in now:
                continue
            patched_key = value.type != "delete" and _mechanism_of(value.key) == "profile_registry"
            if patched_key and value.key.casefold() not in now_keys:
                # Outlook created this account key and binds it to its MAPI store; only MAPI may remove an
                # account (KB 266352), so its values stay rather than leave a broken account behind.
                patched.append(value.key.rsplit("\\", 1)[1])
                continue
            gone.setdefault(
                _ident(value), RegValue(value.key, value.name, "delete", None, user, _mechanism_of(value.key))
            )
        values = [gone[ident] for ident in sorted(gone)]
        rel = f"{label}/{REMOVAL_REG_FILE}"
        who = f"user {user}" if user else f"user directory {label}"
        if values or previous.get(rel) is not None:
            # once written, the removal file stays (empty when nothing is left to remove), so that no older copy
            # of it could delete a value that is written again
            ids = absent_by_label.get(label, (None, []))[1]
            out.files.append(OutFile(rel, "reg-remove", user, render_reg(values), None, list(ids)))
            if known:
                out.registry.extend(values)
            elif values:
                out.warnings.append(
                    f"{who}: the registry values in {rel} are not deleted on a Windows host: the user name of "
                    "that directory is not known. Fix: list the removed account with state: absent and its user"
                )
        if patched:
            out.notes.append(
                f"{who}: Outlook account key(s) {', '.join(dict.fromkeys(patched))} of profile "
                f"{opts.profile_name} keep the values the profile registry mechanism wrote: Outlook created those "
                "accounts and only Outlook can remove them (File > Account Settings > Remove)"
            )
        if any(_ident(v) not in now for v in set_before):
            out.notes.append(
                f"{who}: accounts that Outlook already created from removed settings stay in the Outlook profile: "
                "remove them in Outlook (File > Account Settings > Remove). A PRF cannot remove an account (it "
                "only adds accounts, or with OverwriteProfile=Yes replaces the whole profile, also dropping "
                "accounts added by hand)"
            )
    return out


def _render_user(user, user_label, win_user_dir, bucket, opts):
    files = []
    registry = []
    ad_key = AUTODISCOVER_POLICY_KEY if opts.autodiscover_policy_key else AUTODISCOVER_KEY
    if bucket["autodiscover"]:
        by_domain: dict = {}
        for account in bucket["autodiscover"]:
            by_domain.setdefault(account["domain"], []).append(account)
        for domain in sorted(by_domain):
            members = by_domain[domain]
            first = members[0]
            for other in members[1:]:
                if _pox_signature(other) != _pox_signature(first):
                    raise OutlookError(
                        f"accounts {first['id']} and {other['id']} of user {user or 'shared'} are both in domain "
                        f"{domain} but need different server settings or user names; a local Autodiscover XML file "
                        "is chosen by domain only. Fix: give them the same settings, or leave one out "
                        "(mailops_outlook_exclude) and add it by hand or through the PRF",
                        account=other["id"],
                        field="domain",
                    )
            rel = f"{user_label}/{AUTODISCOVER_DIR}/{domain}.xml"
            win_path = f"{win_user_dir}\\{AUTODISCOVER_DIR}\\{domain}.xml"
            files.append(
                OutFile(rel, "autodiscover", user, autodiscover_xml(members), win_path, [a["id"] for a in members])
            )
            registry.append(RegValue(ad_key, domain, "REG_SZ", win_path, user, "autodiscover"))
        registry.append(
            RegValue(
                ad_key, "PreferLocalXML", "REG_DWORD", int(opts.autodiscover_prefer_local_xml), user, "autodiscover"
            )
        )
        for switch, value_name in EXCLUDE_SWITCHES.items():
            value = opts.autodiscover_exclude.get(switch)
            if value is not None:
                registry.append(RegValue(ad_key, value_name, "REG_DWORD", int(value), user, "autodiscover"))
    if bucket["prf"]:
        rel = f"{user_label}/{FILE_PREFIX}.prf"
        win_path = f"{win_user_dir}\\{FILE_PREFIX}.prf"
        files.append(
            OutFile(rel, "prf", user, render_prf(bucket["prf"], opts), win_path, [a["id"] for a in bucket["prf"]])
        )
        if opts.prf_import == "registry":
            registry += [
                RegValue(SETUP_KEY, "ImportPRF", "REG_SZ", win_path, user, "prf", on_prf_change=True),
                RegValue(SETUP_KEY, "First-Run", "delete", None, user, "prf", on_prf_change=True),
                RegValue(SETUP_KEY, "FirstRun", "delete", None, user, "prf", on_prf_change=True),
            ]
    for account in bucket["profile_registry"]:
        subkey = _subkey_of(account, opts)
        registry += _profile_registry_values(account, subkey, opts, user)
    if registry:
        ids = list(dict.fromkeys(a["id"] for m in MECHANISMS for a in bucket[m]))
        files.append(OutFile(f"{user_label}/{FILE_PREFIX}.reg", "reg", user, render_reg(registry), None, ids))
    return files, registry


def windows_items(result: RenderResult) -> dict:
    """What the role applies on a Windows host: files for ``win_copy`` and items for ``win_regedit``.

    ``files``: ``src`` (relative to the host's controller output directory), ``dest`` (Windows path),
    ``dir`` (its directory), ``kind``, ``user``. ``registry``: ``path`` (``HKCU:\\...``), ``name``, ``type``
    (string, dword, binary), ``data`` (binary as comma-separated hex, as regedit exports it), ``state``
    (present/absent), ``user``, ``on_prf_change`` (apply only when the user's PRF file changed).
    ``removed_files``: ``dest``, ``kind``, ``user`` of the Windows copies that values written before pointed to and
    that are not written now (for ``win_file`` with ``state: absent``).
    """
    files = [
        {
            "src": f.path,
            "dest": f.windows_path,
            "dir": f.windows_path.rsplit("\\", 1)[0],
            "kind": f.kind,
            "user": f.user,
        }
        for f in result.files
        if f.windows_path
    ]
    registry = []
    for value in [*result.registry, *result.removals]:
        item = {
            "path": "HKCU:" + value.key[len(HKCU) :],
            "name": value.name,
            "user": value.user,
            "mechanism": value.mechanism,
            "on_prf_change": value.on_prf_change,
        }
        if value.type == "delete":
            item.update(type=None, data=None, state="absent")
        else:
            data = value.data
            if value.type == "REG_BINARY":
                data = ",".join(f"{b:02x}" for b in data)
            item.update(type=WIN_REGEDIT_TYPES[value.type], data=data, state="present")
        registry.append(item)
    return {"files": files, "registry": registry, "removed_files": [dict(f) for f in result.removed_files]}


def reg_entries(values: list) -> list:
    """The registry values as plain data (for results and tests): key, name, type, data (hex for binary)."""
    out = []
    for value in values:
        data = value.data.hex() if isinstance(value.data, (bytes, bytearray)) else value.data
        out.append({"key": value.key, "name": value.name, "type": value.type, "data": data, "user": value.user})
    return out

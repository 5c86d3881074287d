# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The inventory model: normalize and validate ``mailops_servers`` / ``mailops_accounts``.

Pure functions, no Ansible imports: the filters in plugins/filter are thin wrappers. Every error is an
:class:`InventoryError` whose message names the host, the account (email or list index), the field, the
problem and the fix. Secrets (``password``) are carried through but never appear in a message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

# The port table and security names are the modules' own: the inventory defaults must be what a probe uses.
from ansible_collections.mailops.clients.plugins.module_utils._connection import DEFAULT_PORTS, SECURITY_CHOICES
from ansible_collections.mailops.clients.plugins.module_utils._vocabulary import endpoint_key
from ansible_collections.mailops.clients.plugins.plugin_utils._values import kind, near_names

PROTOCOLS_IN = ("imap", "pop3")
AUTHS = ("password", "password-encrypted", "oauth2", "ntlm", "gssapi", "none")
# auth methods that send a password or token (or something derived from it) to the server
CREDENTIAL_AUTHS = ("password", "password-encrypted", "oauth2", "ntlm")

SERVER_KEYS = ("incoming", "outgoing", "allow_insecure", "timeout", "roundtrip")
DIRECTION_KEYS = {
    "incoming": ("protocol", "host", "port", "security", "auth"),
    "outgoing": ("protocol", "host", "port", "security", "auth"),
}
ACCOUNT_KEYS = (
    "email",
    "server",
    "incoming",
    "outgoing",
    "allow_insecure",
    "timeout",
    "display_name",
    "username",
    "user",
    "password",
    "oauth2",
    "pop3",
    "check_interval_minutes",
    "signature",
    "reply_to",
    "roundtrip",
    "state",
    "previous_email",
)
STATES = ("present", "absent")
POP3_KEYS = ("leave_on_server", "delete_after_days")
OAUTH2_KEYS = ("issuer", "scope")

_LOCAL_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_HOST_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]+|[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9])?)$")


class InventoryError(ValueError):
    """An inventory problem; ``str(err)`` is the whole user-facing message.

    Attributes: ``host`` (inventory host or None), ``account`` (email or ``#index``, or None),
    ``field`` (dotted path of the offending value), ``problem`` and ``fix``.
    """

    def __init__(
        self,
        problem: str,
        fix: str,
        *,
        host: str | None = None,
        account: str | None = None,
        field: str | None = None,
        message: str | None = None,
    ):
        self.host = host
        self.account = account
        self.field = field
        self.problem = problem
        self.fix = fix
        where = []
        if host:
            where.append(f"host {host}")
        if account:
            where.append(f"account {account}")
        if field:
            where.append(f"field {field}")
        prefix = ", ".join(where)
        super().__init__(message or f"{prefix + ': ' if prefix else ''}{problem}. Fix: {fix}.")


class InventoryErrors(InventoryError):
    """Several inventory problems (from more than one host); the message lists each on its own line."""

    def __init__(self, errors: Sequence[InventoryError], limit: int = 50):
        self.errors = list(errors)
        lines = [str(e) for e in self.errors[:limit]]
        if len(self.errors) > limit:
            lines.append(f"... and {len(self.errors) - limit} more")
        first = self.errors[0]
        super().__init__(
            first.problem,
            first.fix,
            host=first.host,
            account=first.account,
            field=first.field,
            message=f"{len(self.errors)} inventory errors:\n" + "\n".join(lines),
        )


def _is_str(value) -> bool:
    return isinstance(value, str)


def a_labels(name: str):
    """An internationalized domain name in its ASCII form (``exämple.test`` -> ``xn--exmple-cua.test``), the form
    DNS and the mail protocols carry (RFC 5890); ASCII names come back unchanged, None when it cannot be encoded.
    Python's ``idna`` codec implements IDNA 2003 (RFC 3490), which is what the standard library offers."""
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def server_host(value):
    """A server's host as endpoints carry it: a DNS name in lower-case ASCII form (an internationalized name is
    probed and written as DNS carries it) or an IP address, IPv6 without brackets; None when it is neither."""
    if not _is_str(value) or not value.strip():
        return None
    host = a_labels(value.strip()) or value.strip()
    if not _HOST_RE.match(host) or len(host) > 253:
        return None
    return (host[1:-1] if host.startswith("[") else host).lower()


_DNS_LABEL_RE = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def dns_name(value):
    """``value`` as DNS carries a name: stripped, without the root's trailing dot, in lower-case A-labels; None when
    it is not a name (a label empty, longer than 63 octets or with other characters than letters, digits, hyphen
    and underscore; the name longer than 253 octets; RFC 1035 section 2.3.4, RFC 2181 section 11)."""
    if not isinstance(value, str):
        return None
    name = a_labels(value.strip().rstrip("."))
    if not name or len(name) > 253:
        return None
    name = name.lower()
    return name if all(_DNS_LABEL_RE.match(label) for label in name.split(".")) else None


def valid_email(value) -> bool:
    if not _is_str(value) or len(value) > 254 or value.count("@") != 1:
        return False
    local, domain = value.rsplit("@", 1)
    if not local or len(local) > 64 or not _LOCAL_RE.match(local):
        return False
    domain = a_labels(domain)
    labels = (domain or "").split(".")
    return domain is not None and len(labels) >= 2 and all(_LABEL_RE.match(label) for label in labels)


def _email_problem(value) -> tuple[str, str]:
    """What is wrong with an address valid_email refused, and its fix."""
    if _is_str(value) and value.count("@") == 1:
        local, domain = value.rsplit("@", 1)
        if local and not local.isascii() and valid_email("x@" + domain):
            return (
                f"the local part {_show(local)} of {_show(value)} is not ASCII: such an address needs SMTPUTF8 "
                "(RFC 6531) on every server and mail client on the way, which this collection cannot verify",
                "use the mailbox's ASCII address (an alias), or leave this account out",
            )
        if local and valid_email(local + "@example.test") and not domain.isascii() and a_labels(domain) is None:
            return (
                f"the domain {_show(domain)} of {_show(value)} is not a valid internationalized domain name",
                "check the spelling of the domain, or write it in its ASCII (xn--) form",
            )
    return (
        f"invalid email address {_show(value)}",
        "write a full address like alice@example.com (no spaces, no display name)",
    )


def _show(value) -> str:
    """A short, safe rendering of a user value for messages (never used for secrets)."""
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 80 else text[:77] + "..."


class _Ctx:
    """Where we are, for error messages."""

    def __init__(self, host, account):
        self.host = host
        self.account = account

    def error(self, field, problem, fix):
        return InventoryError(problem, fix, host=self.host, account=self.account, field=field)


def _check_keys(ctx, data, allowed, field_prefix):
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        key = unknown[0]
        name = f"{field_prefix}.{key}" if field_prefix else key
        # a near miss (sever, displayname, Email) is almost always a typo of one known key: name it
        near = near_names(key.lower(), allowed, limit=1)
        if near:
            raise ctx.error(
                name,
                f"unknown key '{key}' (did you mean {near[0]}?)",
                f"rename it to {near[0]}, or remove it (known keys: {', '.join(allowed)})",
            )
        raise ctx.error(name, f"unknown key '{key}'", f"remove it or use one of: {', '.join(allowed)}")


def _dictionary(ctx, field, value, allowed, what, fix):
    """``value`` when it is a dictionary with only ``allowed`` keys; else the error "expected ``what``, got ..."."""
    if not isinstance(value, Mapping):
        raise ctx.error(field, f"expected {what}, got {_show(value)}", fix)
    _check_keys(ctx, value, allowed, field or "")
    return value


def _int(ctx, field, value, *, low, high, what):
    if isinstance(value, bool) or not (isinstance(value, int) or (_is_str(value) and value.strip().isdigit())):
        raise ctx.error(
            field, f"{what} must be an integer, got {_show(value)}", f"set {field} to an integer from {low} to {high}"
        )
    number = int(value)
    if not low <= number <= high:
        raise ctx.error(
            field, f"{what} {number} is out of range {low}-{high}", f"set {field} to an integer from {low} to {high}"
        )
    return number


def _optional_int(ctx, field, value, *, low, high, what):
    return None if value is None else _int(ctx, field, value, low=low, high=high, what=what)


def _bool(ctx, field, value):
    if isinstance(value, bool):
        return value
    if _is_str(value) and value.lower() in ("true", "yes", "false", "no"):
        return value.lower() in ("true", "yes")
    raise ctx.error(field, f"expected true or false, got {_show(value)}", f"set {field} to true or false")


def _optional_str(ctx, field, value, secret=False):
    if value is None or _is_str(value):
        return value
    shown = "a value" if secret else _show(value)
    raise ctx.error(
        field,
        f"expected a string, got {shown} ({kind(value)})",
        f"set {field} to a string (quote it in YAML)",
    )


def _one_line(ctx, field, value):
    """Refuse a control character (a line break, a tab, NUL, ...) in a value that ends up in client profiles: each
    format would carry it differently (escaped in prefs.js, raw in a plist, refused by the registry)."""
    if _is_str(value):
        for char in value:
            if unicodedata.category(char) == "Cc":
                raise ctx.error(
                    field,
                    f"{field} contains a control character (U+{ord(char):04X}); mail client profiles cannot carry it",
                    f"write {field} on one line, without tabs or other control characters",
                )
    return value


def _choice(ctx, field, value, choices, what):
    if value not in choices:
        raise ctx.error(field, f"unknown {what} {_show(value)}", f"use one of: {', '.join(choices)}")
    return value


def _direction(ctx, data, direction, field, username, allow_insecure):
    """Normalize one side (incoming/outgoing) of a server definition."""
    _dictionary(
        ctx,
        field,
        data,
        DIRECTION_KEYS[direction],
        "a dictionary with host, port, security and auth",
        f"define {field} as a dictionary, e.g. {{host: mail.example.com, security: tls}}",
    )
    if direction == "incoming":
        if data.get("protocol") is None:
            raise ctx.error(f"{field}.protocol", "missing protocol", "set it to imap or pop3")
        protocol = _choice(ctx, f"{field}.protocol", data.get("protocol"), PROTOCOLS_IN, "incoming protocol")
    else:
        protocol = _choice(ctx, f"{field}.protocol", data.get("protocol", "smtp"), ("smtp",), "outgoing protocol")
    host = data.get("host")
    if not _is_str(host) or not host.strip():
        raise ctx.error(f"{field}.host", "missing host", f"set {field}.host to the server's DNS name or address")
    normalized = server_host(host)
    if normalized is None:
        raise ctx.error(
            f"{field}.host",
            f"invalid host name {_show(a_labels(host.strip()) or host.strip())}",
            "use a DNS name (mail.example.com) or an IP address, without scheme or port",
        )
    host = normalized
    security = _choice(ctx, f"{field}.security", data.get("security", "tls"), SECURITY_CHOICES, "security")
    auth = _choice(ctx, f"{field}.auth", data.get("auth", "password"), AUTHS, "auth")
    port = data.get("port")
    if port is None:
        port = DEFAULT_PORTS[(protocol, security)]
    else:
        port = _int(ctx, f"{field}.port", port, low=1, high=65535, what="port")
    if security == "none" and auth in CREDENTIAL_AUTHS and not allow_insecure:
        raise ctx.error(
            f"{field}.security",
            f"security none with auth {auth} sends the credentials unencrypted to {host}:{port}",
            "use security tls or starttls, or set allow_insecure: true on the server "
            "(or the account, for inline settings) if you accept that risk",
        )
    return {
        "protocol": protocol,
        "host": host.lower(),
        "port": port,
        "security": security,
        "auth": auth,
        "username": username,
    }


def _account_label(raw, index):
    if isinstance(raw, Mapping) and _is_str(raw.get("email")) and raw.get("email"):
        return f"{raw['email']} (mailops_accounts[{index}])"
    return f"mailops_accounts[{index}]"


def normalize_account(raw, servers: Mapping | None, index: int = 0, host: str | None = None) -> dict:
    """Normalize one account (the form the ``mail_accounts_normalize`` filter documents in RETURN, see also
    docs/inventory.md); raise InventoryError."""
    ctx = _Ctx(host, _account_label(raw, index))
    _dictionary(
        ctx,
        None,
        raw,
        ACCOUNT_KEYS,
        "a dictionary with at least email and server",
        "write each account as a dictionary, e.g. {email: alice@example.com, server: example}",
    )
    email = raw.get("email")
    if email is None:
        raise ctx.error("email", "missing email", "set email to the account's address")
    if not valid_email(email):
        raise ctx.error("email", *_email_problem(email))
    email = _lower_domain(email)
    state = _choice(ctx, "state", raw.get("state", "present"), STATES, "state")
    previous_email = raw.get("previous_email")
    if previous_email is not None:
        if not valid_email(previous_email):
            problem, fix = _email_problem(previous_email)
            raise ctx.error("previous_email", problem, f"{fix}; previous_email is the address the account had before")
        previous_email = _lower_domain(previous_email)
        if previous_email.lower() == email.lower():
            raise ctx.error(
                "previous_email",
                f"previous_email {_show(previous_email)} is the account's own email",
                "set previous_email to the address the account had before a rename, or remove it",
            )
    if state == "absent":
        return _absent_account(ctx, raw, servers, email, previous_email)
    account = _present_account(ctx, raw, servers, email)
    account["state"] = state
    account["previous_email"] = previous_email
    return account


def _lower_domain(email: str) -> str:
    local_part, domain = email.rsplit("@", 1)
    return f"{local_part}@{domain.lower()}"


def _absent_account(ctx, raw, servers, email, previous_email) -> dict:
    """An account to remove (``state: absent``): only ``email`` (and ``user`` for per-user clients) count.

    Its other settings are not checked: nothing is probed or written from them, and a server that was
    decommissioned (gone from ``mailops_servers``) must not block the removal of what was written for it.
    ``server`` is kept as given; ``incoming``/``outgoing`` are the normalized settings when they still resolve
    (a renderer may use them to find what it wrote), else None. The password is never carried.
    """
    user = _one_line(ctx, "user", _optional_str(ctx, "user", raw.get("user")))
    server_name = raw.get("server")
    if server_name is not None and not _is_str(server_name):
        raise ctx.error("server", f"expected a string, got {_show(server_name)}", "set server to a server name")
    try:
        connection = _present_account(ctx, {**raw, "password": None, "state": "present"}, servers, email)
    except InventoryError:
        connection = None
    account = {
        "id": email,
        "email": email,
        "domain": email.rsplit("@", 1)[1],
        "local_part": email.rsplit("@", 1)[0],
        "display_name": email,
        "user": user,
        "server": server_name,
        "incoming": None,
        "outgoing": None,
        "password": None,
        "oauth2": None,
        "pop3": None,
        "check_interval_minutes": None,
        "timeout": None,
        "allow_insecure": False,
        "roundtrip": False,
        "signature": None,
        "reply_to": None,
    }
    if connection is not None:
        account.update(
            {key: connection[key] for key in ("display_name", "incoming", "outgoing", "oauth2", "pop3", "timeout")}
        )
    account["state"] = "absent"
    account["previous_email"] = previous_email
    return account


def _present_account(ctx, raw, servers, email) -> dict:
    local_part, domain = email.rsplit("@", 1)

    username = raw.get("username")
    if username is None:
        username = email
    elif not _is_str(username) or not username:
        raise ctx.error(
            "username",
            f"expected a non-empty string, got {_show(username)}",
            "set username to the login name, or remove it to use the email address",
        )

    server_name = raw.get("server")
    inline = [k for k in ("incoming", "outgoing") if k in raw]
    if server_name is not None and inline:
        raise ctx.error(
            inline[0],
            f"both server and inline {inline[0]} settings given",
            "use either server (a name from mailops_servers) or inline incoming and outgoing, not both",
        )
    if server_name is not None:
        servers = servers if isinstance(servers, Mapping) else {}
        if not _is_str(server_name) or server_name not in servers:
            known = ", ".join(sorted(str(k) for k in servers)) or "none (mailops_servers is empty or undefined)"
            raise ctx.error(
                "server",
                f"unknown server {_show(server_name)}; known servers: {known}",
                "set server to one of the known names or define it in mailops_servers",
            )
        definition = servers[server_name]
        prefix = f"mailops_servers.{server_name}"
        if not isinstance(definition, Mapping):
            raise ctx.error(
                prefix,
                f"server definition is not a dictionary: {_show(definition)}",
                "define incoming and outgoing under the server name",
            )
        _check_keys(ctx, definition, SERVER_KEYS, prefix)
        source = definition
    elif len(inline) == 2:
        prefix = ""
        source = raw
    else:
        missing = "outgoing" if inline == ["incoming"] else "incoming"
        if not inline:
            raise ctx.error(
                "server",
                "neither server nor inline incoming/outgoing settings given",
                "set server to a name from mailops_servers, or give inline incoming and outgoing",
            )
        raise ctx.error(
            missing,
            f"inline settings need both incoming and outgoing, {missing} is missing",
            f"add {missing} or use server (a name from mailops_servers)",
        )

    def path(name):
        return f"{prefix}.{name}" if prefix else name

    allow_insecure = _bool(ctx, path("allow_insecure"), source.get("allow_insecure", False))
    timeout = _optional_int(ctx, path("timeout"), source.get("timeout"), low=1, high=3600, what="timeout")
    # the round trip: the account's own setting, else its server's, else None (the role's default decides)
    roundtrip = None
    for field_name, holder in (("roundtrip", raw), (path("roundtrip"), source)):
        if holder.get("roundtrip") is not None:
            roundtrip = _bool(ctx, field_name, holder["roundtrip"])
            break
    for direction in ("incoming", "outgoing"):
        if direction not in source:
            raise ctx.error(
                path(direction),
                f"missing {direction} settings",
                f"add {direction}: {{host: ..., security: tls}} to the server definition",
            )
    incoming = _direction(ctx, source["incoming"], "incoming", path("incoming"), username, allow_insecure)
    outgoing = _direction(ctx, source["outgoing"], "outgoing", path("outgoing"), username, allow_insecure)

    display_name = _one_line(ctx, "display_name", _optional_str(ctx, "display_name", raw.get("display_name")))
    password = _optional_str(ctx, "password", raw.get("password"), secret=True)
    user = _one_line(ctx, "user", _optional_str(ctx, "user", raw.get("user")))
    _one_line(ctx, "username", username)
    signature = _optional_str(ctx, "signature", raw.get("signature"))
    reply_to = raw.get("reply_to")
    if reply_to is not None and not valid_email(reply_to):
        raise ctx.error(
            "reply_to",
            f"invalid email address {_show(reply_to)}",
            "write a full address like replies@example.com, or remove reply_to",
        )

    oauth2 = raw.get("oauth2")
    if oauth2 is not None:
        _dictionary(
            ctx,
            "oauth2",
            oauth2,
            OAUTH2_KEYS,
            "a dictionary with issuer and scope",
            "write oauth2: {issuer: login.example.com, scope: ...}",
        )
        for key in OAUTH2_KEYS:
            if not _is_str(oauth2.get(key)) or not oauth2.get(key):
                raise ctx.error(f"oauth2.{key}", f"missing {key}", f"set oauth2.{key} to a non-empty string")
        if "oauth2" not in (incoming["auth"], outgoing["auth"]):
            raise ctx.error(
                "oauth2",
                "oauth2 settings given but neither incoming nor outgoing uses auth oauth2",
                "set auth: oauth2 on the server, or remove oauth2",
            )
        oauth2 = {"issuer": oauth2["issuer"], "scope": oauth2["scope"]}

    pop3 = raw.get("pop3")
    if incoming["protocol"] == "pop3":
        pop3 = {} if pop3 is None else pop3
        _dictionary(
            ctx, "pop3", pop3, POP3_KEYS, "a dictionary", "write pop3: {leave_on_server: true, delete_after_days: 14}"
        )
        leave = _bool(ctx, "pop3.leave_on_server", pop3.get("leave_on_server", False))
        days = _optional_int(
            ctx, "pop3.delete_after_days", pop3.get("delete_after_days"), low=1, high=36500, what="delete_after_days"
        )
        if days is not None and not leave:
            raise ctx.error(
                "pop3.delete_after_days",
                "delete_after_days only applies when leave_on_server is true",
                "set pop3.leave_on_server: true or remove delete_after_days",
            )
        pop3 = {"leave_on_server": leave, "delete_after_days": days}
    elif pop3 is not None:
        raise ctx.error(
            "pop3",
            f"POP3 options given but the incoming protocol is {incoming['protocol']}",
            "remove pop3, or use a server with incoming protocol pop3",
        )

    check_interval = _optional_int(
        ctx,
        "check_interval_minutes",
        raw.get("check_interval_minutes"),
        low=1,
        high=1440,
        what="check_interval_minutes",
    )
    return {
        "id": email,
        "email": email,
        "domain": domain,
        "local_part": local_part,
        "display_name": display_name if display_name else email,
        "user": user,
        "server": server_name,
        "incoming": incoming,
        "outgoing": outgoing,
        "password": password,
        "oauth2": oauth2,
        "pop3": pop3,
        "check_interval_minutes": check_interval,
        "timeout": timeout,
        "allow_insecure": allow_insecure,
        "roundtrip": roundtrip,
        "signature": signature,
        "reply_to": reply_to,
    }


def _server_tag(account: Mapping) -> str:
    return account["server"] if account["server"] is not None else endpoint_key(account["incoming"])


def is_absent(account: Mapping) -> bool:
    """Whether a normalized account is to be removed (``state: absent``): never probed, never rendered."""
    return account.get("state") == "absent"


def present(accounts: Sequence[Mapping]) -> list:
    """The accounts of a normalized list that are present (to verify and render)."""
    return [account for account in accounts if not is_absent(account)]


def normalize_accounts(accounts, servers: Mapping | None, host: str | None = None) -> list[dict]:
    """Normalize a host's ``mailops_accounts`` list against ``mailops_servers``.

    Checks each account, then the list as a whole: duplicate accounts, and two IMAP accounts with the same
    user@host that differ only in port or security (Thunderbird identifies IMAP servers by user@host and
    cannot hold both). Raises the first InventoryError.
    """
    if accounts is None:
        return []
    if not isinstance(accounts, Sequence) or isinstance(accounts, (str, bytes)):
        raise InventoryError(
            f"mailops_accounts must be a list of accounts, got {_show(accounts)}",
            "write mailops_accounts as a YAML list: - {email: ..., server: ...}",
            host=host,
            field="mailops_accounts",
        )
    if servers is not None and not isinstance(servers, Mapping):
        raise InventoryError(
            f"mailops_servers must be a dictionary of server names, got {_show(servers)}",
            "write mailops_servers as name: {incoming: ..., outgoing: ...}",
            host=host,
            field="mailops_servers",
        )
    result = [normalize_account(raw, servers, index, host) for index, raw in enumerate(accounts)]

    by_email: dict[str, list[int]] = {}
    for index, account in enumerate(result):
        by_email.setdefault(account["email"].lower(), []).append(index)
    seen: dict[tuple, int] = {}
    imap_seen: dict[tuple, int] = {}
    for index, account in enumerate(result):
        inc = account["incoming"]
        label = _account_label(accounts[index], index)
        if len(by_email[account["email"].lower()]) > 1:
            if account["server"] is None and inc is None:
                raise InventoryError(
                    f"{account['email']} is listed more than once and this absent entry does not say which account "
                    "to remove",
                    "add the server the account to remove was on (server: <name>; it need not be in "
                    "mailops_servers any more)",
                    host=host,
                    account=label,
                    field="server",
                )
            account["id"] = f"{account['email']}#{_server_tag(account)}"
        if is_absent(account) or inc is None:
            continue  # nothing of it is written: it cannot conflict (an id shared with a present one is refused below)
        ident = (
            account["email"].lower(),
            inc["protocol"],
            inc["host"],
            inc["port"],
            inc["security"],
            inc["username"].lower(),
            account["user"],
        )
        if ident in seen:
            first = seen[ident]
            raise InventoryError(
                f"duplicate account: same email and incoming server as mailops_accounts[{first}]",
                f"remove one of mailops_accounts[{first}] and mailops_accounts[{index}]",
                host=host,
                account=label,
                field="email",
            )
        seen[ident] = index
        if inc["protocol"] == "imap":
            tb_ident = (inc["username"].lower(), inc["host"], account["user"])
            if tb_ident in imap_seen:
                first = imap_seen[tb_ident]
                other = result[first]["incoming"]
                raise InventoryError(
                    f"IMAP login {inc['username']} on {inc['host']} is already defined by mailops_accounts[{first}] "
                    f"with port {other['port']}/{other['security']} (this one: {inc['port']}/{inc['security']}); "
                    "Thunderbird identifies IMAP servers by user and host and cannot hold both",
                    "keep one of the two accounts, or give them different usernames or host names",
                    host=host,
                    account=label,
                    field="incoming.port",
                )
            imap_seen[tb_ident] = index
    tags: dict[str, int] = {}
    for account in result:
        tags[account["id"]] = tags.get(account["id"], 0) + 1
    for account in result:
        if tags[account["id"]] > 1 and account["user"] is not None:
            account["id"] = f"{account['id']}#{account['user']}"
    ids: dict[str, int] = {}
    for index, account in enumerate(result):
        if account["id"] in ids:
            first = ids[account["id"]]
            if is_absent(account) != is_absent(result[first]):
                here, gone = (first, index) if is_absent(account) else (index, first)
                raise InventoryError(
                    f"account {account['id']} is both present (mailops_accounts[{here}]) and absent "
                    f"(mailops_accounts[{gone}])",
                    "remove one of the two entries (keep state: absent only to remove an account that is gone)",
                    host=host,
                    account=_account_label(accounts[index], index),
                    field="state",
                )
            raise InventoryError(
                f"duplicate account id {account['id']} (also mailops_accounts[{first}])",
                "give the two accounts different servers or remove one",
                host=host,
                account=_account_label(accounts[index], index),
                field="server",
            )
        ids[account["id"]] = index
    present_emails = {account["email"].lower(): index for index, account in enumerate(result) if not is_absent(account)}
    for index, account in enumerate(result):
        previous = (account["previous_email"] or "").lower()
        if previous in present_emails and not is_absent(account):
            other = present_emails[previous]
            raise InventoryError(
                f"previous_email {account['previous_email']} is the email of mailops_accounts[{other}], "
                "which is present",
                "remove previous_email (the address is still in use), or set state: absent on "
                f"mailops_accounts[{other}] when it is the same mailbox",
                host=host,
                account=_account_label(accounts[index], index),
                field="previous_email",
            )
    return result


def normalize_fleet(hosts: Mapping) -> dict[str, list[dict]]:
    """Normalize ``{host: (mailops_accounts, mailops_servers)}``; collect the errors of all hosts.

    Raises a single InventoryError when one host is wrong, InventoryErrors listing every host's first
    problem when several are.
    """
    result: dict[str, list[dict]] = {}
    errors: list[InventoryError] = []
    for host in sorted(hosts):
        accounts, servers = hosts[host]
        try:
            result[host] = normalize_accounts(accounts, servers, host)
        except InventoryError as err:
            errors.append(err)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InventoryErrors(errors)
    return result


# What a credential check for an account's auth method asks the validation modules for.
AUTH_MECHANISMS = {"password": "auto", "password-encrypted": "CRAM-MD5"}


def endpoints(fleet: Mapping[str, Sequence[Mapping]], credentials: bool = False) -> list[dict]:
    """The unique endpoints of all hosts' normalized accounts, sorted by key.

    Each item: ``key``, ``protocol``, ``host``, ``port``, ``security``, ``allow_insecure`` (every account using
    it opted in to insecure settings), ``accounts`` (the references
    ``{host, id, direction}`` of every account using it) and ``credentials``: when ``credentials`` is
    true, one list of ``{username, password, auth_mechanism, refs}`` per endpoint, deduplicated by
    username + password + mechanism (a mailbox shared by 500 hosts is checked once). Accounts whose auth
    has no password check (oauth2, ntlm, gssapi, none) or that carry no password are not in it. Absent
    accounts (``state: absent``) are not probed: they use no endpoint.
    """
    result: dict[str, dict] = {}
    for host in sorted(fleet):
        for account in present(fleet[host]):
            for direction in ("incoming", "outgoing"):
                side = account[direction]
                key = endpoint_key(side)
                item = result.setdefault(
                    key,
                    {
                        "key": key,
                        "protocol": side["protocol"],
                        "host": side["host"],
                        "port": side["port"],
                        "security": side["security"],
                        "allow_insecure": True,
                        "accounts": [],
                        "credentials": [],
                    },
                )
                # the opt-in holds for an endpoint only when every account that uses it gave it
                item["allow_insecure"] = item["allow_insecure"] and bool(account.get("allow_insecure"))
                ref = {"host": host, "id": account["id"], "direction": direction}
                item["accounts"].append(ref)
                mechanism = AUTH_MECHANISMS.get(side["auth"])
                # a round trip (account["roundtrip"] true) implies the credential check of the account
                wanted = credentials or account.get("roundtrip") is True
                if not wanted or mechanism is None or account.get("password") is None:
                    continue
                for cred in item["credentials"]:
                    if (cred["username"], cred["password"], cred["auth_mechanism"]) == (
                        side["username"],
                        account["password"],
                        mechanism,
                    ):
                        cred["refs"].append(ref)
                        break
                else:
                    item["credentials"].append(
                        {
                            "username": side["username"],
                            "password": account["password"],
                            "auth_mechanism": mechanism,
                            "refs": [ref],
                        }
                    )
    return [result[key] for key in sorted(result)]

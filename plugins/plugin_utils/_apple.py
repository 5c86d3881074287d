# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Apple configuration profiles (payload ``com.apple.mail.managed``) from normalized mail accounts.

Pure functions, no Ansible: normalized accounts (see the inventory model in docs/) go in, profile
dictionaries and deterministic ``plistlib`` bytes come out. Every key, type and allowed value follows
Apple's schema (apple/device-management ``mdm/profiles/com.apple.mail.managed.yaml``,
``TopLevel.yaml``, ``CommonPayloadKeys.yaml``); the unit tests check each rendered profile against
those YAML files.

Decisions worth knowing (also in docs/apple_mail.md):

* ``*UseSSL`` is always written. It is ``true`` for ``security: tls`` and, by default, also for
  ``security: starttls``: in Apple's clients "Use SSL" means "require TLS" and the port decides
  between implicit TLS (993/995/465) and STARTTLS (143/110/587); Apple's own iCloud settings list
  "SSL required: yes" for STARTTLS on 587. With ``false`` the client may still try STARTTLS, but it
  may also fall back to clear text, which would expose the password. A community profile generator
  (andris9/mobileconfig) reads the flag as implicit TLS only; ``starttls_use_ssl: false`` renders that
  reading for a device that needs it.
* ``auth: oauth2`` and ``auth: gssapi`` have no ``EmailAuth*`` value: refused with
  `UnsupportedAuthError` (or skipped with a warning when asked to).
* Passwords are written only when the account (or the caller) opts in. A configuration profile is
  never encrypted by this code: signing (CMS SignedData) proves the origin but leaves the plist
  readable, so every profile with a password gets a warning, signed or not.
"""

from __future__ import annotations

import copy
import hashlib
import plistlib
import re
import uuid
from dataclasses import dataclass, field

from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import is_absent
from ansible_collections.mailops.clients.plugins.plugin_utils._renderer_error import RendererError, check_names
from ansible_collections.mailops.clients.plugins.plugin_utils._values import kind

# Fixed namespace for every UUIDv5 this collection derives (uuid5(NAMESPACE_DNS,
# "apple-mail.mailops-clients.invalid")). Never change it: every PayloadUUID depends on it.
UUID_NAMESPACE = uuid.UUID("761a04e9-b2d3-5496-952e-1ddd115fd590")

PAYLOAD_TYPE = "com.apple.mail.managed"
PROFILE_SUFFIX = ".mobileconfig"
REDACTED = "********"
PASSWORD_KEYS = ("IncomingPassword", "OutgoingPassword")

ACCOUNT_TYPES = {"imap": "EmailTypeIMAP", "pop3": "EmailTypePOP"}
AUTH_METHODS = {
    "none": "EmailAuthNone",
    "password": "EmailAuthPassword",
    "password-encrypted": "EmailAuthCRAMMD5",
    "ntlm": "EmailAuthNTLM",
    # EmailAuthHTTPMD5 has no inventory equivalent (HTTP digest, Exchange-era); not produced.
}
UNSUPPORTED_AUTH = {
    "oauth2": "Apple's com.apple.mail.managed payload has no OAuth 2.0 authentication value",
    "gssapi": "Apple's com.apple.mail.managed payload has no Kerberos/GSSAPI authentication value",
}
SCOPES = ("User", "System")
# TopLevel TargetDeviceType values that can hold a mail payload (iOS/iPadOS, Mac, Vision Pro, or any).
TARGET_DEVICE_TYPES = (0, 1, 5, 6)
GROUP_BY = ("user", "account")
UNSUPPORTED_ACTIONS = ("fail", "skip")

# Characters an XML 1.0 document (so a property list) cannot carry; "\r" is excluded too, because an XML
# parser turns it into "\n" and the device would not read back what was written.
_XML_INVALID_RE = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_UUID_RE = re.compile(r"^[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{12}$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")

# Per-account options (snake_case) -> (payload key, python type, validator or None).
_BOOL_OPTIONS = {
    "prevent_move": "PreventMove",
    "prevent_app_sheet": "PreventAppSheet",
    "allow_mail_drop": "allowMailDrop",
    "disable_mail_recents_syncing": "disableMailRecentsSyncing",
    "outgoing_password_same_as_incoming": "OutgoingPasswordSameAsIncomingPassword",
}
_STR_OPTIONS = {
    "description": "EmailAccountDescription",
    "imap_path_prefix": "IncomingMailServerIMAPPathPrefix",
    "vpn_uuid": "VPNUUID",
}
SMIME_BOOL_OPTIONS = {
    "enabled": "SMIMEEnabled",
    "signing_enabled": "SMIMESigningEnabled",
    "signing_user_overrideable": "SMIMESigningUserOverrideable",
    "signing_certificate_uuid_user_overrideable": "SMIMESigningCertificateUUIDUserOverrideable",
    "encryption_enabled": "SMIMEEncryptionEnabled",
    "encryption_certificate_uuid_user_overrideable": "SMIMEEncryptionCertificateUUIDUserOverrideable",
    "encrypt_by_default": "SMIMEEncryptByDefault",
    "encrypt_by_default_user_overrideable": "SMIMEEncryptByDefaultUserOverrideable",
    "enable_encryption_per_message_switch": "SMIMEEnableEncryptionPerMessageSwitch",
    "enable_per_message_switch": "SMIMEEnablePerMessageSwitch",
}
SMIME_UUID_OPTIONS = {
    "signing_certificate_uuid": "SMIMESigningCertificateUUID",
    "encryption_certificate_uuid": "SMIMEEncryptionCertificateUUID",
}
ACCOUNT_OPTIONS = (*_BOOL_OPTIONS, *_STR_OPTIONS, "include_password", "smime")
# Keys Apple documents as iOS/iPadOS only ("macOS: introduced: n/a").
IOS_ONLY_KEYS = frozenset(
    {"PreventMove", "PreventAppSheet", "VPNUUID", *SMIME_BOOL_OPTIONS.values(), *SMIME_UUID_OPTIONS.values()}
)
TARGET_MAC = 5


class AppleProfileError(RendererError):
    """An account or option that cannot become a valid Apple profile; names the account and field."""


class UnsupportedAuthError(AppleProfileError):
    """The account's authentication method has no ``EmailAuth*`` value (OAuth 2.0, GSSAPI)."""


@dataclass(frozen=True)
class RenderOptions:
    """Profile-wide settings; see `options_from_dict` for the user-facing names."""

    identifier_prefix: str = "local.mailops.mail"
    group_by: str = "user"
    default_user: str | None = None
    display_name: str = "Mail: {emails}"
    description: str | None = None
    organization: str | None = None
    scope: str | None = "User"
    removal_disallowed: bool | None = None
    target_device_type: int | None = None
    consent_text: dict | None = None
    include_passwords: bool = False
    starttls_use_ssl: bool = True
    unsupported: str = "fail"
    account_defaults: dict = field(default_factory=dict)
    account_options: dict = field(default_factory=dict)


@dataclass
class Profile:
    """One rendered profile: what to write (`plist`) and what to say about it."""

    name: str
    user: str | None
    identifier: str
    uuid: str
    account_ids: list
    payload: dict
    contains_password: bool
    warnings: list = field(default_factory=list)

    @property
    def filename(self) -> str:
        return self.name + PROFILE_SUFFIX

    def plist(self) -> bytes:
        return dumps(self.payload)

    def redacted_text(self) -> str:
        return redacted_text(self.payload)

    def summary(self) -> dict:
        """Everything about the profile except its content (safe to log)."""
        return {
            "name": self.name,
            "filename": self.filename,
            "user": self.user,
            "identifier": self.identifier,
            "uuid": self.uuid,
            "accounts": list(self.account_ids),
            "contains_password": self.contains_password,
        }


@dataclass
class RenderResult:
    profiles: list
    warnings: list
    skipped: list


def dumps(payload: dict) -> bytes:
    """XML plist bytes, keys sorted: the same dict always gives the same bytes."""
    return plistlib.dumps(payload, fmt=plistlib.FMT_XML, sort_keys=True)


def redact(payload: dict) -> dict:
    """A deep copy of a profile dict with every password value replaced by `REDACTED`."""
    result = copy.deepcopy(payload)
    for item in result.get("PayloadContent", []):
        for key in PASSWORD_KEYS:
            if key in item:
                item[key] = REDACTED
    return result


def redacted_text(payload: dict) -> str:
    return dumps(redact(payload)).decode("utf-8")


def redacted_pair(before: dict | None, after: dict) -> tuple[str, str]:
    """Diff texts of two profile dicts without their passwords.

    A password that changed (or appeared) is shown as ``******** (changed)`` in the after text, so the
    diff explains why the file changed without showing either value.
    """
    old_items = {item.get("PayloadIdentifier"): item for item in (before or {}).get("PayloadContent", [])}
    marked = redact(after)
    for item, original in zip(marked.get("PayloadContent", []), after.get("PayloadContent", [])):
        old = old_items.get(original.get("PayloadIdentifier"), {})
        for key in PASSWORD_KEYS:
            if key in original and old.get(key) != original[key]:
                item[key] = REDACTED + " (changed)"
    before_text = redacted_text(before) if before is not None else ""
    return before_text, dumps(marked).decode("utf-8")


def payload_uuid(identifier: str) -> str:
    """Upper-case UUIDv5 of an identifier in the collection's fixed namespace (the uuidgen style)."""
    return str(uuid.uuid5(UUID_NAMESPACE, identifier)).upper()


def reverse_dns_label(text: str) -> str:
    """One reverse-DNS component from free text: lower-case ASCII letters, digits and hyphens.

    Used in PayloadIdentifiers and profile file names, so it never changes. Unlike Outlook's
    ``_outlook.directory_name`` it drops dots (a dot separates components) and underscores.

    Text without any ASCII letter or digit (e.g. a user name in another script) becomes ``x-`` plus
    the first 10 hex digits of its SHA-256, so it stays stable and distinct.
    """
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not cleaned:
        cleaned = "x-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    return cleaned


def _check_type(value, expected, what: str, account: str | None = None):
    if expected is bool:
        ok = isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, expected)
    if not ok:
        names = {bool: "a boolean", int: "an integer", str: "a string", dict: "a dictionary"}
        where = f"account {account}: " if account else ""
        raise AppleProfileError(
            f"{where}{what} must be {names[expected]}, got {kind(value)}", account=account, field=what
        )
    return value


def options_from_dict(data: dict | None) -> RenderOptions:
    """Validated `RenderOptions` from the user-facing option names (those of the role and filter)."""
    data = dict(data or {})
    check_names(data, RenderOptions.__dataclass_fields__, AppleProfileError)
    data = {key: value for key, value in data.items() if value is not None or key in _NULLABLE}
    opts = RenderOptions(**data)
    _check_type(opts.identifier_prefix, str, "identifier_prefix")
    if not _PREFIX_RE.match(opts.identifier_prefix):
        raise AppleProfileError(
            f"identifier_prefix {opts.identifier_prefix!r} is not reverse-DNS style: use dot-separated "
            "components of ASCII letters, digits and hyphens, e.g. com.example.mail",
            field="identifier_prefix",
        )
    _choice(opts.group_by, GROUP_BY, "group_by")
    _choice(opts.unsupported, UNSUPPORTED_ACTIONS, "unsupported")
    if opts.scope is not None:
        _choice(opts.scope, SCOPES, "scope")
    if opts.target_device_type is not None:
        _check_type(opts.target_device_type, int, "target_device_type")
        _choice(opts.target_device_type, TARGET_DEVICE_TYPES, "target_device_type")
    for name in ("display_name", "description", "organization", "default_user"):
        if getattr(opts, name) is not None:
            _check_type(getattr(opts, name), str, name)
    for name in ("removal_disallowed", "include_passwords", "starttls_use_ssl"):
        if getattr(opts, name) is not None:
            _check_type(getattr(opts, name), bool, name)
    if opts.consent_text is not None:
        _check_type(opts.consent_text, dict, "consent_text")
        for lang, text in opts.consent_text.items():
            _check_type(lang, str, "consent_text key")
            _check_type(text, str, f"consent_text[{lang}]")
    _check_type(opts.account_defaults, dict, "account_defaults")
    _check_account_options(opts.account_defaults, None, "account_defaults")
    _check_type(opts.account_options, dict, "account_options")
    for account_id, values in opts.account_options.items():
        _check_type(values, dict, f"account_options[{account_id}]")
        _check_account_options(values, account_id, f"account_options[{account_id}]")
    for name, template in (("display_name", opts.display_name), ("description", opts.description)):
        if template is not None:
            _format(template, name, user="u", emails="e", count=1)
    return opts


_NULLABLE = frozenset(
    {"default_user", "description", "organization", "scope", "removal_disallowed", "target_device_type", "consent_text"}
)


def _choice(value, choices, name):
    if value not in choices:
        raise AppleProfileError(
            f"{name} must be one of {', '.join(str(c) for c in choices)}, got {value!r}", field=name
        )


def _format(template: str, name: str, **values) -> str:
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise AppleProfileError(
            f"{name} {template!r} is not a valid template ({exc}); placeholders: {{user}}, {{emails}}, {{count}}",
            field=name,
        ) from None


def _check_account_options(values: dict, account: str | None, where: str) -> None:
    unknown = sorted(set(values) - set(ACCOUNT_OPTIONS))
    if unknown:
        prefix = f"account {account}: " if account else f"{where}: "
        raise AppleProfileError(
            f"{prefix}unknown Apple option(s) {', '.join(unknown)}; valid: {', '.join(sorted(ACCOUNT_OPTIONS))}",
            account=account,
            field=unknown[0],
        )
    for key, value in values.items():
        if value is None:
            continue
        if key in _BOOL_OPTIONS or key == "include_password":
            _check_type(value, bool, key, account)
        elif key in _STR_OPTIONS:
            _check_type(value, str, key, account)
        elif key == "smime":
            _check_type(value, dict, "smime", account)
            bad = sorted(set(value) - set(SMIME_BOOL_OPTIONS) - set(SMIME_UUID_OPTIONS))
            if bad:
                valid = ", ".join(sorted([*SMIME_BOOL_OPTIONS, *SMIME_UUID_OPTIONS]))
                raise AppleProfileError(
                    f"account {account}: unknown smime option(s) {', '.join(bad)}; valid: {valid}"
                    if account
                    else f"{where}: unknown smime option(s) {', '.join(bad)}; valid: {valid}",
                    account=account,
                    field="smime." + bad[0],
                )
            for skey, svalue in value.items():
                if svalue is None:
                    continue
                if skey in SMIME_BOOL_OPTIONS:
                    _check_type(svalue, bool, "smime." + skey, account)
                else:
                    _check_type(svalue, str, "smime." + skey, account)
                    if not _UUID_RE.match(svalue):
                        raise AppleProfileError(
                            f"account {account}: smime.{skey} {svalue!r} is not a payload UUID "
                            "(8-4-4-4-12 letters and digits)",
                            account=account,
                            field="smime." + skey,
                        )
    if values.get("vpn_uuid") is not None and not values["vpn_uuid"]:
        raise AppleProfileError(f"account {account}: vpn_uuid must not be empty", account=account, field="vpn_uuid")


def _account_settings(account: dict, opts: RenderOptions) -> dict:
    """Apple options of one account: role defaults < the account's own ``apple`` dict < account_options."""
    merged: dict = {}
    smime: dict = {}
    own = account.get("apple") or {}
    _check_type(own, dict, "apple", account["id"])
    _check_account_options(own, account["id"], "apple")
    by_id = opts.account_options.get(account["id"])
    if by_id is None:
        by_id = opts.account_options.get(account["email"], {})
    for layer in (opts.account_defaults, own, by_id):
        for key, value in layer.items():
            if value is None:
                continue
            if key == "smime":
                smime.update({k: v for k, v in value.items() if v is not None})
            else:
                merged[key] = value
    if smime:
        merged["smime"] = smime
    return merged


def _endpoint(ep: dict, direction: str, account_id: str, opts: RenderOptions) -> dict:
    prefix = "IncomingMailServer" if direction == "incoming" else "OutgoingMailServer"
    auth = ep["auth"]
    if auth in UNSUPPORTED_AUTH:
        raise UnsupportedAuthError(
            f"account {account_id}: {direction} auth {auth} cannot be rendered: {UNSUPPORTED_AUTH[auth]}. "
            f"Fix: use auth password or password-encrypted for this server if it offers them, or leave the "
            f"account out of Apple profiles (mailops_apple_mail_unsupported: skip, or "
            f"mailops_apple_mail_exclude: [{account_id}])",
            account=account_id,
            field=f"{direction}.auth",
        )
    if auth not in AUTH_METHODS:
        raise AppleProfileError(
            f"account {account_id}: {direction} auth {auth!r} is not one of "
            f"{', '.join([*AUTH_METHODS, *UNSUPPORTED_AUTH])}",
            account=account_id,
            field=f"{direction}.auth",
        )
    security = ep["security"]
    if security not in ("tls", "starttls", "none"):
        raise AppleProfileError(
            f"account {account_id}: {direction} security {security!r} is not one of tls, starttls, none",
            account=account_id,
            field=f"{direction}.security",
        )
    port = ep["port"]
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise AppleProfileError(
            f"account {account_id}: {direction} port {port!r} is not an integer from 1 to 65535",
            account=account_id,
            field=f"{direction}.port",
        )
    result = {
        prefix + "HostName": ep["host"],
        prefix + "PortNumber": port,
        prefix + "UseSSL": security == "tls" or (security == "starttls" and opts.starttls_use_ssl),
        prefix + "Authentication": AUTH_METHODS[auth],
    }
    if auth != "none" and ep.get("username"):
        result[prefix + "Username"] = ep["username"]
    return result


def account_payload(account: dict, identifier: str, opts: RenderOptions) -> tuple[dict, bool, list]:
    """The ``com.apple.mail.managed`` payload dict of one account, whether it holds a password, warnings."""
    account_id = account["id"]
    incoming = account["incoming"]
    protocol = incoming["protocol"]
    if protocol not in ACCOUNT_TYPES:
        raise AppleProfileError(
            f"account {account_id}: incoming protocol {protocol!r} is not imap or pop3",
            account=account_id,
            field="incoming.protocol",
        )
    settings = _account_settings(account, opts)
    warnings = []
    payload = {
        "PayloadType": PAYLOAD_TYPE,
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier,
        "PayloadUUID": payload_uuid(identifier),
        "PayloadDisplayName": account["email"],
        "EmailAccountType": ACCOUNT_TYPES[protocol],
        "EmailAddress": account["email"],
        "EmailAccountName": account.get("display_name") or account["email"],
        "EmailAccountDescription": settings.get("description", account["email"]),
    }
    if opts.organization:
        payload["PayloadOrganization"] = opts.organization
    payload.update(_endpoint(incoming, "incoming", account_id, opts))
    payload.update(_endpoint(account["outgoing"], "outgoing", account_id, opts))
    for key, apple_key in _BOOL_OPTIONS.items():
        if key in settings:
            payload[apple_key] = settings[key]
    for key in ("imap_path_prefix", "vpn_uuid"):
        if key in settings:
            if key == "imap_path_prefix" and protocol != "imap":
                raise AppleProfileError(
                    f"account {account_id}: imap_path_prefix is set but the account uses {protocol}",
                    account=account_id,
                    field="imap_path_prefix",
                )
            payload[_STR_OPTIONS[key]] = settings[key]
    for key, value in settings.get("smime", {}).items():
        payload[SMIME_BOOL_OPTIONS.get(key) or SMIME_UUID_OPTIONS[key]] = value

    include = settings.get("include_password", opts.include_passwords)
    has_password = False
    if include:
        password = account.get("password")
        if not password:
            warnings.append(
                f"account {account_id}: include_password is set but the inventory has no password for it; "
                "the device will ask for it at installation"
            )
        else:
            if incoming["auth"] != "none":
                payload["IncomingPassword"] = password
                has_password = True
            if account["outgoing"]["auth"] != "none":
                payload["OutgoingPassword"] = password
                has_password = True
    if opts.target_device_type == TARGET_MAC:
        ignored = sorted(key for key in payload if key in IOS_ONLY_KEYS)
        if ignored:
            warnings.append(
                f"account {account_id}: {', '.join(ignored)} only apply to iOS/iPadOS and are ignored on a Mac "
                "(target_device_type 5)"
            )
    return payload, has_password, warnings


def _user_of(account: dict, opts: RenderOptions) -> str | None:
    return account.get("user") or opts.default_user


def absent_users(accounts: list, options: dict | RenderOptions | None = None) -> list:
    """The users (or ``default_user``, or None) whose profiles held the absent accounts, in first-seen order: where
    a per-user destination has to look for what to remove."""
    opts = options if isinstance(options, RenderOptions) else options_from_dict(options)
    return list(dict.fromkeys(_user_of(a, opts) for a in accounts if isinstance(a, dict) and is_absent(a)))


def render_profiles(accounts: list, options: dict | RenderOptions | None = None) -> RenderResult:
    """Profiles (one per user, or one per account) for a host's normalized accounts.

    Accounts keep their inventory order inside a profile; profiles are ordered by first appearance. Absent
    accounts (``state: absent``) are left out.
    Raises `AppleProfileError` (and `UnsupportedAuthError`) with the account and field named.
    """
    opts = options if isinstance(options, RenderOptions) else options_from_dict(options)
    if not isinstance(accounts, list):
        raise AppleProfileError(f"accounts must be a list of normalized accounts, got {kind(accounts)}")
    warnings: list = []
    skipped: list = []
    groups: dict = {}
    for account in accounts:
        if not isinstance(account, dict) or "id" not in account:
            raise AppleProfileError("every account must be a normalized account dictionary (with an id)")
        if is_absent(account):
            continue  # state: absent: nothing is rendered for it (the action removes what was written)
        unsupported = [
            f"{direction} auth {account[direction]['auth']}"
            for direction in ("incoming", "outgoing")
            if account[direction]["auth"] in UNSUPPORTED_AUTH
        ]
        if unsupported and opts.unsupported == "skip":
            skipped.append(account["id"])
            warnings.append(
                f"account {account['id']}: left out of the Apple profiles: {' and '.join(unsupported)} "
                "cannot be expressed in com.apple.mail.managed"
            )
            continue
        user = _user_of(account, opts)
        key = user if opts.group_by == "user" else (user, account["id"])
        groups.setdefault(key, []).append(account)

    profiles = []
    seen_identifiers: dict = {}
    seen_names: dict = {}
    for members in groups.values():
        user = _user_of(members[0], opts)
        user_label = reverse_dns_label(user) if user else "shared"
        if opts.group_by == "user":
            top_id = f"{opts.identifier_prefix}.{user_label}"
            name = user_label
        else:
            top_id = f"{opts.identifier_prefix}.{user_label}.{reverse_dns_label(members[0]['id'])}"
            name = f"{user_label}-{reverse_dns_label(members[0]['id'])}"
        _claim(seen_names, name, members[0]["id"], "profile file name")
        _claim(seen_identifiers, top_id, members[0]["id"], "PayloadIdentifier")
        content = []
        profile_warnings = []
        contains_password = False
        for account in members:
            identifier = f"{opts.identifier_prefix}.{user_label}.{reverse_dns_label(account['id'])}.mail"
            _claim(seen_identifiers, identifier, account["id"], "PayloadIdentifier")
            payload, has_password, account_warnings = account_payload(account, identifier, opts)
            _check_text(payload, name + PROFILE_SUFFIX, f"PayloadContent[{len(content)}]")
            content.append(payload)
            contains_password = contains_password or has_password
            profile_warnings.extend(account_warnings)
        emails = ", ".join(a["email"] for a in members)
        values = {"user": user or "", "emails": emails, "count": len(members)}
        top = {
            "PayloadType": "Configuration",
            "PayloadVersion": 1,
            "PayloadIdentifier": top_id,
            "PayloadUUID": payload_uuid(top_id),
            "PayloadDisplayName": _format(opts.display_name, "display_name", **values),
            "PayloadContent": content,
        }
        if opts.description is not None:
            top["PayloadDescription"] = _format(opts.description, "description", **values)
        if opts.organization:
            top["PayloadOrganization"] = opts.organization
        if opts.scope is not None:
            top["PayloadScope"] = opts.scope
        if opts.removal_disallowed is not None:
            top["PayloadRemovalDisallowed"] = opts.removal_disallowed
        if opts.target_device_type is not None:
            top["TargetDeviceType"] = opts.target_device_type
        if opts.consent_text:
            top["ConsentText"] = dict(opts.consent_text)
        _check_text(top, name + PROFILE_SUFFIX, "")
        if contains_password:
            profile_warnings.append(
                f"profile {name + PROFILE_SUFFIX}: contains passwords in clear text "
                f"({', '.join(a['id'] for a in members)}). A configuration profile made here is not encrypted "
                "(signing proves who made it but does not hide its content): keep the file private (mode 0600) "
                "and deliver it over a protected channel, or leave passwords out so the device asks for them"
            )
        profiles.append(
            Profile(
                name=name,
                user=user,
                identifier=top_id,
                uuid=top["PayloadUUID"],
                account_ids=[a["id"] for a in members],
                payload=top,
                contains_password=contains_password,
                warnings=profile_warnings,
            )
        )
        warnings.extend(profile_warnings)
    return RenderResult(profiles=profiles, warnings=warnings, skipped=skipped)


def _check_text(value, profile: str, path: str) -> None:
    """Refuse text a property list cannot hold, naming the key (never the value: it may be a password)."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            _check_text(key, profile, where)
            _check_text(item, profile, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, profile, f"{path}[{index}]")
    elif isinstance(value, str):
        match = _XML_INVALID_RE.search(value)
        if match:
            secret = path.rsplit(".", 1)[-1] in PASSWORD_KEYS
            char = "" if secret else f" (U+{ord(match.group()):04X})"
            raise AppleProfileError(
                f"profile {profile}: {path} contains a character a property list cannot hold{char}; "
                "remove control characters (only tab and line feed are kept)",
                field=path,
            )


def _claim(seen: dict, value: str, account_id: str, what: str) -> None:
    if value in seen and seen[value] != account_id:
        raise AppleProfileError(
            f"accounts {seen[value]} and {account_id} both map to the {what} {value!r} "
            "(identifiers and file names keep only lower-case ASCII letters, digits and hyphens); "
            "give one of them a distinct user or address",
            account=account_id,
            field="id",
        )
    seen[value] = account_id

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Apple profiles: schema validity, mapping tables, refusals, determinism, round trips, signing."""

from __future__ import annotations

import copy
import datetime
import os
import plistlib
import re
import subprocess
import uuid
from pathlib import Path

import pytest
from ansible_collections.mailops.clients.plugins.plugin_utils import _apple, _cms
from ansible_collections.mailops.clients.plugins.plugin_utils._apple import (
    AppleProfileError,
    UnsupportedAuthError,
    render_profiles,
)
from apple_schema import Schema, assert_valid, schema
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "fixtures" / "apple-golden"


def ep(protocol, port, security, auth="password", username="alice@example.test", host="mail.example.test"):
    return {"protocol": protocol, "host": host, "port": port, "security": security, "auth": auth, "username": username}


def account(email="alice@example.test", user="alice", incoming=None, outgoing=None, **extra):
    local, _at, domain = email.rpartition("@")
    result = {
        "id": email,
        "email": email,
        "domain": domain,
        "local_part": local,
        "display_name": email,
        "user": user,
        "server": "example",
        "incoming": incoming or ep("imap", 993, "tls", username=email),
        "outgoing": outgoing or ep("smtp", 465, "tls", username=email),
        "password": None,
        "oauth2": None,
        "pop3": None,
        "check_interval_minutes": None,
        "timeout": None,
        "signature": None,
        "reply_to": None,
    }
    result.update(extra)
    return result


def sample_inventory():
    """The golden sample: four accounts, three users (one without), every auth value Apple can express."""
    return [
        account(display_name="Alice Example", password="alice-lab-pw-1"),
        account(
            "alice@work.test",
            incoming=ep("imap", 143, "starttls", "password-encrypted", "alice", host="imap.work.test"),
            outgoing=ep("smtp", 587, "starttls", "password-encrypted", "alice", host="smtp.work.test"),
            display_name="Alice (work)",
            password="work-pw",
        ),
        account(
            "bob@example.test",
            user="bob",
            incoming=ep("pop3", 995, "tls", "ntlm", "EXAMPLE\\bob"),
            outgoing=ep("smtp", 587, "starttls", "ntlm", "EXAMPLE\\bob"),
            display_name="Bob Beispiel-Grüße",
            pop3={"leave_on_server": True, "delete_after_days": 14},
        ),
        account(
            "carol@example.test",
            user=None,
            incoming=ep("imap", 143, "none", "none", "carol@example.test"),
            outgoing=ep("smtp", 25, "none", "none", "carol@example.test"),
        ),
    ]


SAMPLE_OPTIONS = {
    "identifier_prefix": "test.example.mail",
    "organization": "Example Org",
    "description": "Mail accounts of {user} ({count})",
    "removal_disallowed": False,
    "consent_text": {"default": "Installs your mail accounts.", "de": "Installiert Ihre E-Mail-Konten."},
    "account_options": {
        "alice@work.test": {"include_password": True, "imap_path_prefix": "INBOX", "description": "Work"},
        "bob@example.test": {
            "prevent_move": True,
            "prevent_app_sheet": False,
            "allow_mail_drop": True,
            "smime": {
                "signing_enabled": True,
                "signing_certificate_uuid": "0B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0",
                "encrypt_by_default": False,
            },
        },
    },
}


def loads(profile):
    return plistlib.loads(profile.plist())


# --- the schema validator itself: it must be able to fail ---------------------------------------


def minimal():
    return {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": "a.b",
        "PayloadUUID": "U1",
        "PayloadContent": [
            {
                "PayloadType": "com.apple.mail.managed",
                "PayloadVersion": 1,
                "PayloadIdentifier": "a.b.c",
                "PayloadUUID": "U2",
                "EmailAccountType": "EmailTypeIMAP",
                "IncomingMailServerHostName": "h",
                "IncomingMailServerAuthentication": "EmailAuthPassword",
                "OutgoingMailServerHostName": "h",
                "OutgoingMailServerAuthentication": "EmailAuthNone",
            }
        ],
    }


def test_schema_accepts_the_minimal_profile():
    assert schema().profile_errors(minimal()) == []


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda p: p.pop("PayloadUUID"), "profile: required key PayloadUUID missing"),
        (lambda p: p.update(PayloadVersion=2), "profile.PayloadVersion: 2 not in [1]"),
        (lambda p: p.update(PayloadScope="Device"), "profile.PayloadScope: 'Device' not in ['System', 'User']"),
        (lambda p: p.update(Bogus=1), "profile: unknown key Bogus"),
        (
            lambda p: p.update(PayloadRemovalDisallowed=1),
            "profile.PayloadRemovalDisallowed: expected <boolean>, got int",
        ),
        (lambda p: p.update(TargetDeviceType=True), "profile.TargetDeviceType: expected <integer>, got bool"),
        (lambda p: p.update(ConsentText={"en": 1}), "profile.ConsentText.en: expected <string>, got int"),
        (lambda p: p.pop("PayloadContent"), "profile: required key PayloadContent missing"),
        (
            lambda p: p["PayloadContent"][0].pop("IncomingMailServerAuthentication"),
            "profile.PayloadContent[0]: required key IncomingMailServerAuthentication missing",
        ),
        (
            lambda p: p["PayloadContent"][0].update(IncomingMailServerAuthentication="EmailAuthOAuth"),
            "profile.PayloadContent[0].IncomingMailServerAuthentication: 'EmailAuthOAuth' not in "
            "['EmailAuthNone', 'EmailAuthPassword', 'EmailAuthCRAMMD5', 'EmailAuthNTLM', 'EmailAuthHTTPMD5']",
        ),
        (
            lambda p: p["PayloadContent"][0].update(EmailAccountType="EmailTypeEAS"),
            "profile.PayloadContent[0].EmailAccountType: 'EmailTypeEAS' not in ['EmailTypeIMAP', 'EmailTypePOP']",
        ),
        (
            lambda p: p["PayloadContent"][0].update(IncomingMailServerPortNumber="993"),
            "profile.PayloadContent[0].IncomingMailServerPortNumber: expected <integer>, got str",
        ),
        (
            lambda p: p["PayloadContent"][0].update(AllowMailDrop=True),
            "profile.PayloadContent[0]: unknown key AllowMailDrop",
        ),
        (
            lambda p: p["PayloadContent"][0].update(SMIMESigningCertificateUUID="not-a-uuid"),
            "profile.PayloadContent[0].SMIMESigningCertificateUUID: 'not-a-uuid' does not match "
            "^[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{12}$",
        ),
        (
            lambda p: p["PayloadContent"][0].update(PayloadType="com.apple.wifi.managed"),
            "profile.PayloadContent[0]: no schema for PayloadType 'com.apple.wifi.managed'",
        ),
        (lambda p: p["PayloadContent"][0].update(PayloadUUID="U1"), "profile: PayloadUUID 'U1' is not unique"),
        (
            lambda p: p["PayloadContent"].append(copy.deepcopy(p["PayloadContent"][0]) | {"PayloadUUID": "U3"}),
            "profile: PayloadIdentifier 'a.b.c' is not unique",
        ),
    ],
)
def test_schema_rejects(change, error):
    profile = minimal()
    change(profile)
    assert error in schema().profile_errors(profile)


def test_schema_rejects_repeats_across_profiles():
    first, second = minimal(), minimal()
    second["PayloadContent"][0]["PayloadUUID"] = "U9"
    errors = Schema().profile_set_errors([first, second])
    assert errors == ["#1: PayloadIdentifier 'a.b' also used by #0", "#1: PayloadUUID 'U1' also used by #0"]


def test_schema_reads_apples_keys():
    mail = schema().payloads["com.apple.mail.managed"]
    assert len(mail["payloadkeys"]) == 35
    assert {k["key"] for k in mail["payloadkeys"] if k.get("presence") == "required"} == {
        "EmailAccountType",
        "IncomingMailServerAuthentication",
        "IncomingMailServerHostName",
        "OutgoingMailServerAuthentication",
        "OutgoingMailServerHostName",
    }


# --- golden files ---------------------------------------------------------------------------------


def test_golden_sample():
    result = render_profiles(sample_inventory(), SAMPLE_OPTIONS)
    assert [p.filename for p in result.profiles] == ["alice.mobileconfig", "bob.mobileconfig", "shared.mobileconfig"]
    assert_valid(*[loads(p) for p in result.profiles])
    if os.environ.get("MAILOPS_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        for profile in result.profiles:
            (GOLDEN / profile.filename).write_bytes(profile.plist())
    for profile in result.profiles:
        assert profile.plist() == (GOLDEN / profile.filename).read_bytes(), profile.filename
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(p.filename for p in result.profiles)


def test_golden_sample_is_byte_identical_when_rendered_again():
    first = [p.plist() for p in render_profiles(sample_inventory(), SAMPLE_OPTIONS).profiles]
    second = [p.plist() for p in render_profiles(copy.deepcopy(sample_inventory()), dict(SAMPLE_OPTIONS)).profiles]
    assert first == second


def test_golden_sample_identifiers_and_uuids():
    result = render_profiles(sample_inventory(), SAMPLE_OPTIONS)
    alice = loads(result.profiles[0])
    assert alice["PayloadIdentifier"] == "test.example.mail.alice"
    assert [p["PayloadIdentifier"] for p in alice["PayloadContent"]] == [
        "test.example.mail.alice.alice-example-test.mail",
        "test.example.mail.alice.alice-work-test.mail",
    ]
    namespace = uuid.UUID("761a04e9-b2d3-5496-952e-1ddd115fd590")
    for item in [alice, *alice["PayloadContent"]]:
        assert item["PayloadUUID"] == str(uuid.uuid5(namespace, item["PayloadIdentifier"])).upper()
    assert result.profiles[0].summary() == {
        "name": "alice",
        "filename": "alice.mobileconfig",
        "user": "alice",
        "identifier": "test.example.mail.alice",
        "uuid": alice["PayloadUUID"],
        "accounts": ["alice@example.test", "alice@work.test"],
        "contains_password": True,
    }


def test_payload_identifiers_do_not_depend_on_grouping():
    by_user = render_profiles(sample_inventory(), SAMPLE_OPTIONS)
    by_account = render_profiles(sample_inventory(), {**SAMPLE_OPTIONS, "group_by": "account"})
    assert [p.name for p in by_account.profiles] == [
        "alice-alice-example-test",
        "alice-alice-work-test",
        "bob-bob-example-test",
        "shared-carol-example-test",
    ]
    assert [p.identifier for p in by_account.profiles] == [
        "test.example.mail.alice.alice-example-test",
        "test.example.mail.alice.alice-work-test",
        "test.example.mail.bob.bob-example-test",
        "test.example.mail.shared.carol-example-test",
    ]
    assert_valid(*[loads(p) for p in by_account.profiles])
    user_items = [i["PayloadIdentifier"] for p in by_user.profiles for i in p.payload["PayloadContent"]]
    account_items = [i["PayloadIdentifier"] for p in by_account.profiles for i in p.payload["PayloadContent"]]
    assert user_items == account_items


# --- mapping tables -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "apple"),
    [
        ("none", "EmailAuthNone"),
        ("password", "EmailAuthPassword"),
        ("password-encrypted", "EmailAuthCRAMMD5"),
        ("ntlm", "EmailAuthNTLM"),
    ],
)
def test_auth_mapping(auth, apple):
    acc = account(incoming=ep("imap", 993, "tls", auth), outgoing=ep("smtp", 465, "tls", auth))
    payload = loads(render_profiles([acc]).profiles[0])["PayloadContent"][0]
    assert payload["IncomingMailServerAuthentication"] == apple
    assert payload["OutgoingMailServerAuthentication"] == apple
    assert ("IncomingMailServerUsername" in payload) is (auth != "none")


@pytest.mark.parametrize(
    ("security", "starttls_use_ssl", "use_ssl"),
    [
        ("tls", True, True),
        ("starttls", True, True),
        ("none", True, False),
        ("tls", False, True),
        ("starttls", False, False),
        ("none", False, False),
    ],
)
def test_use_ssl_is_always_explicit(security, starttls_use_ssl, use_ssl):
    acc = account(incoming=ep("pop3", 110, security), outgoing=ep("smtp", 587, security))
    result = render_profiles([acc], {"starttls_use_ssl": starttls_use_ssl})
    payload = loads(result.profiles[0])["PayloadContent"][0]
    assert payload["IncomingMailServerUseSSL"] is use_ssl
    assert payload["OutgoingMailServerUseSSL"] is use_ssl
    assert payload["EmailAccountType"] == "EmailTypePOP"
    assert (payload["IncomingMailServerPortNumber"], payload["OutgoingMailServerPortNumber"]) == (110, 587)


@pytest.mark.parametrize(
    ("options", "top"),
    [
        ({}, {"PayloadScope": "User"}),
        ({"scope": None}, {}),
        ({"scope": "System", "target_device_type": 5}, {"PayloadScope": "System", "TargetDeviceType": 5}),
        ({"removal_disallowed": True}, {"PayloadScope": "User", "PayloadRemovalDisallowed": True}),
        ({"organization": "Org"}, {"PayloadScope": "User", "PayloadOrganization": "Org"}),
        ({"description": "{count} for {user}"}, {"PayloadScope": "User", "PayloadDescription": "1 for alice"}),
    ],
)
def test_top_level_options(options, top):
    profile = loads(render_profiles([account()], options).profiles[0])
    optional = {
        k: v
        for k, v in profile.items()
        if k
        not in (
            "PayloadType",
            "PayloadVersion",
            "PayloadIdentifier",
            "PayloadUUID",
            "PayloadDisplayName",
            "PayloadContent",
        )
    }
    assert optional == top
    assert profile["PayloadDisplayName"] == "Mail: alice@example.test"
    assert_valid(profile)


def test_payload_keys_of_a_default_account():
    payload = loads(render_profiles([account()]).profiles[0])["PayloadContent"][0]
    assert payload == {
        "PayloadType": "com.apple.mail.managed",
        "PayloadVersion": 1,
        "PayloadIdentifier": "local.mailops.mail.alice.alice-example-test.mail",
        "PayloadUUID": payload["PayloadUUID"],
        "PayloadDisplayName": "alice@example.test",
        "EmailAccountType": "EmailTypeIMAP",
        "EmailAddress": "alice@example.test",
        "EmailAccountName": "alice@example.test",
        "EmailAccountDescription": "alice@example.test",
        "IncomingMailServerHostName": "mail.example.test",
        "IncomingMailServerPortNumber": 993,
        "IncomingMailServerUseSSL": True,
        "IncomingMailServerAuthentication": "EmailAuthPassword",
        "IncomingMailServerUsername": "alice@example.test",
        "OutgoingMailServerHostName": "mail.example.test",
        "OutgoingMailServerPortNumber": 465,
        "OutgoingMailServerUseSSL": True,
        "OutgoingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingMailServerUsername": "alice@example.test",
    }


def test_every_account_option_reaches_its_key():
    smime = dict.fromkeys(_apple.SMIME_BOOL_OPTIONS, True)
    smime["signing_certificate_uuid"] = "11111111-2222-3333-4444-555555555555"
    smime["encryption_certificate_uuid"] = "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE"
    options = {
        "account_defaults": {"allow_mail_drop": False, "prevent_move": False},
        "account_options": {
            "alice@example.test": {
                "prevent_move": True,
                "prevent_app_sheet": True,
                "disable_mail_recents_syncing": True,
                "outgoing_password_same_as_incoming": True,
                "vpn_uuid": "vpn-1",
                "imap_path_prefix": "INBOX.",
                "description": "Private",
                "smime": smime,
            }
        },
    }
    profile = loads(render_profiles([account()], options).profiles[0])
    assert_valid(profile)
    payload = profile["PayloadContent"][0]
    assert {
        k: payload[k]
        for k in (
            "PreventMove",
            "PreventAppSheet",
            "allowMailDrop",
            "disableMailRecentsSyncing",
            "OutgoingPasswordSameAsIncomingPassword",
            "VPNUUID",
            "IncomingMailServerIMAPPathPrefix",
            "EmailAccountDescription",
        )
    } == {
        "PreventMove": True,
        "PreventAppSheet": True,
        "allowMailDrop": False,
        "disableMailRecentsSyncing": True,
        "OutgoingPasswordSameAsIncomingPassword": True,
        "VPNUUID": "vpn-1",
        "IncomingMailServerIMAPPathPrefix": "INBOX.",
        "EmailAccountDescription": "Private",
    }
    for name, key in {**_apple.SMIME_BOOL_OPTIONS, **_apple.SMIME_UUID_OPTIONS}.items():
        assert payload[key] == smime[name]


def test_account_apple_dict_is_a_layer_between_defaults_and_options():
    acc = account(apple={"prevent_move": True, "allow_mail_drop": True})
    options = {
        "account_defaults": {"prevent_move": False, "allow_mail_drop": False},
        "account_options": {"alice@example.test": {"allow_mail_drop": False}},
    }
    payload = loads(render_profiles([acc], options).profiles[0])["PayloadContent"][0]
    assert (payload["PreventMove"], payload["allowMailDrop"]) == (True, False)


def test_ios_only_keys_warn_for_a_mac_profile():
    options = {"target_device_type": 5, "account_options": {"alice@example.test": {"prevent_move": True}}}
    assert render_profiles([account()], options).warnings == [
        "account alice@example.test: PreventMove only apply to iOS/iPadOS and are ignored on a Mac "
        "(target_device_type 5)"
    ]


# --- refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("incoming_auth", "outgoing_auth", "message"),
    [
        (
            "oauth2",
            "oauth2",
            "account alice@example.test: incoming auth oauth2 cannot be rendered: Apple's com.apple.mail.managed "
            "payload has no OAuth 2.0 authentication value. Fix: use auth password or password-encrypted for this "
            "server if it offers them, or leave the account out of Apple profiles (mailops_apple_mail_unsupported: "
            "skip, or mailops_apple_mail_exclude: [alice@example.test])",
        ),
        (
            "password",
            "gssapi",
            "account alice@example.test: outgoing auth gssapi cannot be rendered: Apple's com.apple.mail.managed "
            "payload has no Kerberos/GSSAPI authentication value. Fix: use auth password or password-encrypted for "
            "this server if it offers them, or leave the account out of Apple profiles "
            "(mailops_apple_mail_unsupported: skip, or mailops_apple_mail_exclude: [alice@example.test])",
        ),
    ],
)
def test_unsupported_auth_is_refused(incoming_auth, outgoing_auth, message):
    acc = account(
        incoming=ep("imap", 993, "tls", incoming_auth),
        outgoing=ep("smtp", 465, "tls", outgoing_auth),
        oauth2={"issuer": "login.example.test", "scope": "mail"},
    )
    with pytest.raises(UnsupportedAuthError, match=f"^{re.escape(message)}$") as info:
        render_profiles([account("bob@example.test", user="bob"), acc])
    assert (info.value.account, info.value.field) == (
        "alice@example.test",
        "incoming.auth" if incoming_auth == "oauth2" else "outgoing.auth",
    )


def test_unsupported_auth_can_be_skipped():
    oauth = account(incoming=ep("imap", 993, "tls", "oauth2"), outgoing=ep("smtp", 465, "tls", "oauth2"))
    result = render_profiles([oauth, account("bob@example.test", user="bob")], {"unsupported": "skip"})
    assert [p.name for p in result.profiles] == ["bob"]
    assert result.skipped == ["alice@example.test"]
    assert result.warnings == [
        "account alice@example.test: left out of the Apple profiles: incoming auth oauth2 and outgoing auth oauth2 "
        "cannot be expressed in com.apple.mail.managed"
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"identifier_prefix": "com..example"},
            "identifier_prefix 'com..example' is not reverse-DNS style: use "
            "dot-separated components of ASCII letters, digits and hyphens, e.g. com.example.mail",
        ),
        ({"group_by": "host"}, "group_by must be one of user, account, got 'host'"),
        ({"scope": "user"}, "scope must be one of User, System, got 'user'"),
        ({"target_device_type": 4}, "target_device_type must be one of 0, 1, 5, 6, got 4"),
        ({"include_passwords": "yes"}, "include_passwords must be a boolean, got a string"),
        (
            {"colour": "red"},
            "unknown option(s) colour; valid options: account_defaults, account_options, consent_text, default_user, "
            "description, display_name, group_by, identifier_prefix, include_passwords, organization, "
            "removal_disallowed, scope, starttls_use_ssl, target_device_type, unsupported",
        ),
        (
            {"display_name": "Mail {who}"},
            "display_name 'Mail {who}' is not a valid template ('who'); placeholders: {user}, {emails}, {count}",
        ),
        (
            {"account_options": {"alice@example.test": {"prevent_move": "yes"}}},
            "account alice@example.test: prevent_move must be a boolean, got a string",
        ),
        (
            {"account_options": {"alice@example.test": {"PreventMove": True}}},
            "account alice@example.test: unknown Apple option(s) PreventMove; valid: allow_mail_drop, description, "
            "disable_mail_recents_syncing, imap_path_prefix, include_password, outgoing_password_same_as_incoming, "
            "prevent_app_sheet, prevent_move, smime, vpn_uuid",
        ),
        (
            {"account_options": {"alice@example.test": {"smime": {"signing_certificate_uuid": "abc"}}}},
            "account alice@example.test: smime.signing_certificate_uuid 'abc' is not a payload UUID (8-4-4-4-12 "
            "letters and digits)",
        ),
        (
            {"account_options": {"alice@example.test": {"smime": {"sign": True}}}},
            "account alice@example.test: unknown smime option(s) sign; valid: enable_encryption_per_message_switch, "
            "enable_per_message_switch, enabled, encrypt_by_default, encrypt_by_default_user_overrideable, "
            "encryption_certificate_uuid, encryption_certificate_uuid_user_overrideable, encryption_enabled, "
            "signing_certificate_uuid, signing_certificate_uuid_user_overrideable, signing_enabled, "
            "signing_user_overrideable",
        ),
        (
            {"account_options": {"alice@example.test": {"imap_path_prefix": "INBOX"}}},
            "account alice@example.test: imap_path_prefix is set but the account uses pop3",
        ),
    ],
)
def test_bad_options(options, message):
    acc = account(incoming=ep("pop3", 995, "tls"))
    with pytest.raises(AppleProfileError) as info:
        render_profiles([acc], options)
    assert str(info.value) == message


def test_identifier_collision_is_refused():
    first = account("a.b@example.test")
    second = account("a-b@example.test")
    with pytest.raises(
        AppleProfileError,
        match=r"^accounts a\.b@example\.test and a-b@example\.test both map to "
        r"the PayloadIdentifier 'local\.mailops\.mail\.alice\.a-b-example-"
        r"test\.mail' ",
    ):
        render_profiles([first, second])


def test_users_that_differ_in_case_collide():
    with pytest.raises(
        AppleProfileError,
        match=r"^accounts alice@example\.test and bob@example\.test both map to "
        r"the profile file name 'alice' ",
    ):
        render_profiles([account(user="alice"), account("bob@example.test", user="Alice")])


def test_non_ascii_user_gets_a_stable_hash_label():
    result = render_profiles([account(user="ユーザー")])
    assert result.profiles[0].name == "x-" + __import__("hashlib").sha256("ユーザー".encode()).hexdigest()[:10]
    assert loads(result.profiles[0])["PayloadIdentifier"] == "local.mailops.mail." + result.profiles[0].name


def test_default_user():
    result = render_profiles([account(user=None)], {"default_user": "admin"})
    assert (result.profiles[0].name, result.profiles[0].user) == ("admin", "admin")
    assert render_profiles([account(user=None)]).profiles[0].name == "shared"


@pytest.mark.parametrize("field", ["display_name", "email"])
def test_control_characters_are_refused_with_the_key(field):
    acc = account("ali\x07ce@example.test") if field == "email" else account(display_name="Alice\x07")
    key = "EmailAccountName" if field == "display_name" else "PayloadDisplayName"
    with pytest.raises(AppleProfileError) as info:
        render_profiles([acc])
    assert str(info.value).startswith(
        f"profile alice.mobileconfig: PayloadContent[0].{key} contains a character a property list cannot hold (U+0007)"
    )


def test_control_character_in_a_password_is_refused_without_showing_it():
    acc = account(password="pw\x01secret")
    with pytest.raises(AppleProfileError) as info:
        render_profiles([acc], {"include_passwords": True})
    assert str(info.value) == (
        "profile alice.mobileconfig: PayloadContent[0].IncomingPassword contains a character a "
        "property list cannot hold; remove control characters (only tab and line feed are kept)"
    )
    assert "secret" not in str(info.value)


# --- passwords ----------------------------------------------------------------------------------------


def test_passwords_are_left_out_by_default():
    result = render_profiles([account(password="alice-lab-pw-1")])
    assert b"alice-lab-pw-1" not in result.profiles[0].plist()
    assert result.profiles[0].contains_password is False
    assert result.warnings == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"include_passwords": True}, True),
        ({"account_options": {"alice@example.test": {"include_password": True}}}, True),
        ({"include_passwords": True, "account_options": {"alice@example.test": {"include_password": False}}}, False),
        ({"account_defaults": {"include_password": True}}, True),
    ],
)
def test_passwords_opt_in(options, expected):
    result = render_profiles([account(password="alice-lab-pw-1")], options)
    payload = loads(result.profiles[0])["PayloadContent"][0]
    assert ("IncomingPassword" in payload, "OutgoingPassword" in payload) == (expected, expected)
    assert result.profiles[0].contains_password is expected
    if expected:
        assert payload["IncomingPassword"] == payload["OutgoingPassword"] == "alice-lab-pw-1"
        assert result.warnings == [
            "profile alice.mobileconfig: contains passwords in clear text (alice@example.test). A configuration "
            "profile made here is not encrypted (signing proves who made it but does not hide its content): keep "
            "the file private (mode 0600) and deliver it over a protected channel, or leave passwords out so the "
            "device asks for them"
        ]
        assert "alice-lab-pw-1" not in result.profiles[0].redacted_text()
        assert_valid(loads(result.profiles[0]))


def test_no_password_for_a_direction_without_auth():
    acc = account(outgoing=ep("smtp", 25, "none", "none"), password="pw")
    payload = loads(render_profiles([acc], {"include_passwords": True}).profiles[0])["PayloadContent"][0]
    assert payload["IncomingPassword"] == "pw"
    assert "OutgoingPassword" not in payload
    assert "OutgoingMailServerUsername" not in payload


def test_opt_in_without_a_password_warns():
    result = render_profiles([account()], {"include_passwords": True})
    assert result.profiles[0].contains_password is False
    assert result.warnings == [
        "account alice@example.test: include_password is set but the inventory has no password for it; the device "
        "will ask for it at installation"
    ]


def test_redacted_pair_marks_changed_passwords():
    old = render_profiles([account(password="old")], {"include_passwords": True}).profiles[0].payload
    new = render_profiles([account(password="new")], {"include_passwords": True}).profiles[0].payload
    before, after = _apple.redacted_pair(old, new)
    assert "old" not in before and "new" not in after
    assert before.count("<string>********</string>") == 2
    assert after.count("<string>******** (changed)</string>") == 2
    same_before, same_after = _apple.redacted_pair(new, new)
    assert same_before == same_after
    assert _apple.redacted_pair(None, new)[0] == ""


# --- hypothesis: arbitrary names survive the round trip ---------------------------------------------------

# What XML 1.0 can carry, minus "\r" (an XML parser turns it into "\n"): no other control characters,
# no surrogates, no non-characters. Everything else (any script, emoji, markup characters) must survive.
PLIST_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cn")) | st.sampled_from("\t\n<>&]]>\"'"),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    display_name=PLIST_TEXT,
    local=PLIST_TEXT,
    user=PLIST_TEXT,
    host=PLIST_TEXT,
    username=PLIST_TEXT,
    password=PLIST_TEXT,
    organization=PLIST_TEXT,
    description=PLIST_TEXT,
)
def test_round_trip(display_name, local, user, host, username, password, organization, description):
    email = f"{local}@example.test"
    acc = account(
        email,
        user=user,
        display_name=display_name,
        password=password,
        incoming=ep("imap", 993, "tls", username=username, host=host),
        outgoing=ep("smtp", 587, "starttls", username=username, host=host),
    )
    options = {
        "organization": organization,
        "include_passwords": True,
        "account_options": {email: {"description": description}},
    }
    result = render_profiles([acc], options)
    profile = plistlib.loads(result.profiles[0].plist())
    assert_valid(profile)
    payload = profile["PayloadContent"][0]
    assert payload["EmailAccountName"] == display_name
    assert payload["EmailAddress"] == email
    assert payload["EmailAccountDescription"] == description
    assert payload["IncomingMailServerHostName"] == payload["OutgoingMailServerHostName"] == host
    assert payload["IncomingMailServerUsername"] == payload["OutgoingMailServerUsername"] == username
    assert payload["IncomingPassword"] == payload["OutgoingPassword"] == password
    assert profile["PayloadOrganization"] == payload["PayloadOrganization"] == organization
    assert re.fullmatch(r"[a-z0-9.-]+", profile["PayloadIdentifier"])
    assert result.profiles[0].plist() == render_profiles([acc], options).profiles[0].plist()
    redacted = plistlib.loads(result.profiles[0].redacted_text().encode())["PayloadContent"][0]
    assert redacted["IncomingPassword"] == redacted["OutgoingPassword"] == "********"


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=20))
def test_any_text_renders_or_fails_cleanly(text):
    acc = account(display_name=text or "x")
    try:
        result = render_profiles([acc])
    except AppleProfileError as exc:
        assert "EmailAccountName contains a character a property list cannot hold" in str(exc)
        return
    assert plistlib.loads(result.profiles[0].plist())["PayloadContent"][0]["EmailAccountName"] == (text or "x")


@settings(max_examples=60, deadline=None)
@given(users=st.lists(PLIST_TEXT, min_size=1, max_size=6))
def test_identifiers_and_uuids_are_unique_across_a_host(users):
    accounts = [account(f"u{i}@example.test", user=u) for i, u in enumerate(users)]
    try:
        result = render_profiles(accounts, {"group_by": "account"})
    except AppleProfileError as exc:
        assert "both map to the" in str(exc)
        return
    assert_valid(*[plistlib.loads(p.plist()) for p in result.profiles])


# --- signing ------------------------------------------------------------------------------------------------


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, issuer_name, issuer_key, public_key, ca, days=30):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key, passphrase=None):
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """Root CA -> intermediate CA -> signer (EC) and a second signer (RSA) issued by the root."""
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _cert("mailops test root", _name("mailops test root"), root_key, root_key.public_key(), ca=True)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter = _cert("mailops test intermediate", root.subject, root_key, inter_key.public_key(), ca=True)
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer = _cert("profile signer", inter.subject, inter_key, signer_key.public_key(), ca=False)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_signer = _cert("rsa profile signer", root.subject, root_key, rsa_key.public_key(), ca=False)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_root = _cert("other root", _name("other root"), other_key, other_key.public_key(), ca=True)
    directory = tmp_path_factory.mktemp("pki")
    (directory / "root.pem").write_text(_pem(root))
    (directory / "other-root.pem").write_text(_pem(other_root))
    return {
        "dir": directory,
        "signer": _pem(signer),
        "signer_key": _key_pem(signer_key),
        "signer_key_encrypted": _key_pem(signer_key, "s3cret-pass"),
        "chain": _pem(inter),
        "rsa_signer": _pem(rsa_signer),
        "rsa_key": _key_pem(rsa_key),
    }


def openssl_verify(path, ca):
    out = path.with_suffix(".out")
    proc = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            str(path),
            "-CAfile",
            str(ca),
            "-purpose",
            "any",
            "-out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return proc, (out.read_bytes() if out.exists() else b"")


@pytest.mark.parametrize("kind", ["ec-with-chain", "rsa"])
def test_signed_profile_verifies_with_openssl(pki, tmp_path, kind):
    plain = render_profiles(sample_inventory(), SAMPLE_OPTIONS).profiles[0].plist()
    if kind == "rsa":
        signer = _cms.load_signer(pki["rsa_signer"], pki["rsa_key"])
    else:
        signer = _cms.load_signer(pki["signer"], pki["signer_key"], chain=pki["chain"])
    signed = _cms.sign(plain, signer)
    assert signed[:2] == b"\x30\x82"
    path = tmp_path / "p.mobileconfig"
    path.write_bytes(signed)
    proc, content = openssl_verify(path, pki["dir"] / "root.pem")
    assert proc.returncode == 0, proc.stderr
    assert "Verification successful" in proc.stderr
    assert content == plain
    assert _cms.extract_content(signed) == plain
    assert_valid(plistlib.loads(content))


def test_tampered_profile_fails_verification(pki, tmp_path):
    plain = render_profiles(sample_inventory(), SAMPLE_OPTIONS).profiles[0].plist()
    signer = _cms.load_signer(pki["signer"], pki["signer_key"], chain=pki["chain"])
    signed = _cms.sign(plain, signer)
    index = signed.index(b"mail.example.test")
    tampered = signed[:index] + b"evil" + signed[index + 4 :]
    path = tmp_path / "tampered.mobileconfig"
    path.write_bytes(tampered)
    proc, _content = openssl_verify(path, pki["dir"] / "root.pem")
    assert proc.returncode != 0
    assert "Verification failure" in proc.stderr
    assert "content verify error" in proc.stderr
    assert _cms.is_current(tampered, plain, signer) is False
    assert _cms.is_current(tampered, _cms.extract_content(tampered), signer) is False


def test_signature_needs_the_chain_and_the_right_root(pki, tmp_path):
    plain = b"<plist/>"
    no_chain = tmp_path / "no-chain.mobileconfig"
    no_chain.write_bytes(_cms.sign(plain, _cms.load_signer(pki["signer"], pki["signer_key"])))
    proc, _content = openssl_verify(no_chain, pki["dir"] / "root.pem")
    assert proc.returncode != 0
    assert "unable to get local issuer certificate" in proc.stderr
    other = tmp_path / "other.mobileconfig"
    other.write_bytes(_cms.sign(plain, _cms.load_signer(pki["signer"], pki["signer_key"], chain=pki["chain"])))
    proc, _content = openssl_verify(other, pki["dir"] / "other-root.pem")
    assert proc.returncode != 0


def test_openssl_signed_file_is_recognised(pki, tmp_path):
    """A file signed by `openssl cms -sign` (DER, content attached) counts as current."""
    plain = render_profiles([account()]).profiles[0].plist()
    (tmp_path / "p.plist").write_bytes(plain)
    (tmp_path / "s.pem").write_text(pki["signer"])
    (tmp_path / "s.key").write_text(pki["signer_key"])
    (tmp_path / "chain.pem").write_text(pki["chain"])
    subprocess.run(
        [
            "openssl",
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-outform",
            "DER",
            "-in",
            str(tmp_path / "p.plist"),
            "-signer",
            str(tmp_path / "s.pem"),
            "-inkey",
            str(tmp_path / "s.key"),
            "-certfile",
            str(tmp_path / "chain.pem"),
            "-out",
            str(tmp_path / "signed"),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    signer = _cms.load_signer(pki["signer"], pki["signer_key"], chain=pki["chain"])
    assert _cms.is_current((tmp_path / "signed").read_bytes(), plain, signer) is True


def test_is_current_compares_payload_and_certificates(pki):
    signer = _cms.load_signer(pki["signer"], pki["signer_key"], chain=pki["chain"])
    plain = render_profiles([account()]).profiles[0].plist()
    first = _cms.sign(plain, signer)
    assert _cms.is_current(first, plain, signer) is True
    assert _cms.is_current(first, plain.replace(b"993", b"994"), signer) is False
    assert _cms.is_current(first, plain, _cms.load_signer(pki["signer"], pki["signer_key"])) is False
    assert _cms.is_current(first, plain, _cms.load_signer(pki["rsa_signer"], pki["rsa_key"])) is False
    assert _cms.is_current(plain, plain, signer) is False
    assert _cms.is_current(b"\x30\x80garbage", plain, signer) is False


def test_encrypted_key_needs_its_passphrase(pki):
    signer = _cms.load_signer(pki["signer"], pki["signer_key_encrypted"], passphrase="s3cret-pass")
    assert _cms.extract_content(_cms.sign(b"x", signer)) == b"x"
    with pytest.raises(_cms.CMSError, match=r"^signing key cannot be loaded: ") as info:
        _cms.load_signer(pki["signer"], pki["signer_key_encrypted"], passphrase="wrong")
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize(
    ("cert", "key", "message"),
    [
        ("signer", "rsa_key", "^signing key does not belong to the signing certificate CN=profile signer$"),
        ("signer", None, "^signing key cannot be loaded: "),
        (None, "signer_key", "^signing certificate is not a PEM certificate: "),
    ],
)
def test_bad_signing_material(pki, cert, key, message):
    with pytest.raises(_cms.CMSError, match=message):
        _cms.load_signer(pki[cert] if cert else "junk", pki[key] if key else "junk")

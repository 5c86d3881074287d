# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of plugins/plugin_utils/_thunderbird.py: escaping (fuzzed), the user.js block, keys, removal,
profiles.ini, enterprise AutoConfig and autoconfig XML (golden files: set MAILOPS_UPDATE_GOLDEN=1 to rewrite)."""

from __future__ import annotations

import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ansible_collections.mailops.clients.plugins.plugin_utils import _thunderbird as tb
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import normalize_accounts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from strict_prefs import PrefsSyntaxError, parse_prefs  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "thunderbird"
SERVERS = {
    "tls": {
        "incoming": {"protocol": "imap", "host": "mail.example.test", "security": "tls"},
        "outgoing": {"host": "mail.example.test", "security": "tls"},
        "timeout": 30,
    },
    "starttls": {
        "incoming": {
            "protocol": "imap",
            "host": "imap.example.test",
            "security": "starttls",
            "auth": "password-encrypted",
        },
        "outgoing": {"host": "smtp.example.test", "security": "starttls"},
        "timeout": 60,
    },
    "pop": {
        "incoming": {"protocol": "pop3", "host": "pop.example.test", "security": "tls"},
        "outgoing": {"host": "smtp.example.test", "security": "starttls"},
    },
}


def sample():
    return normalize_accounts(
        [
            {"email": "alice@example.test", "server": "tls", "user": "alice", "display_name": 'Älice "A" \\ 😀'},
            {"email": "bob@example.test", "server": "starttls", "user": "alice", "reply_to": "team@example.test"},
            {
                "email": "carol@example.test",
                "server": "pop",
                "user": "alice",
                "pop3": {"leave_on_server": True, "delete_after_days": 14},
                "check_interval_minutes": 5,
                "signature": "Carol\n-- \nline two",
            },
        ],
        SERVERS,
        host="h",
    )


def values(text):
    return {name: value for kind, name, value in parse_prefs(text)}


def golden(name, text):
    path = GOLDEN / name
    if os.environ.get("MAILOPS_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


# --- escaping -------------------------------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_js_string_round_trips_through_a_strict_parser(value):
    line = tb.pref_line("x.name", value)
    assert line.isascii()
    assert parse_prefs(line) == [("user_pref", "x.name", value)]
    assert tb.parse_line(line) == ("x.name", value)


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", '"plain"'),
        ('a"b', '"a\\"b"'),
        ("back\\slash", '"back\\\\slash"'),
        ("two\nlines\r", '"two\\nlines\\r"'),
        ("tab\there", '"tab\\u0009here"'),
        ("é", '"\\u00E9"'),
        ("😀", '"\\uD83D\\uDE00"'),
        ("\u2028", '"\\u2028"'),
        ("\x7f", '"\\u007F"'),
    ],
)
def test_js_string_table(value, literal):
    assert tb.js_string(value) == literal


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a\x00b", "a preference string cannot contain a NUL character"),
        ("\ud800", "a preference string cannot contain a lone surrogate (U+D800)"),
    ],
)
def test_js_string_refuses(value, message):
    with pytest.raises(tb.ThunderbirdError, match=f"^{re.escape(message)}$"):
        tb.js_string(value)


def test_js_value_types_and_range():
    assert (tb.js_value(True), tb.js_value(False), tb.js_value(-5)) == ("true", "false", "-5")
    with pytest.raises(tb.ThunderbirdError, match=r"^integer preference value 2147483648 is outside the 32-bit range$"):
        tb.js_value(2**31)


def test_strict_parser_rejects_what_thunderbird_would_not_read():
    for bad in ('user_pref("a", "b")', 'user_pref("a", "\\q");', 'user_pref("a", 1) ;x', 'user_pref("a", "\\u0000");'):
        with pytest.raises(PrefsSyntaxError):
            parse_prefs(bad)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=TEXT.filter(lambda s: s.strip()),
    username=TEXT.filter(lambda s: s.strip()),
    reply=TEXT,
    sig=TEXT,
    user_lines=st.lists(st.tuples(st.sampled_from(["a.b", "x.y.z"]), TEXT), max_size=3),
)
def test_rendered_user_js_parses_strictly_with_exact_values(name, username, reply, sig, user_lines):
    account = dict(sample()[0], display_name=name, reply_to=reply or None, signature=sig or None)
    account["incoming"] = dict(account["incoming"], username=username)
    account["outgoing"] = dict(account["outgoing"], username=username)
    own = "".join(tb.pref_line(k, v) + "\n" for k, v in user_lines)
    plan = tb.plan_profile([account], own, None)
    parsed = values(plan.user_js)
    assert parsed["mail.identity.id1000.fullName"] == name
    assert parsed["mail.server.server1000.userName"] == username
    assert parsed["mail.smtpserver.smtp1000.username"] == username
    if reply:
        assert parsed["mail.identity.id1000.reply_to"] == reply
    if sig:
        assert parsed["mail.identity.id1000.htmlSigText"] == sig
    assert plan.user_js.startswith(own)
    # deterministic, and a second run changes nothing
    again = tb.plan_profile([account], plan.user_js, plan.prefs_js)
    assert again.user_js == plan.user_js
    assert again.prefs_js is None


# --- codes ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("security", "code"), [("tls", 3), ("starttls", 2), ("none", 0)])
@pytest.mark.parametrize(
    ("auth", "method"),
    [("password", 3), ("password-encrypted", 4), ("gssapi", 5), ("ntlm", 6), ("oauth2", 10), ("none", 1)],
)
def test_socket_type_and_auth_codes(security, code, auth, method):
    account = sample()[0]
    account["incoming"] = dict(account["incoming"], security=security, auth=auth)
    account["outgoing"] = dict(account["outgoing"], security=security, auth=auth)
    prefs = dict(tb.account_prefs(account, 1000))
    assert prefs["mail.server.server1000.socketType"] == code
    assert prefs["mail.smtpserver.smtp1000.try_ssl"] == code
    assert prefs["mail.server.server1000.authMethod"] == method
    assert prefs["mail.smtpserver.smtp1000.authMethod"] == method
    assert ("mail.smtpserver.smtp1000.username" in prefs) is (auth != "none")
    assert 1 not in (prefs["mail.server.server1000.socketType"], prefs["mail.smtpserver.smtp1000.try_ssl"])


def test_pop3_prefs():
    prefs = dict(tb.account_prefs(sample()[2], 1002))
    assert {k.rsplit(".", 1)[1]: v for k, v in prefs.items() if k.startswith("mail.server.")} == {
        "type": "pop3",
        "hostname": "pop.example.test",
        "port": 995,
        "socketType": 3,
        "authMethod": 3,
        "userName": "carol@example.test",
        "name": "carol@example.test",
        "login_at_startup": True,
        "check_new_mail": True,
        "check_time": 5,
        "download_on_biff": True,
        "leave_on_server": True,
        "delete_mail_left_on_server": True,
        "delete_by_age_from_server": True,
        "num_days_to_leave_on_server": 14,
    }


# --- the block, keys, removal -----------------------------------------------------------------------------

HAND = """// Mozilla User Preferences
user_pref("mail.account.account1.server", "server1");
user_pref("mail.account.account1.identities", "id1");
user_pref("mail.account.account1000.server", "server7");
user_pref("mail.accountmanager.accounts", "account1,account1000");
user_pref("mail.server.server1.hostname", "mail.example.test");
user_pref("mail.server.server1.type", "imap");
user_pref("mail.server.server1.userName", "alice@example.test");
user_pref("mail.server.server1001.hostname", "x");
user_pref("mail.smtpservers", "smtp1");
"""


def test_golden_user_js_and_prefs_js():
    plan = tb.plan_profile(sample(), 'user_pref("mine", 1);\n', HAND, {"default_account": "first"}, " (alice)")
    golden("user.js", plan.user_js)
    golden("prefs.js", plan.prefs_js)
    # account1000 and server1001 are taken by hand-made prefs: alice gets 1002, then 1003, 1004
    assert {i: k["account"] for i, k in plan.keys.items()} == {
        "alice@example.test": "account1002",
        "bob@example.test": "account1003",
        "carol@example.test": "account1004",
    }
    assert plan.warnings == [
        "profile (alice): account alice@example.test duplicates the account the user made by hand (server1, imap "
        "alice@example.test@mail.example.test); Thunderbird will show both. Remove one of them"
    ]
    parsed = values(plan.user_js)
    assert parsed["mailnews.tcptimeout"] == 60
    assert parsed["mail.accountmanager.defaultaccount"] == "account1002"
    assert "mail.accountmanager.accounts" not in parsed and "mail.smtpservers" not in parsed


def test_keys_are_stable_and_removal_cleans_only_our_prefs():
    first = tb.plan_profile(sample(), None, HAND)
    # Thunderbird copies our values into prefs.js and writes its own for our servers
    prefs = first.prefs_js + "".join(
        f'user_pref("{n}", {tb.js_value(v)});\n'
        for n, v in values(first.user_js).items()
        if n.startswith(("mail.account.", "mail.server.", "mail.identity.", "mail.smtpserver."))
    )
    prefs += 'user_pref("mail.server.server1003.directory-rel", "[ProfD]ImapMail/imap.example.test");\n'
    prefs += 'user_pref("mail.accountmanager.defaultaccount", "account1003");\n'
    # bob leaves, carol moves to the front: keys stay
    accounts = [sample()[2], sample()[0]]
    second = tb.plan_profile(accounts, first.user_js, prefs)
    assert {i: k["account"] for i, k in second.keys.items()} == {
        "carol@example.test": "account1004",
        "alice@example.test": "account1002",
    }
    assert second.removed == ["bob@example.test"]
    after = values(second.prefs_js)
    assert not [n for n in after if "1003" in n]
    assert "mail.accountmanager.defaultaccount" not in after
    assert after["mail.accountmanager.accounts"] == "account1,account1000,account1002,account1004"
    assert after["mail.smtpservers"] == "smtp1,smtp1002,smtp1004"
    # hand-made prefs are all still there, byte for byte
    for line in HAND.splitlines():
        if 'accounts"' not in line and "smtpservers" not in line:
            assert line in second.prefs_js.splitlines()
    assert "server1003" not in second.user_js


def test_markers_in_prefs_js_survive_a_deleted_block():
    first = tb.plan_profile(sample()[:1], None, None)
    prefs = first.prefs_js + 'user_pref("mail.account.account1000.mailops_id", "alice@example.test");\n'
    prefs += 'user_pref("mail.account.account1001.mailops_id", "gone@example.test");\n'
    prefs += 'user_pref("mail.server.server1001.hostname", "old.example.test");\n'
    plan = tb.plan_profile(sample()[:1], 'user_pref("mine", 1);\n', prefs)  # the user deleted the block
    assert plan.keys["alice@example.test"]["account"] == "account1000"
    assert plan.removed == ["gone@example.test"]
    assert "old.example.test" not in plan.prefs_js


def test_prefs_the_block_no_longer_sets_are_cleared_from_prefs_js():
    account = sample()[1]
    first = tb.plan_profile([account], None, None)
    prefs = first.prefs_js + 'user_pref("mail.identity.id1000.reply_to", "team@example.test");\n'
    plan = tb.plan_profile([dict(account, reply_to=None)], first.user_js, prefs)
    assert "reply_to" not in plan.user_js
    assert "reply_to" not in plan.prefs_js


def test_no_accounts_removes_the_block_and_keeps_user_lines():
    first = tb.plan_profile(sample(), 'user_pref("mine", 1);\n', None)
    plan = tb.plan_profile([], first.user_js, first.prefs_js)
    assert plan.user_js == 'user_pref("mine", 1);\n'
    assert values(plan.prefs_js) == {"mail.accountmanager.accounts": "", "mail.smtpservers": ""}
    assert tb.plan_profile([], None, None).prefs_js is None


def test_broken_markers_are_refused():
    text = tb.BLOCK_BEGIN + "\n"
    with pytest.raises(
        tb.ThunderbirdError,
        match=r"^user\.js \(p\) has 1 begin and 0 end markers of the mailops\.clients block \(expected one pair, "
        r"begin first\); repair or delete the block by hand, the next run writes it again$",
    ):
        tb.plan_profile(sample(), text, None, where=" (p)")


def test_port_only_collision_is_refused():
    accounts = sample()[:1]
    other = dict(accounts[0], id="alice@example.test#other")
    other["incoming"] = dict(accounts[0]["incoming"], port=143, security="starttls")
    with pytest.raises(
        tb.ThunderbirdError,
        match=r"^thunderbird \(alice\): accounts alice@example\.test and alice@example\.test#other both use IMAP user "
        r"alice@example\.test on host mail\.example\.test \(ports 993 and 143\); Thunderbird identifies incoming "
        r"servers by user@host and ignores the port, so it would treat them as one server\. Remove one of them, or "
        r"reach one through another host name$",
    ):
        tb.plan_profile([*accounts, other], None, None, where=" (alice)")


def test_allocate_skips_used_and_taken():
    assert tb.allocate(["a", "b", "c"], {"b": 1000}, {"smtp1001", "id1002"}) == {"b": 1000, "a": 1003, "c": 1004}


# --- profiles.ini -----------------------------------------------------------------------------------------


def test_profiles_ini_install_default_wins():
    text = (
        "[Install4F96D1932A9F858E]\nDefault=Profiles/b.esr\n\n[Profile0]\nName=old\nIsRelative=1\nPath=Profiles/a\n"
        "Default=1\n\n[Profile1]\nName=esr\nIsRelative=1\nPath=Profiles/b.esr\n\n[Profile2]\nName=abs\nIsRelative=0\n"
        "Path=/srv/tb/c\n\n[General]\nVersion=2\n"
    )
    profiles = tb.parse_profiles_ini(text, "/home/a/.thunderbird")
    assert [(p["name"], p["path"], p["default"]) for p in profiles] == [
        ("old", "/home/a/.thunderbird/Profiles/a", False),
        ("esr", "/home/a/.thunderbird/Profiles/b.esr", True),
        ("abs", "/srv/tb/c", False),
    ]
    assert [p["name"] for p in tb.select_profiles(profiles, "default")] == ["esr"]
    assert [p["name"] for p in tb.select_profiles(profiles, "all")] == ["old", "esr", "abs"]
    assert [p["name"] for p in tb.select_profiles(profiles, "abs")] == ["abs"]


def test_profiles_ini_windows_paths_and_ambiguity():
    text = "[Profile0]\nName=a\nIsRelative=1\nPath=Profiles/x.default\n\n[Profile1]\nName=b\nIsRelative=1\nPath=y\n"
    root = "C:\\Users\\alice\\AppData\\Roaming\\Thunderbird"
    profiles = tb.parse_profiles_ini(text, root, sep="\\")
    assert profiles[0]["path"] == root + "\\Profiles\\x.default"
    with pytest.raises(
        tb.ThunderbirdError,
        match=r"^cannot tell which Thunderbird profile is the default \(profiles: a, b, none marked default\); set "
        r"mailops_thunderbird_profile to a profile name or to all$",
    ):
        tb.select_profiles(profiles, "default")
    assert tb.DEFAULT_PROFILE_ROOTS["Windows"].endswith("\\AppData\\Roaming\\Thunderbird")


def test_new_profiles_ini_and_lock_pid():
    profiles = tb.parse_profiles_ini(tb.new_profiles_ini(), "/r")
    assert [(p["path"], p["default"]) for p in profiles] == [("/r/mailops.default", True)]
    assert tb.profile_lock_pid("127.0.1.1:+4242") == 4242
    assert tb.profile_lock_pid("garbage") is None


# --- enterprise and XML --------------------------------------------------------------------------------------


def test_golden_enterprise_autoconfig():
    accounts = sample()
    accounts.append(dict(sample()[0], user=None))
    files = tb.render_enterprise(
        accounts, {"locked_prefs": {"app.update.enabled": False}, "prefs": {"mail.rights.version": 1}}
    )
    assert sorted(files) == ["autoconfig.js", "mailops.cfg"]
    bootstrap = values(files["autoconfig.js"])
    assert bootstrap == {"general.config.filename": "mailops.cfg", "general.config.obscure_value": 0}
    golden("mailops.cfg", files["mailops.cfg"])
    cfg = files["mailops.cfg"]
    assert cfg.splitlines()[0].startswith("//")
    assert cfg.isascii()
    # every pref call in the .cfg is also a valid preference statement
    for line in cfg.splitlines():
        stripped = line.strip()
        if stripped.startswith(("defaultPref(", "lockPref(")) and ".join(" not in stripped:
            assert parse_prefs(stripped.replace("defaultPref(", "pref(", 1).replace("lockPref(", "pref(", 1))
    locked = tb.render_enterprise(sample(), {"lock_accounts": True, "cfg_name": "site.cfg"})["site.cfg"]
    assert 'lockPref("mail.server.server' in locked and 'defaultPref("mail.server.' not in locked
    with pytest.raises(tb.ThunderbirdError, match=r"^cfg_name 'dsengine\.cfg' must be a plain file name"):
        tb.render_enterprise(sample(), {"cfg_name": "dsengine.cfg"})


def test_golden_autoconfig_xml():
    docs, warnings = tb.render_autoconfig_xml(sample())
    assert sorted(docs) == ["example.test"]
    golden("example.test.xml", docs["example.test"].decode())
    assert warnings == []
    root = ET.fromstring(docs["example.test"])  # noqa: S314 (our own output)
    incoming = root.findall("emailProvider/incomingServer")
    assert [(s.get("type"), s.findtext("socketType"), s.findtext("authentication")) for s in incoming] == [
        ("imap", "SSL", "password-cleartext"),
        ("imap", "STARTTLS", "password-encrypted"),
        ("pop3", "SSL", "password-cleartext"),
    ]
    assert incoming[2].findtext("pop3/daysToLeaveMessagesOnServer") == "14"
    assert {s.findtext("username") for s in incoming} == {"%EMAILADDRESS%"}


def test_autoconfig_xml_codes_and_warnings():
    account = sample()[0]
    account["incoming"] = dict(account["incoming"], security="none", username="someone-else")
    account["outgoing"] = dict(account["outgoing"], auth="none")
    docs, warnings = tb.render_autoconfig_xml([account])
    root = ET.fromstring(docs["example.test"])  # noqa: S314 (our own output)
    assert root.findtext("emailProvider/incomingServer/socketType") == "plain"
    assert root.findtext("emailProvider/outgoingServer/authentication") == "none"
    assert root.find("emailProvider/outgoingServer/username") is None
    assert warnings == [
        "autoconfig XML for example.test: account alice@example.test logs in as 'someone-else', which is neither "
        "the address nor its local part; the file offers %EMAILADDRESS% (users correct it in the wizard)"
    ]

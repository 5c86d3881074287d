# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of plugins/plugin_utils/_thunderbird.py: escaping (fuzzed), the user.js block, keys, removal,
profiles.ini, enterprise AutoConfig and autoconfig XML (golden files: set MAILOPS_UPDATE_GOLDEN=1 to rewrite),
and hostile user files (bytes kept outside the block, profiles confined to the Thunderbird directory)."""

from __future__ import annotations

import configparser
import json
import os
import re
import sys
import time
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


def test_a_pref_the_block_no_longer_sets_keeps_the_users_own_value_in_prefs_js():
    # the user's default account, set before the block existed (Thunderbird has not run since)
    own = 'user_pref("mail.accountmanager.defaultaccount", "account1");\n'
    first = tb.plan_profile(sample(), None, HAND + own, {"default_account": "first"})
    assert values(first.user_js)["mail.accountmanager.defaultaccount"] == "account1002"
    plan = tb.plan_profile([], first.user_js, first.prefs_js)
    assert own in plan.prefs_js


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


# --- hostile files: bytes outside the block stay as read ---------------------------------------------------


def surrogate_text(data: bytes) -> str:
    """File bytes as the action decodes them."""
    return data.decode("utf-8", errors="surrogateescape")


def moz_lines(text):
    """Lines with their terminators, split where Mozilla's preference parser ends a line: \\n, \\r\\n, lone \\r."""
    lines, start, i = [], 0, 0
    while i < len(text):
        if text[i] in "\r\n":
            i += 2 if text.startswith("\r\n", i) else 1
            lines.append(text[start:i])
            start = i
        else:
            i += 1
    if start < len(text):
        lines.append(text[start:])
    return lines


def first_newline(text):
    match = re.search(r"\r\n|\r|\n", text)
    return match.group() if match else "\n"


NASTY = {
    "crlf": 'user_pref("mine", 1);\r\n// comment\r\n',
    "lone cr": 'user_pref("mine", 1);\r// two\r',
    "mixed": '// a\r\nuser_pref("b", "x");\n// c\r\n\r',
    "lf then lone cr": '// a\nuser_pref("b", "x");\r',
    "ff in comment": '// x\x0cuser_pref("mail.smtpservers", "evil");\n',
    "fs in comment": '// x\x1cuser_pref("mail.accountmanager.accounts", "evil");\r\n',
    "nel in comment": '// x\x85user_pref("a", 1);\n',
    "ls in comment": '// x\u2028user_pref("a", 1);\u2029user_pref("b", 2);\n',
    "controls in value": 'user_pref("v", "a\x0cb\x1cc\x1dd\x1ee\x85f\u2028g");\r\n',
    "no final newline": "// the last line has no terminator",
    "pref without final newline": 'user_pref("mine", 1);',
    "nul": '// a NUL \x00 here\nuser_pref("n", "a\x00b");\n\x00',
    "invalid utf-8": surrogate_text(b'// caf\xe9\r\nuser_pref("latin", "\xff\xfe");\r\n// \xc3'),
    "blank lines": "\n\n  \n\t\n\x0b\n",
    "only cr": "\r\r\r",
    "empty": "",
}
PIECES = list(NASTY.values())
ONE = sample()[:1]
LISTS = {"mail.accountmanager.accounts": "account1000", "mail.smtpservers": "smtp1000"}


def ends_line(text):
    return not text or text.endswith(("\r", "\n"))


@pytest.mark.parametrize("piece", PIECES, ids=list(NASTY))
def test_hostile_lines_are_not_read_as_prefs(piece):
    prefs = tb.read_prefs(piece)
    assert "a" not in prefs and "evil" not in prefs.values()
    for line in moz_lines(piece):
        assert tb.parse_line(line) == tb.parse_line(line.rstrip("\r\n"))


@pytest.mark.parametrize("piece", PIECES, ids=list(NASTY))
def test_hostile_user_js_without_block_keeps_every_byte(piece):
    plan = tb.plan_profile(ONE, piece, None)
    out = plan.user_js
    assert out.startswith(piece)
    parts = tb.split_user_js(out)
    before = "".join(parts.before)
    # the user's text, then at most a terminator and an empty line, then the block and nothing after it
    assert before.startswith(piece) and set(before[len(piece) :]) <= {"\r", "\n"}
    assert moz_lines(before)[: len(moz_lines(piece)) - 1] == moz_lines(piece)[:-1]
    assert parts.after == []
    nl = first_newline(piece)
    assert {line[len(line.rstrip("\r\n")) :] for line in parts.block} == {nl}
    assert tb.read_prefs("".join(parts.block))["mail.account.account1000.mailops_id"] == "alice@example.test"
    again = tb.plan_profile(ONE, out, plan.prefs_js)
    assert again.user_js == out and again.prefs_js is None
    # removing the block takes the empty line before it, which this run added when the last line was not empty
    removed = tb.plan_profile([], out, again.prefs_js).user_js
    completed = piece if ends_line(piece) else piece + first_newline(piece)
    lines = moz_lines(completed)
    assert removed == completed or (removed == "".join(lines[:-1]) and lines[-1] in ("\n", "\r\n", "\r"))
    if lines and lines[-1].rstrip("\r\n").strip(" \t\x0b\x0c"):
        assert removed == completed
    untouched = tb.plan_profile([], piece, piece)
    assert untouched.user_js == piece and untouched.prefs_js is None


OLD_MARKER = tb.pref_line("mail.account.account1000.mailops_id", "old@example.test")
BLOCKS = [
    f"{tb.BLOCK_BEGIN}\n{OLD_MARKER}\n{tb.BLOCK_END}\n",
    f'{tb.BLOCK_BEGIN}\r\n// junk\x0cuser_pref("x", 1);\r{tb.BLOCK_END}\r\n',
    f" \t{tb.BLOCK_BEGIN}\x0c\r{tb.BLOCK_END}\r",
    f"{tb.BLOCK_BEGIN}\n{tb.BLOCK_END}",
]


@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize(("before", "after"), list(zip(PIECES, PIECES[3:] + PIECES[:3])), ids=list(NASTY))
def test_hostile_user_js_around_a_block_keeps_every_byte(before, after, block):
    if not ends_line(before):
        before += "\n"
    if not block.endswith(("\r", "\n")):
        after = ""
    if block.endswith("\r") and after.startswith("\n"):
        block, after = block + "\n", after[1:]  # one CRLF: the end marker's line takes it
    text = before + block + after
    plan = tb.plan_profile(ONE, text, None)
    out = plan.user_js
    assert out.startswith(before) and out.endswith(after)
    middle = out[len(before) : len(out) - len(after)]
    nl = first_newline(text)
    assert middle.startswith(tb.BLOCK_BEGIN + nl)
    # the end marker's line ends in the file's terminator, or in CRLF where a lone CR would take the next "\n"
    assert middle in (middle.rstrip("\r\n") + nl, middle.rstrip("\r\n") + "\r\n")
    assert middle.rstrip("\r\n").endswith(tb.BLOCK_END)
    # a block that marks account1000 as another account's: that one is removed, alice gets new keys
    number = 1001 if OLD_MARKER in block else 1000
    assert [line.rstrip("\r\n") for line in moz_lines(middle)][1:-1] == tb.render_block(ONE, {ONE[0]["id"]: number})
    again = tb.plan_profile(ONE, out, plan.prefs_js)
    assert again.user_js == out and again.prefs_js is None
    removed = tb.plan_profile([], text, None).user_js
    lines = moz_lines(before)
    if not after and lines and lines[-1] in ("\n", "\r\n", "\r"):
        before = "".join(lines[:-1])  # the empty line that separated the block
    assert removed == before + after


@pytest.mark.parametrize("term", ["\n", "\r\n", "\r", ""])
@pytest.mark.parametrize(("before", "after"), list(zip(PIECES, PIECES[5:] + PIECES[:5])), ids=list(NASTY))
def test_hostile_prefs_js_keeps_every_line_it_does_not_rewrite(before, after, term):
    if not ends_line(before):
        before += "\r"
    if not term:
        after = ""
    old = 'user_pref("mail.accountmanager.accounts", "account1");'
    text = before + "  " + old + " // mine" + term + after
    plan = tb.plan_profile(ONE, None, text)
    nl = first_newline(text)
    merged = 'user_pref("mail.accountmanager.accounts", "account1,account1000");'
    body = before + merged + term + after
    if not ends_line(body):
        body += nl
    assert plan.prefs_js == body + 'user_pref("mail.smtpservers", "smtp1000");' + nl
    again = tb.plan_profile(ONE, plan.user_js, plan.prefs_js)
    assert again.user_js == plan.user_js and again.prefs_js is None
    # nothing to add: the file is left alone
    assert tb.plan_profile([], None, text).prefs_js is None


@pytest.mark.parametrize("piece", PIECES, ids=list(NASTY))
def test_hostile_prefs_js_only_gains_lines(piece):
    plan = tb.plan_profile(ONE, None, piece)
    nl = first_newline(piece)
    head = piece if ends_line(piece) else piece + nl
    assert plan.prefs_js == head + "".join(tb.pref_line(n, v) + nl for n, v in LISTS.items())


FRAGMENTS = st.lists(
    st.sampled_from(
        [
            "\n",
            "\r",
            "\r\n",
            "\x0c",
            "\x1c",
            "\x85",
            "\u2028",
            "\x00",
            "\udcff",
            " ",
            "//",
            "#",
            '"',
            "\\",
            "x",
            'user_pref("a", 1);',
            'user_pref("mail.smtpservers", "s1");',
            'user_pref("mail.accountmanager.accounts", " a1 ,, a1");',
            tb.BLOCK_BEGIN,
            tb.BLOCK_END,
        ]
    ),
    max_size=25,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(user_js=FRAGMENTS, prefs_js=FRAGMENTS)
def test_fuzzed_files_keep_their_bytes_or_fail_cleanly(user_js, prefs_js):
    try:
        plan = tb.plan_profile(ONE, user_js, prefs_js)
    except tb.ThunderbirdError as err:
        assert "begin and" in str(err)
        return
    parts = tb.split_user_js(user_js)
    if parts.block is None:
        assert plan.user_js.startswith(user_js)
    else:
        assert plan.user_js.startswith("".join(parts.before)) and plan.user_js.endswith("".join(parts.after))
    again = tb.plan_profile(ONE, plan.user_js, plan.prefs_js or prefs_js)
    assert again.user_js == plan.user_js and again.prefs_js is None
    if parts.block is None:
        untouched = tb.plan_profile([], user_js, prefs_js)
        assert untouched.user_js == user_js and untouched.prefs_js is None


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ('user_pref("a", 1);\r\n', ("a", 1)),
        ('user_pref("a", "b");\r', ("a", "b")),
        ('\x0c\tuser_pref( "a" ,\x0btrue ) ; // c\n', ("a", True)),
        ('user_pref("a", 1);\x1c', None),
        ('\x85user_pref("a", 1);', None),
        ('user_pref("a", 1);\n\n', None),
        ('user_pref("a\nb", 1);', None),
        ('user_pref("a", -2147483648);', ("a", -(2**31))),
        ('user_pref("a", 0000000000002147483647);', ("a", 2**31 - 1)),
        ('user_pref("a", 2147483648);', None),
        ('user_pref("a", ' + "9" * 5000 + ");", None),
        ('user_pref("a", \u0663);', None),
    ],
)
def test_parse_line_sees_lines_as_mozilla_does(line, parsed):
    assert tb.parse_line(line) == parsed


def test_commented_line_with_a_form_feed_stays_a_comment():
    prefs = 'user_pref("mail.smtpservers", "smtp1");\n// x\x0cuser_pref("mail.smtpservers", "evil");\n'
    plan = tb.plan_profile(ONE, None, prefs)
    assert plan.prefs_js == (
        'user_pref("mail.smtpservers", "smtp1,smtp1000");\n// x\x0cuser_pref("mail.smtpservers", "evil");\n'
        'user_pref("mail.accountmanager.accounts", "account1000");\n'
    )
    assert values(plan.prefs_js.replace("\x0c", " "))["mail.smtpservers"] == "smtp1,smtp1000"


def test_broken_markers_message_is_unchanged_for_crlf_files():
    with pytest.raises(
        tb.ThunderbirdError,
        match=r"^user\.js has 2 begin and 1 end markers of the mailops\.clients block \(expected one pair, begin "
        r"first\); repair or delete the block by hand, the next run writes it again$",
    ):
        tb.split_user_js(f"{tb.BLOCK_BEGIN}\r\n{tb.BLOCK_BEGIN}\r{tb.BLOCK_END}\r\n")


# --- hostile files: other errors become ThunderbirdError naming the file ----------------------------------


@pytest.mark.parametrize(
    "value",
    ["account1,\\u0000", "account1,\\uD800", "account1\x00", surrogate_text(b"account\xff")],
    ids=["escaped NUL", "escaped lone surrogate", "raw NUL", "invalid UTF-8"],
)
def test_list_pref_that_cannot_be_written_back_is_refused_by_file_and_line(value):
    prefs = '// Mozilla User Preferences\r\n\r\nuser_pref("mail.accountmanager.accounts", "' + value + '");\r\n'
    with pytest.raises(
        tb.ThunderbirdError,
        match=r"^prefs\.js \(user alice\) line 3: the value of mail\.accountmanager\.accounts contains a NUL, a lone "
        r"surrogate or bytes that are not UTF-8, so the merged list cannot be written; fix or remove that line$",
    ):
        tb.plan_profile(ONE, None, prefs, where=" (user alice)")


def test_huge_numbers_in_prefs_are_ignored_as_mozilla_does():
    digits = "1" * 5000
    prefs = (
        f'user_pref("mail.account.account{digits}.mailops_id", "x@example.test");\n'
        f'user_pref("mail.account.account0001000.mailops_id", "y@example.test");\n'
        f'user_pref("mail.server.server1.port", {digits});\n'
    )
    plan = tb.plan_profile(ONE, None, prefs)
    assert plan.removed == []
    assert plan.keys[ONE[0]["id"]]["account"] == "account1000"
    assert plan.prefs_js.startswith(prefs)
    assert tb.profile_lock_pid("127.0.1.1:+" + digits) is None
    assert tb.profile_lock_pid("127.0.1.1:+4242\n") is None


def test_names_from_files_are_escaped_in_messages():
    hand = 'user_pref("mail.server.x\\u001B[2J\\u202E.hostname", "mail.example.test");\n'
    hand += 'user_pref("mail.server.x\\u001B[2J\\u202E.type", "imap");\n'
    hand += 'user_pref("mail.server.x\\u001B[2J\\u202E.userName", "alice@example.test");\n'
    plan = tb.plan_profile(ONE, None, hand)
    assert plan.warnings[0].startswith(
        "profile: account alice@example.test duplicates the account the user made by hand (x\\x1b[2J\\u202e, imap"
    )
    profiles = [{"name": "a\x1b[31m", "default": False}, {"name": surrogate_text(b"b\xff\n"), "default": False}]
    with pytest.raises(
        tb.ThunderbirdError,
        match=r"^cannot tell which Thunderbird profile is the default \(profiles: a\\x1b\[31m, b\\udcff\\n, none "
        r"marked default\); set mailops_thunderbird_profile to a profile name or to all$",
    ):
        tb.select_profiles(profiles, "default")


# --- hostile profiles.ini -----------------------------------------------------------------------------------

ROOT = "/home/alice/.thunderbird"
INI = ROOT + "/profiles.ini"


def one_profile(path, relative="1", head="[Profile0]\nName=x\n"):
    text = f"{head}IsRelative={relative}\nPath={path}\n\n[General]\nVersion=2\n"
    (profile,) = tb.parse_profiles_ini(text, ROOT)
    return profile


def outside(path, line=4):
    return (
        f"{INI} line {line}: Path={path!r} points outside {ROOT}; a profile must be a directory inside the user's "
        "Thunderbird directory (fix or remove that profile)"
    )


@pytest.mark.parametrize(
    ("path", "relative"),
    [
        ("/etc", "0"),
        ("/home/bob/.thunderbird/x.default", "0"),
        ("/home/alice/.thunderbird-evil/x", "0"),
        ("/home/alice/.thunderbird/../bob", "0"),
        ("/home/alice/.thunderbird", "0"),
        ("//home/alice/.thunderbird/x", "0"),
        ("Profiles/x", "0"),
        ("Profiles/x", "true"),
        ("../../../etc", "1"),
        ("x/../../y", "1"),
        ("..\\..\\etc", "1"),
        (".", "1"),
        ("", "1"),
        ("x/..", "1"),
    ],
)
def test_profile_outside_the_root_is_refused(path, relative):
    profile = one_profile(path, relative)
    assert (profile["raw_path"], profile["line"]) == (path, 4)
    with pytest.raises(tb.ThunderbirdError, match=f"^{re.escape(outside(path))}$"):
        tb.check_profile_inside(profile, ROOT, INI)


@pytest.mark.parametrize(
    ("path", "relative", "where"),
    [
        ("/home/alice/.thunderbird/x.default", "0", "/home/alice/.thunderbird/x.default"),
        ("Profiles/a.default", "1", "/home/alice/.thunderbird/Profiles/a.default"),
        ("Profiles\\b.default", "1", "/home/alice/.thunderbird/Profiles/b.default"),
        ("x/../y", "1", "/home/alice/.thunderbird/x/../y"),
        ("./Profiles/z", "1", "/home/alice/.thunderbird/./Profiles/z"),
    ],
)
def test_profile_inside_the_root_is_allowed(path, relative, where):
    profile = one_profile(path, relative)
    assert profile["path"] == where
    tb.check_profile_inside(profile, ROOT, INI)
    tb.check_profile_inside(profile, ROOT + "/", INI)


@pytest.mark.parametrize("path", ["Profiles/a\x1bb", "a\x00b", "a\x85b", "a\tb", "a\rPath=/etc"])
def test_profile_path_with_a_control_character_is_refused(path):
    profile = one_profile(path)
    with pytest.raises(
        tb.ThunderbirdError,
        match=f"^{re.escape(INI)} line 4: Path contains a control character; fix or remove that profile$",
    ):
        tb.check_profile_inside(profile, ROOT, INI)


def test_profile_path_continued_on_the_next_line_is_refused():
    (profile,) = tb.parse_profiles_ini("[Profile0]\nPath=Profiles/a\n  /../../../etc\nIsRelative=1\n", ROOT)
    assert profile["raw_path"] == "Profiles/a\n/../../../etc"
    with pytest.raises(
        tb.ThunderbirdError,
        match=f"^{re.escape(INI)} line 2: Path contains a control character; fix or remove that profile$",
    ):
        tb.check_profile_inside(profile, ROOT, INI)


def test_profile_line_is_the_line_configparser_keeps():
    text = (
        "; comment\n[General]\nVersion=2\n\n[DEFAULT]\nPath : /etc\n\n[Profile0]\nName=a\n  Path=continued\n"
        "Path=first\n# Path=commented\nPath = second\n\n[Profile1]\nName=b\n\n[Profile0]\nPath=third\n"
        "   more\n[Profile2]\nName=c\n"
    )
    profiles = tb.parse_profiles_ini(text, ROOT)
    assert [(p["name"], p["raw_path"], p["line"]) for p in profiles] == [
        ("a\nPath=continued", "third\nmore", 19),
        ("b", "/etc", 6),
        ("c", "/etc", 6),
    ]


def test_profiles_ini_with_long_blank_runs_parses_in_linear_time():
    blanks = " " * 300_000
    start = time.monotonic()
    (profile,) = tb.parse_profiles_ini(f"[Profile0]\nNa{blanks}me=a\nName=b{blanks}c\nPath=x\n", ROOT)
    with pytest.raises(tb.ThunderbirdError, match=r"^cannot read /r/profiles\.ini: ParsingError$"):
        tb.parse_profiles_ini(f"[Profile0]\na{blanks}b\n", "/r")
    assert time.monotonic() - start < 5  # RawConfigParser.OPTCRE takes minutes here
    assert profile["name"] == f"b{blanks}c"


INI_LINES = st.lists(
    st.sampled_from(
        [
            "[Profile0]",
            "[Profile1]",
            "[DEFAULT]",
            "[Install1]",
            "[General]",
            "Path=x",
            "Path = /r/y",
            "  Path=z",
            " more",
            "Path : ../..",
            "Path=",
            "Path",
            "IsRelative=0",
            "IsRelative=1",
            "Name=n",
            "Default=x",
            "# Path=c",
            "; c",
            "",
            "  ",
            "Path=a\rb",
            "junk\x85",
            "=v",
            "\tPath=t",
        ]
    ),
    max_size=12,
).map(lambda lines: "\n".join(["[Profile0]", *lines]))


@settings(max_examples=500, deadline=None)
@given(INI_LINES)
def test_fuzzed_profiles_ini_parses_as_configparser_does(text):
    stock = configparser.RawConfigParser(strict=False, interpolation=None)
    stock.optionxform = str
    try:
        stock.read_string(text)
    except configparser.Error:
        with pytest.raises(tb.ThunderbirdError, match=r"^cannot read /r/profiles\.ini: [A-Za-z]+Error$"):
            tb.parse_profiles_ini(text, "/r")
        return
    profiles = tb.parse_profiles_ini(text, "/r")
    wanted = [s for s in stock.sections() if s.startswith("Profile") and stock.has_option(s, "Path")]
    assert [(p["name"], p["raw_path"]) for p in profiles] == [
        (stock.get(s, "Name", fallback=s), stock.get(s, "Path")) for s in wanted
    ]
    lines = text.split("\n")
    for profile in profiles:
        option, _delimiter, value = re.split(r"([=:])", lines[profile["line"] - 1], maxsplit=1)
        assert option.strip() == "Path"
        assert profile["raw_path"].split("\n")[0] == value.strip()
        try:
            tb.check_profile_inside(profile, "/r", "/r/profiles.ini")
        except tb.ThunderbirdError as err:
            assert str(err).startswith(f"/r/profiles.ini line {profile['line']}: Path")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "{mail}",
            "account_name_format '{mail}' uses the unknown placeholder {mail}; use {email}, {display_name}, {id}, "
            "{domain}, {local_part}",
        ),
        (
            "{email",
            "account_name_format '{email' is not a valid format (write literal braces as {{ and }}); use {email}, "
            "{display_name}, {id}, {domain}, {local_part}",
        ),
        (7, "account_name_format must be a string with placeholders such as {email}, got a number"),
    ],
)
def test_account_name_format_mistakes_name_the_option(template, message):
    account = {"email": "a@x.test", "display_name": "A", "id": "a@x.test", "domain": "x.test", "local_part": "a"}
    assert tb.account_name("{display_name} <{email}>", account) == "A <a@x.test>"
    with pytest.raises(tb.ThunderbirdError, match=f"^{re.escape(message)}$"):
        tb.account_name(template, account)


# --- lifecycle: state absent, previous_email (rename), a server that moves ------------------------------------

LIFE_HAND = """// Mozilla User Preferences
user_pref("mail.account.account1.identities", "id1");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.accountmanager.accounts", "account1");
user_pref("mail.identity.id1.fcc_folder", "imap://hand%40elsewhere.test@imap.elsewhere.test/Sent");
user_pref("mail.identity.id1.useremail", "hand@elsewhere.test");
user_pref("mail.server.server1.hostname", "imap.elsewhere.test");
user_pref("mail.server.server1.type", "imap");
user_pref("mail.server.server1.userName", "hand@elsewhere.test");
user_pref("mail.smtpserver.smtp1.hostname", "smtp.elsewhere.test");
user_pref("mail.smtpservers", "smtp1");
"""


def life(*changes):
    """sample() with the lifecycle keys of the inventory contract; ``changes``: (index, {key: value})."""
    accounts = [dict(a, state="present", previous_email=None) for a in sample()]
    for index, change in changes:
        accounts[index].update(change)
    return accounts


def thunderbird_started(plan, extra=""):
    """prefs.js as Thunderbird leaves it after a start: the block's account prefs copied, plus ``extra`` lines."""
    copied = "".join(
        f"user_pref({tb.js_string(n)}, {tb.js_value(v)});\n"
        for n, v in values(plan.user_js).items()
        if n.startswith(("mail.account.", "mail.server.", "mail.identity.", "mail.smtpserver."))
    )
    return plan.prefs_js + copied + extra


def test_state_absent_removes_everything_the_collection_wrote_and_nothing_else():
    first = tb.plan_profile(life(), None, LIFE_HAND)
    prefs = thunderbird_started(
        first,
        'user_pref("mail.server.server1001.directory-rel", "[ProfD]ImapMail/imap.example.test");\n'
        'user_pref("mail.identity.id1001.draft_folder", "imap://bob%40example.test@imap.example.test/Drafts");\n'
        'user_pref("mail.smtp.defaultserver", "smtp1001");\n',
    )
    plan = tb.plan_profile(life((1, {"state": "absent", "incoming": None, "outgoing": None})), first.user_js, prefs)
    assert plan.removed == ["bob@example.test"]
    assert set(plan.keys) == {"alice@example.test", "carol@example.test"}
    after = values(plan.prefs_js)
    assert not [n for n in after if "1001" in n], sorted(after)
    assert after["mail.accountmanager.accounts"] == "account1,account1000,account1002"
    assert after["mail.smtpservers"] == "smtp1,smtp1000,smtp1002"
    assert "mail.smtp.defaultserver" not in after
    assert "1001" not in plan.user_js
    # every line of the hand-made account, byte for byte
    for line in LIFE_HAND.splitlines():
        if 'accounts"' not in line and "smtpservers" not in line:
            assert line in plan.prefs_js.splitlines()
    # the second run changes nothing; an absent account that is not there changes nothing either
    again = tb.plan_profile(life((1, {"state": "absent"})), plan.user_js, plan.prefs_js)
    assert (again.user_js, again.prefs_js, again.removed) == (plan.user_js, None, [])
    assert tb.plan_profile([dict(sample()[0], state="absent")], None, LIFE_HAND).prefs_js is None


def test_state_absent_of_the_last_account_removes_the_block():
    first = tb.plan_profile(life()[:1], 'user_pref("mine", 1);\n', LIFE_HAND)
    plan = tb.plan_profile(life((0, {"state": "absent"}))[:1], first.user_js, thunderbird_started(first))
    assert plan.user_js == 'user_pref("mine", 1);\n'
    assert plan.removed == ["alice@example.test"]
    assert plan.prefs_js == LIFE_HAND


def renamed_alice(**extra):
    incoming = dict(sample()[0]["incoming"], username="alice.new@example.test")
    outgoing = dict(sample()[0]["outgoing"], username="alice.new@example.test")
    change = {
        "id": "alice.new@example.test",
        "email": "alice.new@example.test",
        "local_part": "alice.new",
        "incoming": incoming,
        "outgoing": outgoing,
        "previous_email": "alice@example.test",
    }
    change.update(extra)
    return life((0, change))


def test_previous_email_keeps_the_keys_and_moves_the_folder_uris():
    first = tb.plan_profile(life(), None, LIFE_HAND)
    prefs = thunderbird_started(
        first,
        'user_pref("mail.identity.id1000.fcc_folder", "imap://alice%40example.test@mail.example.test/Sent");\n'
        'user_pref("mail.identity.id1000.draft_folder", "mailbox://nobody@Local%20Folders/Drafts");\n'
        'user_pref("mail.server.server1000.clientid", "abc");\n',
    )
    plan = tb.plan_profile(renamed_alice(), first.user_js, prefs)
    assert plan.keys["alice.new@example.test"] == tb.keys_for(1000)
    assert plan.renamed == {"alice.new@example.test": "alice@example.test"}
    assert plan.removed == []
    block = values(plan.user_js)
    assert block["mail.account.account1000.mailops_id"] == "alice.new@example.test"
    assert block["mail.identity.id1000.useremail"] == "alice.new@example.test"
    assert block["mail.server.server1000.userName"] == "alice.new@example.test"
    assert block["mail.smtpserver.smtp1000.username"] == "alice.new@example.test"
    after = values(plan.prefs_js)
    assert after["mail.identity.id1000.fcc_folder"] == "imap://alice.new%40example.test@mail.example.test/Sent"
    assert after["mail.identity.id1000.draft_folder"] == "mailbox://nobody@Local%20Folders/Drafts"
    assert "mail.server.server1000.clientid" not in after
    assert [m.describe() for m in plan.moves] == [
        {
            "id": "alice.new@example.test",
            "key": "server1000",
            "from": "imap://alice@example.test@mail.example.test",
            "to": "imap://alice.new@example.test@mail.example.test",
        },
        {
            "id": "alice.new@example.test",
            "key": "smtp1000",
            "from": "smtp://alice@example.test@mail.example.test",
            "to": "smtp://alice.new@example.test@mail.example.test",
        },
    ]
    again = tb.plan_profile(renamed_alice(), plan.user_js, plan.prefs_js)
    assert (again.user_js, again.prefs_js, again.moves, again.renamed) == (plan.user_js, None, [], {})


def test_a_changed_address_without_previous_email_is_a_remove_and_an_add():
    first = tb.plan_profile(life(), None, LIFE_HAND)
    plan = tb.plan_profile(renamed_alice(previous_email=None), first.user_js, thunderbird_started(first))
    assert plan.removed == ["alice@example.test"]
    assert plan.keys["alice.new@example.test"]["account"] == "account1003"  # never the removed account's keys
    assert not [n for n in values(plan.prefs_js) if ".account1000." in n or ".server1000." in n]
    assert plan.renamed == {} and plan.moves == []


def moved_alice(host="mail2.example.test"):
    change = {
        "incoming": dict(sample()[0]["incoming"], host=host),
        "outgoing": dict(sample()[0]["outgoing"], host=host),
    }
    return life((0, change))


def test_a_server_move_keeps_the_keys_and_moves_only_our_uris():
    first = tb.plan_profile(life(), None, LIFE_HAND)
    old = "imap://alice%40example.test@mail.example.test"
    extra = "".join(
        f"user_pref({tb.js_string(name)}, {tb.js_string(value)});\n"
        for name, value in [
            ("mail.identity.id1000.fcc_folder", old + "/Sent"),
            ("mail.identity.id1000.draft_folder", old + "/Drafts"),
            ("mail.identity.id1000.archive_folder", old),
            ("mail.identity.id1000.stationery_folder", old + "/Templates"),
            ("mail.identity.id1000.reply_to_folder", old + "/x"),  # not a folder pref Thunderbird migrates
            ("mail.server.server1000.spamActionTargetFolder", old + "/Junk"),
            ("mail.server.server1000.spamActionTargetAccount", old),
            ("mail.identity.id1001.fcc_folder", old + "10/Sent"),  # another host that only starts the same
            ("mail.identity.id1.archive_folder", old + "/Archive"),  # the hand-made identity: left alone
        ]
    )
    prefs = thunderbird_started(first, extra)
    plan = tb.plan_profile(moved_alice(), first.user_js, prefs)
    assert plan.keys["alice@example.test"] == tb.keys_for(1000) and plan.removed == []
    new = "imap://alice%40example.test@mail2.example.test"
    after = values(plan.prefs_js)
    assert after["mail.identity.id1000.fcc_folder"] == new + "/Sent"
    assert after["mail.identity.id1000.draft_folder"] == new + "/Drafts"
    assert after["mail.identity.id1000.archive_folder"] == new
    assert after["mail.identity.id1000.stationery_folder"] == new + "/Templates"
    assert after["mail.identity.id1000.reply_to_folder"] == old + "/x"
    assert after["mail.server.server1000.spamActionTargetFolder"] == new + "/Junk"
    assert after["mail.server.server1000.spamActionTargetAccount"] == new
    assert after["mail.identity.id1001.fcc_folder"] == old + "10/Sent"
    assert after["mail.identity.id1.archive_folder"] == old + "/Archive"
    assert plan.warnings == [
        "profile: mail.identity.id1.archive_folder (not managed by this collection) point into a server that "
        "moved; left alone, correct them in Thunderbird"
    ]
    # only the migrated lines changed
    changed = set(prefs.splitlines()) ^ set(plan.prefs_js.splitlines())
    assert all(".id1000." in line or ".server1000." in line for line in changed), changed
    assert [(m.key, m.old_origin, m.new_origin) for m in plan.moves] == [
        ("server1000", "imap://mail.example.test", "imap://mail2.example.test"),
        ("smtp1000", "smtp://mail.example.test", "smtp://mail2.example.test"),
    ]
    # smtp://mail.example.test is still alice's old name only; carol's and bob's SMTP use smtp.example.test
    assert "smtp://mail.example.test" not in plan.origins_in_use
    assert plan.origins_in_use["imap://mail2.example.test"] == {"server1000"}
    assert plan.origins_in_use["smtp://mail2.example.test"] == {"smtp1000"}
    assert plan.origins_in_use["imap://imap.elsewhere.test"] == {"server1"}
    again = tb.plan_profile(moved_alice(), plan.user_js, plan.prefs_js)
    assert (again.prefs_js, again.moves) == (None, [])


def test_a_changed_protocol_is_a_remove_and_an_add():
    first = tb.plan_profile(life(), None, LIFE_HAND)
    pop = dict(sample()[2]["incoming"], username="alice@example.test")
    accounts = life((0, {"incoming": pop, "pop3": {"leave_on_server": False, "delete_after_days": None}}))
    plan = tb.plan_profile(accounts, first.user_js, thunderbird_started(first))
    assert plan.keys["alice@example.test"]["account"] == "account1003"
    assert not [n for n in values(plan.prefs_js) if ".server1000." in n]
    assert plan.warnings == [
        "profile: account alice@example.test changes from imap to pop3; Thunderbird cannot change a server's type, "
        "so account1000 is removed and a new account added (its local folders, filters and folder settings do not "
        "carry over)"
    ]


def test_server_uris_use_thunderbirds_escaping():
    assert (
        tb.server_uris("imap", "a b+c@x.test", "h.test")
        == [
            "imap://a%20b%2Bc%40x.test@h.test",
            "imap://a%20b%2Bc%40x.test@h.test",
        ][:1]
    )
    assert tb.server_uris("mailbox", "o'k@x.test", "h.test") == [
        "mailbox://o%27k%40x.test@h.test",
        "mailbox://o'k%40x.test@h.test",
    ]


def move(host_from="old.test", host_to="new.test", user_from="u@x.test", user_to="u@x.test", store="imap"):
    return tb.ServerMove("u@x.test", "server1000", "incoming", store, host_from, host_to, user_from, user_to)


LOGINS = {
    "nextId": 4,
    "logins": [
        {"id": 1, "hostname": "imap://old.test", "httpRealm": "imap://old.test", "formSubmitURL": None,
         "encryptedUsername": "MDIE", "encryptedPassword": "MDoE", "guid": "{a}", "encType": 1},
        {"id": 2, "hostname": "smtp://old.test", "httpRealm": "smtp://old.test", "formSubmitURL": None,
         "encryptedUsername": "MDIF", "encryptedPassword": "MDoF", "guid": "{b}", "encType": 1},
        {"id": 3, "hostname": "https://web.test", "httpRealm": None, "formSubmitURL": "https://web.test",
         "encryptedUsername": "MDIG", "encryptedPassword": "MDoG", "guid": "{c}", "encType": 1},
    ],
    "potentiallyVulnerablePasswords": [],
    "dismissedBreachAlertsByLoginGUID": {},
    "version": 3,
}  # fmt: skip


def test_logins_follow_a_moved_host_and_keep_their_encrypted_fields():
    text = json.dumps(LOGINS, separators=(",", ":"))
    new, moved, warnings = tb.migrate_logins(text, [move()], {"imap://new.test": {"server1000"}})
    assert (moved, warnings) == ([("imap://old.test", "imap://new.test", 1)], [])
    expected = text.replace(
        '"imap://old.test","httpRealm":"imap://old.test"', '"imap://new.test","httpRealm":"imap://new.test"'
    )
    assert new == expected and new != text
    # the SMTP login moves with the SMTP server
    smtp = tb.ServerMove("u@x.test", "smtp1000", "outgoing", "smtp", "old.test", "new.test", "u", "u")
    assert json.loads(tb.migrate_logins(text, [smtp], {})[0])["logins"][1]["hostname"] == "smtp://new.test"
    assert "MDoE" not in tb.logins_summary(text) and "login 1: hostname=imap://old.test" in tb.logins_summary(text)


@pytest.mark.parametrize(
    ("moves", "in_use", "text", "warning"),
    [
        (
            [move(user_to="v@x.test")],
            {},
            None,
            "profile: u@x.test logs in as 'v@x.test' on new.test now; the saved password of imap://old.test cannot "
            "follow (logins.json keeps user names encrypted), Thunderbird asks for the password once",
        ),
        (
            [move()],
            {"imap://old.test": {"server7"}},
            None,
            "profile: another server still uses imap://old.test, so the saved password of u@x.test cannot be told "
            "apart (user names are encrypted) and stays; Thunderbird asks for it on new.test",
        ),
        (
            [move()],
            {},
            json.dumps(LOGINS, indent=2),
            "profile: logins.json is not in the form Thunderbird writes; the saved password of u@x.test "
            "(imap://old.test) was not moved to imap://new.test, Thunderbird asks for it",
        ),
    ],
)
def test_logins_that_cannot_be_moved_stay_with_a_warning(moves, in_use, text, warning):
    text = text or json.dumps(LOGINS, separators=(",", ":"))
    assert tb.migrate_logins(text, moves, in_use) == (None, [], [warning])


def test_a_login_already_saved_for_the_new_host_wins_unless_another_server_uses_that_host():
    data = json.loads(json.dumps(LOGINS))
    data["logins"][2]["hostname"] = "imap://new.test"
    text = json.dumps(data, separators=(",", ":"))
    assert tb.migrate_logins(text, [move()], {"imap://new.test": {"server1000"}}) == (None, [], [])
    moved = tb.migrate_logins(text, [move()], {"imap://new.test": {"server1000", "server1"}})[1]
    assert moved == [("imap://old.test", "imap://new.test", 1)]


FILTERS = (
    'version="9"\r\nlogging="no"\r\nname="to archive"\r\nenabled="yes"\r\ntype="17"\r\naction="Move to folder"\r\n'
    'actionValue="imap://u%40x.test@old.test/Archive"\r\naction="Copy to folder"\r\n'
    'actionValue="mailbox://nobody@Local%20Folders/Keep"\r\naction="Move to folder"\r\n'
    'actionValue="imap://u%40x.test@old.test.example/Other"\r\ncondition="AND (subject,contains,\\"x\\")"\r\n'
)


def test_filter_actions_follow_the_moved_server():
    new = tb.migrate_filter_rules(FILTERS, [move()])
    assert new == FILTERS.replace("@old.test/Archive", "@new.test/Archive")
    assert tb.migrate_filter_rules(new, [move()]) is None
    assert tb.migrate_filter_rules(None, [move()]) is None


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ('user_pref("mail.server.server1000.directory-rel", "[ProfD]ImapMail/old.test");', "ImapMail/old.test"),
        ('user_pref("mail.server.server1000.directory", "/home/a/p/ImapMail/old.test");', "ImapMail/old.test"),
        ('user_pref("mail.server.server1000.directory", "/elsewhere/ImapMail/old.test");', None),
        ('user_pref("mail.server.server1000.directory-rel", "[ProfD]../../etc");', None),
        ('user_pref("mail.server.server1000.directory-rel", "[ProfD]");', None),
        ("", None),
    ],
)
def test_server_directory_stays_inside_the_profile(lines, expected):
    assert tb.server_directory(lines + "\n", "server1000", "/home/a/p") == expected


def test_a_moved_uri_that_cannot_be_written_back_is_refused_by_file_and_line():
    first = tb.plan_profile(life(), None, LIFE_HAND)
    bad = surrogate_text(b"imap://alice%40example.test@mail.example.test/S\xffent")
    prefs = thunderbird_started(first, 'user_pref("mail.identity.id1000.fcc_folder", "' + bad + '");\n')
    line = prefs.splitlines().index('user_pref("mail.identity.id1000.fcc_folder", "' + bad + '");') + 1
    with pytest.raises(
        tb.ThunderbirdError,
        match=rf"^prefs\.js \(p\) line {line}: the value of mail\.identity\.id1000\.fcc_folder contains a NUL, a "
        r"lone surrogate or bytes that are not UTF-8, so the moved folder URI cannot be written; fix or remove that "
        r"line$",
    ):
        tb.plan_profile(moved_alice(), first.user_js, prefs, where=" (p)")

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Outlook rendering: .reg files parsed back byte for byte, Autodiscover XML structure, PRF, refusals, golden files."""

from __future__ import annotations

import copy
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import regfile
from ansible_collections.mailops.clients.plugins.plugin_utils import _outlook
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import normalize_accounts
from ansible_collections.mailops.clients.plugins.plugin_utils._outlook import (
    OutlookError,
    PrfError,
    RegFileError,
    RegValue,
    UnsupportedError,
    prf_value,
    reg_quote,
    render,
    render_reg,
    windows_items,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "outlook"
NS_R = "{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}"
NS_O = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"
AD_KEY = "HKEY_CURRENT_USER\\Software\\Microsoft\\Office\\16.0\\Outlook\\AutoDiscover"
SETUP_KEY = "HKEY_CURRENT_USER\\Software\\Microsoft\\Office\\16.0\\Outlook\\Setup"
WIN = "C:\\ProgramData\\mailops.clients\\outlook"

SERVERS = {
    "example": {
        "incoming": {"protocol": "imap", "host": "mail.example.test", "security": "tls"},
        "outgoing": {"host": "mail.example.test", "security": "starttls"},
    },
    "work": {
        "incoming": {
            "protocol": "imap",
            "host": "imap.work.test",
            "security": "starttls",
            "auth": "password-encrypted",
        },
        "outgoing": {"host": "smtp.work.test", "security": "starttls", "auth": "password-encrypted"},
    },
    "pop": {
        "incoming": {"protocol": "pop3", "host": "pop.example.test", "security": "tls", "auth": "ntlm"},
        "outgoing": {"host": "relay.example.test", "port": 25, "security": "none", "auth": "none"},
    },
    "cloud": {
        "incoming": {"protocol": "imap", "host": "imap.cloud.test", "auth": "oauth2"},
        "outgoing": {"host": "smtp.cloud.test", "auth": "oauth2"},
    },
}


def sample_inventory():
    """Five accounts, four users (one shared): every auth Outlook can express, one oauth2, one CRAM-MD5."""
    raw = [
        {
            "email": "alice@example.test",
            "server": "example",
            "user": "alice",
            "display_name": "Alice Example",
            "password": "alice-lab-pw-1",
            "check_interval_minutes": 10,
        },
        {"email": "alice@work.test", "server": "work", "user": "alice", "username": "alice", "password": "work-pw"},
        {
            "email": "bob@example.test",
            "server": "pop",
            "user": "bob",
            "username": "EXAMPLE\\bob",
            "display_name": 'Bob "Bobby" Beispiel-Grüße',
            "reply_to": "replies@example.test",
            "pop3": {"leave_on_server": True, "delete_after_days": 14},
        },
        {"email": "info@example.test", "server": "example"},
        {"email": "carol@cloud.test", "server": "cloud", "user": "carol", "oauth2": {"issuer": "i.test", "scope": "m"}},
    ]
    return normalize_accounts(raw, SERVERS, "win1")


SAMPLE_OPTIONS = {
    "prf": True,
    "profile_registry": True,
    "profile_registry_subkeys": {"alice@example.test": "00000002", "bob@example.test": "0000000A"},
    "prf_backup_profile": False,
    "unsupported": "skip",
}


def simple(**overrides):
    raw = {"email": "alice@example.test", "server": "example", "user": "alice"}
    raw.update(overrides)
    return normalize_accounts([raw], SERVERS, "win1")


def golden_name(out):
    # .bin keeps ansible-test's text checks (CRLF line endings) off the byte-exact PRF and .reg files
    return out.path + (".bin" if out.kind in ("prf", "reg") else "")


def read_prf(data: bytes) -> dict:
    """Read a PRF the way GetPrivateProfileString reads an INI file (the model behind prf_value)."""
    if data.startswith(b"\xff\xfe"):
        text = data[2:].decode("utf-16-le")
    else:
        text = data.decode("ascii")
    assert text.endswith("\r\n")
    sections: dict = {}
    current = None
    for line in text[:-2].split("\r\n"):
        assert "\r" not in line and "\n" not in line
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, line
        key, sep, value = line.partition("=")
        assert sep, line
        value = value.strip(" \t")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        assert key.strip() not in current, f"duplicate {key}"
        current[key.strip()] = value
    return sections


def by_path(result):
    return {f.path: f for f in result.files}


# --- golden files ---------------------------------------------------------------------------------


def test_golden_sample():
    result = render(sample_inventory(), SAMPLE_OPTIONS)
    assert [f.path for f in result.files] == [
        "alice/autodiscover/example.test.xml",
        "alice/autodiscover/work.test.xml",
        "alice/mailops-outlook.prf",
        "alice/mailops-outlook.reg",
        "bob/autodiscover/example.test.xml",
        "bob/mailops-outlook.prf",
        "bob/mailops-outlook.reg",
        "shared/autodiscover/example.test.xml",
        "shared/mailops-outlook.prf",
        "shared/mailops-outlook.reg",
    ]
    if os.environ.get("MAILOPS_UPDATE_GOLDEN") == "1":
        for out in result.files:
            (GOLDEN / golden_name(out)).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / golden_name(out)).write_bytes(out.content)
    for out in result.files:
        assert out.content == (GOLDEN / golden_name(out)).read_bytes(), out.path
    on_disk = sorted(str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*") if p.is_file())
    assert on_disk == sorted(golden_name(f) for f in result.files)


def test_golden_sample_is_byte_identical_when_rendered_again():
    first = [f.content for f in render(sample_inventory(), SAMPLE_OPTIONS).files]
    second = [f.content for f in render(copy.deepcopy(sample_inventory()), dict(SAMPLE_OPTIONS)).files]
    assert first == second


def test_golden_sample_warnings_notes_and_skips():
    result = render(sample_inventory(), SAMPLE_OPTIONS)
    oauth = (
        "incoming auth oauth2: classic Outlook offers OAuth 2.0 for IMAP/POP only to providers it knows itself; "
        "neither the Autodiscover XML, a PRF nor the profile registry can request it or name an issuer; outgoing "
        "auth oauth2: classic Outlook offers OAuth 2.0 for IMAP/POP only to providers it knows itself; neither the "
        "Autodiscover XML, a PRF nor the profile registry can request it or name an issuer"
    )
    starttls_prf = (
        "incoming security starttls: a PRF has no documented setting for STARTTLS on the incoming server, and "
        "UseSSL=0 would let Outlook log in without TLS (the Autodiscover XML can express it)"
    )
    assert [(s["id"], s["mechanism"]) for s in result.skipped] == [
        ("alice@work.test", "prf"),
        ("alice@work.test", "profile_registry"),
        ("carol@cloud.test", "autodiscover"),
        ("carol@cloud.test", "prf"),
        ("carol@cloud.test", "profile_registry"),
    ]
    assert result.skipped[0]["reason"] == starttls_prf
    assert result.skipped[2]["reason"] == oauth
    assert result.warnings == [
        f"account alice@work.test: left out of the Outlook prf output: {starttls_prf}",
        "account alice@work.test: left out of the Outlook profile_registry output: incoming security starttls: the "
        "profile registry has no documented setting for STARTTLS on the incoming server, and UseSSL=0 would let "
        "Outlook log in without TLS (the Autodiscover XML can express it)",
        "account alice@work.test: auth password-encrypted (CRAM-MD5) has no Outlook setting; rendered as password "
        "authentication over TLS (Outlook chooses the SASL mechanism)",
        "account info@example.test: no profile registry values written: map it to the key of the account Outlook "
        "created (mailops_outlook_profile_registry_subkeys)",
        f"account carol@cloud.test: left out of the Outlook autodiscover output: {oauth}",
        f"account carol@cloud.test: left out of the Outlook prf output: {oauth}",
        f"account carol@cloud.test: left out of the Outlook profile_registry output: {oauth}",
    ]
    assert result.notes == [
        "account bob@example.test: POP3 leave-on-server is written to the PRF only; its profile registry value name "
        "is not confirmed",
        "passwords not written (alice@example.test, alice@work.test): Outlook keeps each password encrypted for the "
        "user with DPAPI, which only that user's session can produce; Outlook asks for it once",
        "check_interval_minutes not written (alice@example.test): Outlook schedules Send/Receive per profile, not "
        "per account",
    ]


def test_passwords_are_never_written_in_any_encoding():
    result = render(sample_inventory(), SAMPLE_OPTIONS)
    for secret in ("alice-lab-pw-1", "work-pw"):
        for out in result.files:
            for encoding in ("utf-8", "utf-16-le"):
                assert secret.encode(encoding) not in out.content, out.path
        assert secret not in repr(windows_items(result))
        assert secret not in repr(_outlook.reg_entries(result.registry))


# --- .reg: every value parses back byte for byte ------------------------------------------------


def test_every_reg_file_parses_back_to_the_intended_values():
    result = render(sample_inventory(), SAMPLE_OPTIONS)
    regs = [f for f in result.files if f.kind == "reg"]
    assert len(regs) == 3
    for out in regs:
        parsed = regfile.parse(out.content)
        intended = [v for v in result.registry if v.user == out.user]
        assert len(parsed) == len(intended) > 0
        for got, want in zip(parsed, intended):
            assert (got.key, got.name, got.type) == (want.key, want.name, want.type)
            if want.type == "REG_BINARY":
                assert isinstance(got.data, bytes)
                assert got.data == want.data
            else:
                assert got.data == want.data
                assert type(got.data) is type(want.data)


def test_reg_file_framing_is_what_regedit_writes():
    out = by_path(render(simple(), {}))["alice/mailops-outlook.reg"]
    assert out.content[:2] == b"\xff\xfe"
    text = out.content[2:].decode("utf-16-le")
    assert text == (
        "Windows Registry Editor Version 5.00\r\n"
        "\r\n"
        f"[{AD_KEY}]\r\n"
        '"example.test"="C:\\\\ProgramData\\\\mailops.clients\\\\outlook\\\\alice\\\\autodiscover\\\\example.test.xml"\r\n'
        '"PreferLocalXML"=dword:00000001\r\n'
        '"ExcludeExplicitO365Endpoint"=dword:00000001\r\n'
        "\r\n"
    )


def test_profile_registry_values_are_utf16le_nul_terminated_and_dwords():
    result = render(sample_inventory(), SAMPLE_OPTIONS)
    reg = regfile.as_dict(regfile.parse(by_path(result)["bob/mailops-outlook.reg"].content))
    key = (
        "HKEY_CURRENT_USER\\Software\\Microsoft\\Office\\16.0\\Outlook\\Profiles\\Outlook\\"
        "9375CFF0413111d3B88A00104B2A6676\\0000000a"
    )
    values = {name: (v.type, v.data) for name, v in reg[key].items()}
    assert values == {
        "Account Name": ("REG_BINARY", "bob@example.test".encode("utf-16-le") + b"\0\0"),
        "Display Name": ("REG_BINARY", 'Bob "Bobby" Beispiel-Grüße'.encode("utf-16-le") + b"\0\0"),
        "Email": ("REG_BINARY", "bob@example.test".encode("utf-16-le") + b"\0\0"),
        "POP3 Server": ("REG_BINARY", "pop.example.test".encode("utf-16-le") + b"\0\0"),
        "POP3 User": ("REG_BINARY", "EXAMPLE\\bob".encode("utf-16-le") + b"\0\0"),
        "POP3 Port": ("REG_DWORD", 995),
        "POP3 Use SSL": ("REG_DWORD", 1),
        "POP3 Use SPA": ("REG_DWORD", 1),
        "SMTP Server": ("REG_BINARY", "relay.example.test".encode("utf-16-le") + b"\0\0"),
        "SMTP Port": ("REG_DWORD", 25),
        "SMTP Use SSL": ("REG_DWORD", 0),
        "SMTP Secure Connection": ("REG_DWORD", 0),
        "SMTP Use Auth": ("REG_DWORD", 0),
        "SMTP Use SPA": ("REG_DWORD", 0),
    }


def test_utf16z_matches_the_reference_example():
    # imap.example.com as regedit exports a REG_BINARY of UTF-16LE text with its terminating NUL
    expected = "69,00,6d,00,61,00,70,00,2e,00,65,00,78,00,61,00,6d,00,70,00,6c,00,65,00,2e,00,63,00,6f,00,6d,00,00,00"
    line = _outlook.reg_value_line(RegValue(AD_KEY, "IMAP Server", "REG_BINARY", _outlook.utf16z("imap.example.com")))
    assert line == f'"IMAP Server"=hex:{expected}'
    assert len(_outlook.utf16z("imap.example.com")) == 34


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (RegValue(AD_KEY, "x", "REG_DWORD", -1), "REG_DWORD 'x' must be an integer from 0 to 4294967295"),
        (RegValue(AD_KEY, "x", "REG_DWORD", 2**32), "REG_DWORD 'x' must be an integer from 0 to 4294967295"),
        (RegValue(AD_KEY, "x", "REG_DWORD", True), "REG_DWORD 'x' must be an integer from 0 to 4294967295"),
        (RegValue(AD_KEY, "x", "REG_BINARY", "text"), "REG_BINARY 'x' must be bytes"),
        (
            RegValue(AD_KEY, "x", "REG_MULTI_SZ", []),
            "unknown registry value type 'REG_MULTI_SZ'; use one of REG_SZ, REG_DWORD, REG_BINARY, delete",
        ),
        (RegValue("HKCU\\Software", "x", "REG_SZ", "y"), "every key must be below HKEY_CURRENT_USER"),
        (RegValue(AD_KEY + "\\a]b", "x", "REG_SZ", "y"), "a registry key path cannot contain U+005D in a .reg file"),
        (RegValue(AD_KEY + "\\\\b", "x", "REG_SZ", "y"), "a registry key path cannot contain an empty component"),
        (RegValue(AD_KEY, "x", "REG_SZ", "a\nb"), "a .reg string cannot contain U+000A (line break or NUL)"),
        (RegValue(AD_KEY, "x\0", "REG_SZ", "y"), "a .reg string cannot contain U+0000 (line break or NUL)"),
        (RegValue(AD_KEY, "x", "REG_SZ", "\ud800"), "a .reg string cannot contain the lone surrogate U+D800"),
    ],
)
def test_reg_writer_refuses_what_it_cannot_write(value, message):
    with pytest.raises(RegFileError, match="^" + re.escape(message) + "$"):
        render_reg([value])


def test_reg_writer_refuses_a_value_twice_in_a_key():
    values = [RegValue(AD_KEY, "PreferLocalXML", "REG_DWORD", 1), RegValue(AD_KEY, "preferlocalxml", "REG_DWORD", 0)]
    with pytest.raises(RegFileError, match=r"^value 'preferlocalxml' appears twice under HKEY_CURRENT_USER\\"):
        render_reg(values)


# --- the strict parser itself must be able to fail ---------------------------------------------


def _reg(text: str) -> bytes:
    return b"\xff\xfe" + text.encode("utf-16-le")


GOOD = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\A]\r\n"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (GOOD.encode("utf-16-le"), "missing UTF-16LE byte-order mark FF FE"),
        (_reg(GOOD.replace("5.00", "4.00")), "line 1: expected 'Windows Registry Editor Version 5.00'"),
        (_reg(GOOD + '"a"="b"'), "the file must end with CRLF"),
        (_reg(GOOD + '"a"="b"\n'), "the file must end with CRLF"),
        (_reg(GOOD + '"a"="b"\n\r\n'), "line 4: bare CR or LF"),
        (_reg(GOOD.replace("HKEY_CURRENT_USER", "HKCU")), "line 3: unknown or abbreviated root 'HKCU'"),
        (_reg(GOOD + '"a"="b\\c"\r\n'), "line 4: unknown escape sequence at column 7"),
        (_reg(GOOD + '"a"="b"c"\r\n'), "line 4: text after the closing quote"),
        (_reg(GOOD + '"a"="b\r\n'), "line 4: unterminated string"),
        (_reg(GOOD + '"a"=dword:1\r\n'), "line 4: dword needs exactly 8 lower-case hex digits, got '1'"),
        (_reg(GOOD + '"a"=dword:0000000A\r\n'), "line 4: dword needs exactly 8 lower-case hex digits, got '0000000A'"),
        (_reg(GOOD + '"a"=hex:0,00\r\n'), "line 4: bad hex byte '0' (want two lower-case hex digits)"),
        (_reg(GOOD + '"a"=hex:00,\\\r\n'), "line 4: continuation line missing"),
        (_reg(GOOD + '"a"="b"\r\n"A"="c"\r\n'), "line 5: value 'A' set twice in [HKEY_CURRENT_USER\\A]"),
        (_reg(GOOD.replace("[HKEY_CURRENT_USER\\A]\r\n", "") + '"a"="b"\r\n'), "line 3: value outside a key"),
        (_reg(GOOD + '"a"=str:"b"\r\n'), "line 4: unknown value data 'str:\"b\"'"),
        (_reg(GOOD + '"a" = "b"\r\n'), "line 4: expected '=' after the value name"),
    ],
)
def test_strict_parser_rejects(data, message):
    with pytest.raises(regfile.RegParseError, match="^" + re.escape(message) + "$"):
        regfile.parse(data)


def test_strict_parser_reads_continuations_and_defaults():
    data = _reg(GOOD + '@="d"\r\n"b"=hex:01,\\\r\n  02,03\r\n"c"=-\r\n"e"=hex(2):41,00,00,00\r\n')
    values = regfile.parse(data)
    assert [(v.name, v.type, v.data) for v in values] == [
        (None, "REG_SZ", "d"),
        ("b", "REG_BINARY", b"\x01\x02\x03"),
        ("c", "delete", None),
        ("e", "hex(2)", b"A\0\0\0"),
    ]


# --- hypothesis: the .reg escaping round trip ----------------------------------------------------

REG_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\0"), max_size=40)


@settings(max_examples=300, deadline=None)
@given(name=REG_TEXT, data=REG_TEXT)
def test_reg_quote_round_trips_through_the_strict_parser(name, data):
    parsed = regfile.parse(render_reg([RegValue(AD_KEY, name, "REG_SZ", data)]))
    assert [(v.name, v.type, v.data) for v in parsed] == [(name, "REG_SZ", data)]


@settings(max_examples=200, deadline=None)
@given(
    name=REG_TEXT,
    blob=st.binary(max_size=200),
    dword=st.integers(min_value=0, max_value=0xFFFFFFFF),
    text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
)
def test_binary_and_dword_values_round_trip(name, blob, dword, text):
    values = [
        RegValue(AD_KEY, name + "b", "REG_BINARY", blob),
        RegValue(AD_KEY, name + "d", "REG_DWORD", dword),
        RegValue(AD_KEY, name + "s", "REG_BINARY", _outlook.utf16z(text)),
        RegValue(AD_KEY, name + "x", "delete"),
    ]
    parsed = regfile.parse(render_reg(values))
    assert [v.data for v in parsed] == [blob, dword, _outlook.utf16z(text), None]
    assert parsed[2].data[:-2].decode("utf-16-le") == text


@given(text=st.text(max_size=10), bad=st.sampled_from("\r\n\0"))
def test_reg_quote_refuses_line_breaks_and_nul(text, bad):
    with pytest.raises(RegFileError, match=r"^a \.reg string cannot contain U\+00(0D|0A|00) \(line break or NUL\)$"):
        reg_quote(text + bad + text)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [("plain", '"plain"'), ('a"b', '"a\\"b"'), ("C:\\x", '"C:\\\\x"'), ('\\"', '"\\\\\\""'), ("", '""')],
)
def test_reg_quote_table(text, quoted):
    assert reg_quote(text) == quoted


# --- PRF ------------------------------------------------------------------------------------------

PRF_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\0"), max_size=30)


@settings(max_examples=300, deadline=None)
@given(text=PRF_TEXT)
def test_prf_value_round_trips_through_an_ini_reader(text):
    data = ("[S]\r\nKey=" + prf_value(text) + "\r\n").encode("utf-16-le")
    assert read_prf(b"\xff\xfe" + data) == {"S": {"Key": text}}


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("Alice", "Alice"),
        (" Alice", '" Alice"'),
        ("Alice\t", '"Alice\t"'),
        ('"Alice"', '""Alice""'),
        ("'x'", "\"'x'\""),
        ('"Alice', '"Alice'),
        ("a=b;c", "a=b;c"),
        ("", ""),
    ],
)
def test_prf_value_table(text, written):
    assert prf_value(text) == written


def test_prf_value_refuses_line_breaks():
    with pytest.raises(PrfError, match=r"^a PRF value cannot contain U\+000A \(line break or NUL\)$"):
        prf_value("a\nb")


def test_prf_sections_and_values():
    result = render(sample_inventory(), SAMPLE_OPTIONS)
    alice = read_prf(by_path(result)["alice/mailops-outlook.prf"].content)
    assert list(alice) == ["General", "Internet Account List", "Account1", "IMAP_I_Mail"]
    assert alice["General"] == {
        "Custom": "1",
        "ProfileName": "Outlook",
        "DefaultProfile": "Yes",
        "OverwriteProfile": "Append",
        "ModifyDefaultProfileIfPresent": "TRUE",
        "BackupProfile": "No",
    }
    assert alice["Internet Account List"] == {"Account1": "IMAP_I_Mail"}
    assert alice["Account1"] == {
        "UniqueService": "No",
        "AccountName": "alice@example.test",
        "DisplayName": "Alice Example",
        "EmailAddress": "alice@example.test",
        "IMAPServer": "mail.example.test",
        "IMAPUserName": "alice@example.test",
        "IMAPUseSPA": "0",
        "IMAPPort": "993",
        "IMAPUseSSL": "1",
        "SMTPServer": "mail.example.test",
        "SMTPPort": "587",
        "SMTPUseSSL": "0",
        "SMTPSecureConnection": "2",
        "SMTPUseAuth": "1",
        "SMTPAuthMethod": "0",
        "SMTPUseSPA": "0",
        "ConnectionType": "0",
    }
    # every key of [Account1] is mapped in the section 7 block (Outlook ignores unmapped keys)
    mapped = set(alice["IMAP_I_Mail"]) - {"AccountType"}
    assert set(alice["Account1"]) - {"UniqueService"} <= mapped
    assert alice["IMAP_I_Mail"]["AccountType"] == "IMAP"
    assert alice["IMAP_I_Mail"]["SMTPSecureConnection"] == "PT_LONG,0x020A"

    bob = read_prf(by_path(result)["bob/mailops-outlook.prf"].content)
    assert bob["Internet Account List"] == {"Account1": "I_Mail"}
    assert {k: bob["Account1"][k] for k in ("DisplayName", "POP3UserName", "POP3UseSPA", "ReplyEmailAddress")} == {
        "DisplayName": 'Bob "Bobby" Beispiel-Grüße',
        "POP3UserName": "EXAMPLE\\bob",
        "POP3UseSPA": "1",
        "ReplyEmailAddress": "replies@example.test",
    }
    assert bob["Account1"]["LeaveOnServer"] == str(0x1 | 0x2 | (14 << 16))
    assert (bob["Account1"]["SMTPUseAuth"], bob["Account1"]["SMTPSecureConnection"]) == ("0", "0")
    assert "SMTPAuthMethod" not in bob["Account1"]
    assert set(bob["Account1"]) - {"UniqueService"} <= set(bob["I_Mail"]) - {"AccountType"}
    assert "IMAP_I_Mail" not in bob


def test_prf_is_ascii_when_it_can_be_and_utf16_otherwise():
    result = render(sample_inventory(), SAMPLE_OPTIONS)
    alice = by_path(result)["alice/mailops-outlook.prf"].content
    bob = by_path(result)["bob/mailops-outlook.prf"].content
    assert alice.isascii() and b"\r\n" in alice and b"\n" not in alice.replace(b"\r\n", b"")
    assert bob.startswith(b"\xff\xfe")
    assert "Grüße".encode("utf-16-le") in bob


@pytest.mark.parametrize(
    ("security", "auth", "username", "expected"),
    [
        ("tls", "password", None, {"SMTPUseSSL": "1", "SMTPSecureConnection": "1", "SMTPAuthMethod": "0"}),
        ("starttls", "password", None, {"SMTPUseSSL": "0", "SMTPSecureConnection": "2", "SMTPAuthMethod": "0"}),
        ("tls", "ntlm", None, {"SMTPUseSPA": "1"}),
        ("tls", "password", "other", {"SMTPAuthMethod": "1", "SMTPUserName": "other"}),
        ("none", "none", None, {"SMTPUseSSL": "0", "SMTPSecureConnection": "0", "SMTPUseAuth": "0"}),
    ],
)
def test_prf_smtp_table(security, auth, username, expected):
    servers = {
        "s": {
            "incoming": {"protocol": "imap", "host": "h.test"},
            "outgoing": {"host": "h.test", "security": security, "auth": auth},
        }
    }
    accounts = normalize_accounts([{"email": "a@x.test", "server": "s", "user": "a"}], servers, "h")
    if username:
        accounts[0]["outgoing"]["username"] = username
    prf = read_prf(render(accounts, {"prf": True}).files[1].content)
    assert {k: prf["Account1"].get(k) for k in expected} == expected


def test_prf_import_registry_values_and_none():
    result = render(simple(), {"prf": True, "autodiscover": False})
    reg = regfile.parse(by_path(result)["alice/mailops-outlook.reg"].content)
    assert [(v.key, v.name, v.type, v.data) for v in reg] == [
        (SETUP_KEY, "ImportPRF", "REG_SZ", f"{WIN}\\alice\\mailops-outlook.prf"),
        (SETUP_KEY, "First-Run", "delete", None),
        (SETUP_KEY, "FirstRun", "delete", None),
    ]
    assert all(v.on_prf_change for v in result.registry)
    only_file = render(simple(), {"prf": True, "autodiscover": False, "prf_import": "none"})
    assert [f.path for f in only_file.files] == ["alice/mailops-outlook.prf"]


# --- Autodiscover XML -----------------------------------------------------------------------------

PROTOCOL_CHILDREN = [
    "Type",
    "Server",
    "Port",
    "DomainRequired",
    "LoginName",
    "SPA",
    "SSL",
    "Encryption",
    "AuthRequired",
]
ON_OFF = ("on", "off")


def check_pox(data: bytes) -> ET.Element:
    """Structure of a POX Autodiscover response for internet mail; returns the Account element."""
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n")
    root = ET.fromstring(data)  # noqa: S314  (our own output)
    assert root.tag == f"{NS_R}Autodiscover"
    assert [c.tag for c in root] == [f"{NS_O}Response"]
    response = root[0]
    tags = [c.tag for c in response]
    assert tags in ([f"{NS_O}User", f"{NS_O}Account"], [f"{NS_O}Account"])
    if tags[0] == f"{NS_O}User":
        assert [c.tag for c in response[0]] == [f"{NS_O}DisplayName"]
    account = response.find(f"{NS_O}Account")
    assert account.find(f"{NS_O}AccountType").text == "email"
    assert account.find(f"{NS_O}Action").text == "settings"
    protocols = account.findall(f"{NS_O}Protocol")
    assert [c.tag for c in account] == [f"{NS_O}AccountType", f"{NS_O}Action"] + [f"{NS_O}Protocol"] * 2
    assert [p.find(f"{NS_O}Type").text for p in protocols] in (["IMAP", "SMTP"], ["POP3", "SMTP"])
    for proto in protocols:
        children = [c.tag[len(NS_O) :] for c in proto]
        is_smtp = proto.find(f"{NS_O}Type").text == "SMTP"
        assert children == PROTOCOL_CHILDREN + (["UsePOPAuth"] if is_smtp else [])
        values = {c.tag[len(NS_O) :]: c.text for c in proto}
        assert 1 <= int(values["Port"]) <= 65535
        assert values["Server"]
        for flag in ("DomainRequired", "SPA", "SSL", "AuthRequired", "UsePOPAuth"):
            if flag in values:
                assert values[flag] in ON_OFF
        assert values["Encryption"] in ("None", "SSL", "TLS")
        # SSL must never say "off" while Encryption asks for TLS: a client that ignores Encryption fails closed
        assert (values["SSL"] == "off") == (values["Encryption"] == "None")
    return account


def test_every_autodiscover_file_has_the_pox_structure():
    result = render(sample_inventory(), SAMPLE_OPTIONS)
    xmls = [f for f in result.files if f.kind == "autodiscover"]
    assert len(xmls) == 4
    for out in xmls:
        check_pox(out.content)


def pox_values(result, path):
    account = check_pox(by_path(result)[path].content)
    return [{c.tag[len(NS_O) :]: c.text for c in p} for p in account.findall(f"{NS_O}Protocol")]


@pytest.mark.parametrize(
    ("security", "auth", "ssl", "encryption", "spa", "auth_required"),
    [
        ("tls", "password", "on", "SSL", "off", "on"),
        ("starttls", "password", "on", "TLS", "off", "on"),
        ("tls", "ntlm", "on", "SSL", "on", "on"),
        ("starttls", "password-encrypted", "on", "TLS", "off", "on"),
        ("none", "none", "off", "None", "off", "off"),
    ],
)
def test_autodiscover_mapping_table(security, auth, ssl, encryption, spa, auth_required):
    servers = {
        "s": {
            "allow_insecure": True,
            "incoming": {"protocol": "imap", "host": "h.test", "security": security, "auth": auth},
            "outgoing": {"host": "h.test", "security": security, "auth": auth},
        }
    }
    accounts = normalize_accounts([{"email": "a@x.test", "server": "s", "user": "a"}], servers, "h")
    incoming, outgoing = pox_values(render(accounts, {}), "a/autodiscover/x.test.xml")
    for proto in (incoming, outgoing):
        assert (proto["SSL"], proto["Encryption"], proto["SPA"], proto["AuthRequired"]) == (
            ssl,
            encryption,
            spa,
            auth_required,
        )
        assert (proto["LoginName"], proto["DomainRequired"]) == ("a@x.test", "off")
    assert outgoing["UsePOPAuth"] == ("off" if auth == "none" else "on")


def test_autodiscover_values_of_the_sample():
    result = render(sample_inventory(), SAMPLE_OPTIONS)
    pop, smtp = pox_values(result, "bob/autodiscover/example.test.xml")
    assert pop == {
        "Type": "POP3",
        "Server": "pop.example.test",
        "Port": "995",
        "DomainRequired": "off",
        "LoginName": "EXAMPLE\\bob",
        "SPA": "on",
        "SSL": "on",
        "Encryption": "SSL",
        "AuthRequired": "on",
    }
    assert (smtp["Port"], smtp["AuthRequired"], smtp["UsePOPAuth"], smtp["SSL"]) == ("25", "off", "off", "off")
    root = ET.fromstring(by_path(result)["bob/autodiscover/example.test.xml"].content)  # noqa: S314
    assert root.find(f"{NS_O}Response/{NS_O}User/{NS_O}DisplayName").text == 'Bob "Bobby" Beispiel-Grüße'


def test_autodiscover_registry_switches_and_policy_key():
    options = {
        "autodiscover_exclude": {"scp_lookup": True, "srv_record": False, "last_known_good_url": None},
        "autodiscover_prefer_local_xml": False,
        "autodiscover_policy_key": True,
    }
    reg = regfile.parse(by_path(render(simple(), options))["alice/mailops-outlook.reg"].content)
    policy = "HKEY_CURRENT_USER\\Software\\Policies\\Microsoft\\Office\\16.0\\Outlook\\AutoDiscover"
    assert [(v.key, v.name, v.data) for v in reg] == [
        (policy, "example.test", f"{WIN}\\alice\\autodiscover\\example.test.xml"),
        (policy, "PreferLocalXML", 0),
        (policy, "ExcludeScpLookup", 1),
        (policy, "ExcludeSrvRecord", 0),
    ]


def test_two_accounts_of_a_user_in_one_domain_share_a_file_only_with_equal_settings():
    # the inventory itself refuses one IMAP login twice on a host (Thunderbird); the renderer still checks
    first = simple(display_name="A")[0]
    second = copy.deepcopy(first)
    second.update(id="sales@example.test", email="sales@example.test", local_part="sales", display_name="Sales")
    result = render([first, second], {})
    assert [f.path for f in result.files] == ["alice/autodiscover/example.test.xml", "alice/mailops-outlook.reg"]
    assert result.files[0].accounts == ["alice@example.test", "sales@example.test"]
    assert b"<User>" not in result.files[0].content  # two display names: none is right for both
    second["incoming"]["username"] = "sales@example.test"
    with pytest.raises(
        OutlookError,
        match=r"^accounts alice@example\.test and sales@example\.test of user alice are both in domain example\.test "
        r"but need different server settings or user names; a local Autodiscover XML file is chosen by domain only\.",
    ):
        render([first, second], {})


def test_xml_refuses_control_characters():
    # the inventory refuses this before (test__inventory.py); the renderer still guards its own input
    accounts = simple()
    accounts[0]["display_name"] = "Alice\x07"
    with pytest.raises(
        OutlookError,
        match=r"^account alice@example\.test: display_name contains U\+0007, which XML cannot hold; remove control "
        r"characters$",
    ):
        render(accounts, {})


# --- refusals -------------------------------------------------------------------------------------


def test_oauth2_is_refused_with_the_reason():
    accounts = normalize_accounts(
        [{"email": "c@cloud.test", "server": "cloud", "oauth2": {"issuer": "i.test", "scope": "m"}}], SERVERS, "h"
    )
    with pytest.raises(UnsupportedError) as info:
        render(accounts, {})
    assert str(info.value) == (
        "account c@cloud.test: cannot be provisioned for Outlook (autodiscover): incoming auth oauth2: classic "
        "Outlook offers OAuth 2.0 for IMAP/POP only to providers it knows itself; neither the Autodiscover XML, a PRF "
        "nor the profile registry can request it or name an issuer; outgoing auth oauth2: classic Outlook offers "
        "OAuth 2.0 for IMAP/POP only to providers it knows itself; neither the Autodiscover XML, a PRF nor the "
        "profile registry can request it or name an issuer. Fix: change the server settings if the server offers "
        "another method, leave the account out (mailops_outlook_exclude: [c@cloud.test]) or skip what cannot be "
        "expressed (mailops_outlook_unsupported: skip)"
    )
    assert (info.value.account, info.value.field) == ("c@cloud.test", "auth")


@pytest.mark.parametrize(
    ("incoming", "options", "reason"),
    [
        (
            {"protocol": "imap", "host": "h.test", "auth": "gssapi"},
            {},
            "incoming auth gssapi: classic Outlook has no Kerberos/GSSAPI setting for IMAP, POP3 or SMTP accounts",
        ),
        (
            {"protocol": "imap", "host": "h.test", "security": "none", "auth": "password-encrypted"},
            {},
            "incoming auth password-encrypted without TLS: Outlook has no CRAM-MD5 setting and could send the password "
            "in clear text",
        ),
        (
            {"protocol": "pop3", "host": "h.test", "security": "starttls"},
            {"prf": True, "autodiscover": False},
            "incoming security starttls: a PRF has no documented setting for STARTTLS on the incoming server, and "
            "UseSSL=0 would let Outlook log in without TLS (the Autodiscover XML can express it)",
        ),
    ],
)
def test_unsupported_table(incoming, options, reason):
    servers = {"s": {"incoming": incoming, "outgoing": {"host": "h.test"}, "allow_insecure": True}}
    accounts = normalize_accounts([{"email": "a@x.test", "server": "s"}], servers, "h")
    with pytest.raises(UnsupportedError, match=": " + re.escape(reason) + r"\. Fix: "):
        render(accounts, options)
    skipped = render(accounts, dict(options, unsupported="skip"))
    assert skipped.files == []
    assert [s["reason"] for s in skipped.skipped] == [reason]


# --- options --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"prf_import": "gpo"}, "prf_import must be one of registry, none, got 'gpo'"),
        ({"colour": 1}, "unknown option(s) colour; valid options: "),
        ({"autodiscover": "yes"}, "autodiscover must be a boolean, got a string"),
        ({"autodiscover": False}, "nothing to render: enable at least one of autodiscover, prf, profile_registry"),
        ({"autodiscover_exclude": {"dns": True}}, "autodiscover_exclude: unknown switch(es) dns; valid: scp_lookup"),
        ({"profile_name": "a\\b"}, "profile_name 'a\\\\b' is not usable as an Outlook profile and registry key name"),
        ({"profile_registry_subkeys": {"a@x.test": "2"}}, "profile_registry_subkeys[a@x.test] must be the 8 hex"),
        ({"windows_dir": "%APPDATA%\\x"}, "windows_dir '%APPDATA%\\\\x' must be an absolute Windows path"),
        ({"windows_dir": "C:\\a:b"}, "windows_dir 'C:\\\\a:b' must be an absolute Windows path"),
        ({"windows_dir": "C:/x"}, "windows_dir 'C:/x' must be an absolute Windows path"),
        ({"windows_dir": "D:\\\\Mail"}, "windows_dir 'D:\\\\\\\\Mail' must be an absolute Windows path"),
    ],
)
def test_option_errors(options, message):
    with pytest.raises(OutlookError, match="^" + re.escape(message)):
        render(simple(), options)


def test_windows_dir_forms():
    for given_dir, expected in [("D:\\", "D:"), ("\\\\srv\\share\\o\\", "\\\\srv\\share\\o"), ("C:\\x", "C:\\x")]:
        result = render(simple(), {"windows_dir": given_dir})
        assert result.files[0].windows_path == f"{expected}\\alice\\autodiscover\\example.test.xml"


def test_user_labels_must_not_collide():
    raw = [
        {"email": "a@example.test", "server": "example", "user": "Alice"},
        {"email": "b@other.test", "server": "example", "user": "alice"},
    ]
    with pytest.raises(OutlookError, match=r"^users 'Alice' and 'alice' map to the same directory name 'alice'"):
        render(normalize_accounts(raw, SERVERS, "h"), {})


def test_profile_registry_refuses_one_subkey_for_two_accounts():
    raw = [
        {"email": "a@example.test", "server": "example", "user": "u"},
        {"email": "b@other.test", "server": "example", "user": "u"},
    ]
    options = {
        "profile_registry": True,
        "profile_registry_subkeys": {"a@example.test": "00000002", "b@other.test": "00000002"},
    }
    with pytest.raises(OutlookError, match=r"^accounts a@example\.test and b@other\.test of user u map to the same"):
        render(normalize_accounts(raw, SERVERS, "h"), options)


# --- what the role applies on Windows ------------------------------------------------------------


def test_windows_items_for_win_regedit_and_win_copy():
    accounts = simple(display_name="Alice")
    items = windows_items(
        render(
            accounts,
            {"prf": True, "profile_registry": True, "profile_registry_subkeys": {"alice@example.test": "00000002"}},
        )
    )
    assert items["files"] == [
        {
            "src": "alice/autodiscover/example.test.xml",
            "dest": f"{WIN}\\alice\\autodiscover\\example.test.xml",
            "dir": f"{WIN}\\alice\\autodiscover",
            "kind": "autodiscover",
            "user": "alice",
        },
        {
            "src": "alice/mailops-outlook.prf",
            "dest": f"{WIN}\\alice\\mailops-outlook.prf",
            "dir": f"{WIN}\\alice",
            "kind": "prf",
            "user": "alice",
        },
    ]
    ad = "HKCU:\\Software\\Microsoft\\Office\\16.0\\Outlook\\AutoDiscover"
    setup = "HKCU:\\Software\\Microsoft\\Office\\16.0\\Outlook\\Setup"
    profile = "HKCU:\\Software\\Microsoft\\Office\\16.0\\Outlook\\Profiles\\Outlook\\" + (
        "9375CFF0413111d3B88A00104B2A6676\\00000002"
    )
    got = [(i["path"], i["name"], i["type"], i["data"], i["state"], i["on_prf_change"]) for i in items["registry"]]
    assert got[:6] == [
        (ad, "example.test", "string", f"{WIN}\\alice\\autodiscover\\example.test.xml", "present", False),
        (ad, "PreferLocalXML", "dword", 1, "present", False),
        (ad, "ExcludeExplicitO365Endpoint", "dword", 1, "present", False),
        (setup, "ImportPRF", "string", f"{WIN}\\alice\\mailops-outlook.prf", "present", True),
        (setup, "First-Run", None, None, "absent", True),
        (setup, "FirstRun", None, None, "absent", True),
    ]
    assert got[6] == (
        profile,
        "Account Name",
        "binary",
        ",".join(f"{b:02x}" for b in _outlook.utf16z("alice@example.test")),
        "present",
        False,
    )
    assert {i["user"] for i in items["registry"]} == {"alice"}
    # every item is in the .reg file too, with the same data
    reg = regfile.parse(
        by_path(
            render(
                accounts,
                {"prf": True, "profile_registry": True, "profile_registry_subkeys": {"alice@example.test": "00000002"}},
            )
        )["alice/mailops-outlook.reg"].content
    )
    assert [("HKCU:" + v.key[len("HKEY_CURRENT_USER") :], v.name) for v in reg] == [
        (i["path"], i["name"]) for i in items["registry"]
    ]


# --- hypothesis: arbitrary names survive every format --------------------------------------------

XML_TEXT = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufffe\uffff"), min_size=1, max_size=30
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(display=XML_TEXT, username=XML_TEXT, host=XML_TEXT, user=XML_TEXT)
def test_arbitrary_unicode_survives_every_format(display, username, host, user):
    accounts = simple(display_name="x")
    account = accounts[0]
    account["display_name"] = display
    account["user"] = user
    for direction in ("incoming", "outgoing"):
        account[direction]["username"] = username
        account[direction]["host"] = host
    options = {"prf": True, "profile_registry": True, "profile_registry_subkeys": {"alice@example.test": "00000001"}}
    result = render(accounts, options)
    files = {f.kind: f for f in result.files}
    # .reg: every value back byte for byte
    parsed = regfile.parse(files["reg"].content)
    assert [(v.key, v.name, v.type, v.data) for v in parsed] == [
        (v.key, v.name, v.type, v.data) for v in result.registry
    ]
    values = {v.name: v.data for v in parsed}
    assert values["Display Name"] == display.encode("utf-16-le") + b"\0\0"
    assert values["IMAP User"] == username.encode("utf-16-le") + b"\0\0"
    assert values["SMTP Server"] == host.encode("utf-16-le") + b"\0\0"
    # XML: the same text
    incoming, outgoing = (
        {c.tag[len(NS_O) :]: c.text for c in p}
        for p in check_pox(files["autodiscover"].content).findall(f"{NS_O}Protocol")
    )
    assert (incoming["LoginName"], incoming["Server"], outgoing["Server"]) == (username, host, host)
    # PRF: the same text
    prf = read_prf(files["prf"].content)
    assert (prf["Account1"]["DisplayName"], prf["Account1"]["IMAPUserName"], prf["Account1"]["SMTPServer"]) == (
        display,
        username,
        host,
    )


def test_pop3_leave_on_server_without_the_prf_output_is_named_in_a_warning():
    pop = simple(email="bob@example.test", server="pop", pop3={"leave_on_server": True})
    assert render(pop, {"prf": False}).warnings == [
        "account bob@example.test: POP3 leave_on_server is not written: only the PRF output carries it (set the prf "
        "option, mailops_outlook_prf: true); Outlook applies its own default"
    ]
    assert render(pop, {"prf": True}).warnings == []


# --- lifecycle: removed accounts, renames, server moves ------------------------------------------

REMOVE = "alice/mailops-outlook-remove.reg"
PROFILE_KEY = (
    "HKEY_CURRENT_USER\\Software\\Microsoft\\Office\\16.0\\Outlook\\Profiles\\Outlook\\"
    "9375CFF0413111d3B88A00104B2A6676\\00000002"
)
TWO_DOMAINS = [
    {"email": "alice@example.test", "server": "example", "user": "alice"},
    {"email": "alice@other.test", "server": "example", "user": "alice"},
    {"email": "bob@example.test", "server": "example", "user": "bob"},
]


def absent(email, user=None):
    """An account with state: absent, normalized (its server may be gone: only email and user count)."""
    raw = {"email": email, "state": "absent", "server": "decommissioned"}
    if user:
        raw["user"] = user
    [account] = normalize_accounts([raw], SERVERS, "win1")
    return account


def present(raw):
    return normalize_accounts(raw, SERVERS, "win1")


def run_on(disk: dict, accounts, options=None):
    """Render with the .reg files on ``disk`` (relative path -> bytes) as the previous run left them, then write."""
    result = render(accounts, options or {}, dict(disk))
    disk.update({f.path: f.content for f in result.files})
    return result


def removal_lines(data: bytes) -> list:
    return [(v.key, v.name) for v in regfile.parse(data) if v.type == "delete"]


def test_parse_reg_reads_every_golden_reg_file_back():
    for path in GOLDEN.rglob("*.reg.bin"):
        values = _outlook.parse_reg(path.read_bytes(), path.name)
        assert _outlook.render_reg(values) == path.read_bytes()
        assert [(v.key, v.name, v.type) for v in values] == [
            (v.key, v.name, v.type) for v in regfile.parse(path.read_bytes())
        ]


GOOD_REG = by_path(render(simple(), {}))["alice/mailops-outlook.reg"].content


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (GOOD_REG[2:], "not UTF-16LE with a byte-order mark"),
        (GOOD_REG + b"\x00", "not UTF-16LE with a byte-order mark"),
        (GOOD_REG.replace("5.00".encode("utf-16-le"), "4.00".encode("utf-16-le")), "the first line is not"),
        (
            GOOD_REG.replace("dword:00000001".encode("utf-16-le"), "dword:1".encode("utf-16-le"), 1),
            "line 5: value data",
        ),
        (
            GOOD_REG.replace('"PreferLocalXML"'.encode("utf-16-le"), "PreferLocalXML".encode("utf-16-le")),
            "line 5: a quot",
        ),
        (GOOD_REG.replace(b"\r\x00\n\x00", b"\n\x00"), "the first line is not"),
        (GOOD_REG.replace("\r\n\r\n[".encode("utf-16-le"), "\r\n[".encode("utf-16-le")), "its layout differs"),
        (GOOD_REG + "; edited\r\n".encode("utf-16-le"), "line 8: a quoted string was expected"),
        (GOOD_REG + '"x"="y"\r\n'.encode("utf-16-le"), "its layout differs"),
        (_reg("Windows Registry Editor Version 5.00\r\n\r\n" + '"x"="y"\r\n'), "line 3: a value outside a key"),
    ],
)
def test_parse_reg_refuses_what_it_did_not_write(data, reason):
    with pytest.raises(
        RegFileError, match=r"^the previous a/mailops-outlook\.reg is not a \.reg file as mailops\."
    ) as e:
        _outlook.parse_reg(data, "the previous a/mailops-outlook.reg")
    assert reason in str(e.value)
    assert str(e.value).endswith(
        "cannot be known. Fix: restore it from its backup, or delete it (then values it set are not removed)"
    )


def test_absent_account_deletes_only_its_own_values_and_a_second_run_changes_nothing():
    disk: dict = {}
    first = run_on(disk, present(TWO_DOMAINS))
    assert REMOVE not in disk
    accounts = [*present(TWO_DOMAINS[:1] + TWO_DOMAINS[2:]), absent("alice@other.test", "alice")]
    second = run_on(disk, accounts)
    # the domain value goes; PreferLocalXML and the exclusion switch stay: alice@example.test still needs them
    assert removal_lines(disk[REMOVE]) == [(AD_KEY, "other.test")]
    assert [(r["key"], r["name"], r["type"], r["user"]) for r in _outlook.reg_entries(second.removals)] == [
        (AD_KEY, "other.test", "delete", "alice")
    ]
    assert by_path(second)[REMOVE].accounts == ["alice@other.test"]
    assert by_path(second)[REMOVE].kind == "reg-remove"
    assert "bob/mailops-outlook-remove.reg" not in disk
    assert any("accounts that Outlook already created from removed settings stay" in n for n in second.notes)
    # applying both files leaves exactly what the new .reg sets
    assert regfile.as_dict(regfile.parse(disk["alice/mailops-outlook.reg"]))[AD_KEY].keys() == {
        "example.test",
        "PreferLocalXML",
        "ExcludeExplicitO365Endpoint",
    }
    before = dict(disk)
    third = run_on(disk, accounts)
    assert disk == before
    assert [f.path for f in third.files] == [f.path for f in second.files]
    assert not any("stay in the Outlook profile" in n for n in third.notes)
    assert first.removals == []


def test_account_gone_from_the_inventory_removes_the_values_of_its_user():
    disk: dict = {}
    run_on(disk, present(TWO_DOMAINS))
    # bob left the inventory without state: absent: his previous .reg (found beside alice's) says what to remove
    result = run_on(disk, present(TWO_DOMAINS[:2]))
    assert removal_lines(by_path(result)["bob/mailops-outlook-remove.reg"].content) == [
        (AD_KEY, "example.test"),
        (AD_KEY, "ExcludeExplicitO365Endpoint"),
        (AD_KEY, "PreferLocalXML"),
    ]
    assert {v.user for v in result.removals} == {"bob"}
    assert [i["state"] for i in windows_items(result)["registry"] if i["user"] == "bob"] == ["absent"] * 3


def test_removal_tombstones_stay_until_the_value_is_written_again():
    disk: dict = {}
    run_on(disk, present(TWO_DOMAINS[:2]))
    run_on(disk, [*present(TWO_DOMAINS[:1]), absent("alice@other.test", "alice")])
    assert removal_lines(disk[REMOVE]) == [(AD_KEY, "other.test")]
    # an unrelated change later: the earlier removal is still in the file (a client that was offline)
    run_on(disk, present([dict(TWO_DOMAINS[0], display_name="A")]))
    assert removal_lines(disk[REMOVE]) == [(AD_KEY, "other.test")]
    # the account comes back: nothing is removed any more, and the removal file is emptied, not left behind
    back = run_on(disk, present(TWO_DOMAINS[:2]))
    assert removal_lines(disk[REMOVE]) == []
    assert by_path(back)[REMOVE].content == render_reg([])
    assert back.removals == []


def test_rename_and_server_move_change_values_in_place():
    options = {"profile_registry": True, "profile_registry_subkeys": {"alice@example.test": "00000002"}}
    disk: dict = {}
    run_on(disk, present([{"email": "alice@example.test", "server": "example", "user": "alice"}]), options)
    renamed = present(
        [
            {
                "email": "alice@new.test",
                "previous_email": "alice@example.test",
                "server": "pop",
                "user": "alice",
                "username": "alice",
            }
        ]
    )
    result = run_on(disk, renamed, options)
    reg = regfile.as_dict(regfile.parse(disk["alice/mailops-outlook.reg"]))
    # same Outlook account key (mapped by the previous address), new data
    assert reg[PROFILE_KEY]["Email"].data == _outlook.utf16z("alice@new.test")
    assert reg[PROFILE_KEY]["POP3 Server"].data == _outlook.utf16z("pop.example.test")
    # what the old settings wrote and the new do not: the old domain, the IMAP values, the SMTP login
    assert removal_lines(disk[REMOVE]) == [
        (AD_KEY, "example.test"),
        (PROFILE_KEY, "IMAP Port"),
        (PROFILE_KEY, "IMAP Secure Connection"),
        (PROFILE_KEY, "IMAP Server"),
        (PROFILE_KEY, "IMAP Use SPA"),
        (PROFILE_KEY, "IMAP Use SSL"),
        (PROFILE_KEY, "IMAP User"),
        (PROFILE_KEY, "SMTP User"),
    ]
    assert {v.mechanism for v in result.removals} == {"autodiscover", "profile_registry"}
    assert not (
        set(removal_lines(disk[REMOVE])) & {(v.key, v.name) for v in regfile.parse(disk["alice/mailops-outlook.reg"])}
    )


def test_values_of_an_outlook_account_key_are_not_deleted_when_its_account_is_gone():
    options = {"profile_registry": True, "profile_registry_subkeys": {"alice@example.test": "00000002"}}
    disk: dict = {}
    run_on(disk, present(TWO_DOMAINS), options)
    result = run_on(disk, [*present(TWO_DOMAINS[1:]), absent("alice@example.test", "alice")], options)
    assert removal_lines(disk[REMOVE]) == [(AD_KEY, "example.test")]
    assert (
        "user alice: Outlook account key(s) 00000002 of profile Outlook keep the values the profile registry mechanism "
        "wrote: Outlook created those accounts and only Outlook can remove them (File > Account Settings > Remove)"
    ) in result.notes


def test_switching_mechanisms_and_options_removes_what_is_no_longer_written():
    disk: dict = {}
    run_on(disk, present(TWO_DOMAINS[:1]), {"prf": True})
    policy = "HKEY_CURRENT_USER\\Software\\Policies\\Microsoft\\Office\\16.0\\Outlook\\AutoDiscover"
    run_on(disk, present(TWO_DOMAINS[:1]), {"autodiscover_policy_key": True})
    # the values moved to the policy key; ImportPRF goes with the PRF, First-Run/FirstRun were never set by us
    assert removal_lines(disk[REMOVE]) == [
        (AD_KEY, "example.test"),
        (AD_KEY, "ExcludeExplicitO365Endpoint"),
        (AD_KEY, "PreferLocalXML"),
        (SETUP_KEY, "ImportPRF"),
    ]
    assert {v.key for v in regfile.parse(disk["alice/mailops-outlook.reg"])} == {policy}


def test_shared_values_are_never_deleted_while_another_user_sets_them():
    raw = [
        {"email": "info@example.test", "server": "example"},
        {"email": "alice@example.test", "server": "example", "user": "alice"},
    ]
    disk: dict = {}
    run_on(disk, present(raw))
    result = run_on(disk, [*present(raw[1:]), absent("info@example.test")])
    # shared/ may be imported into alice's HKCU too: nothing alice still sets is deleted through it
    assert "shared/mailops-outlook-remove.reg" not in disk
    assert result.removals == []


def test_a_removal_file_that_sets_values_is_refused():
    disk: dict = {}
    run_on(disk, present(TWO_DOMAINS[:1]))
    disk[REMOVE] = disk["alice/mailops-outlook.reg"]
    with pytest.raises(RegFileError, match=r"^the previous alice/mailops-outlook-remove\.reg sets values; a removal"):
        render(present(TWO_DOMAINS[:1]), {}, disk)


def test_a_directory_without_a_known_user_gets_the_file_but_no_windows_items():
    label = _outlook.directory_name("Ωμέγα")
    assert re.fullmatch(r"x-[0-9a-f]{10}", label)
    disk = {f"{label}/mailops-outlook.reg": GOOD_REG}
    result = render(present(TWO_DOMAINS[2:]), {}, disk)
    assert removal_lines(by_path(result)[f"{label}/mailops-outlook-remove.reg"].content) == [
        (AD_KEY, "example.test"),
        (AD_KEY, "ExcludeExplicitO365Endpoint"),
        (AD_KEY, "PreferLocalXML"),
    ]
    assert result.removals == []
    assert any(w.startswith(f"user directory {label}: the registry values in") for w in result.warnings)


def test_registry_file_paths_name_present_and_absent_users():
    accounts = [*present(TWO_DOMAINS[:1]), absent("gone@example.test", "Bob Smith"), absent("x@example.test")]
    assert _outlook.registry_file_paths(accounts, {}) == [
        "alice/mailops-outlook.reg",
        "alice/mailops-outlook-remove.reg",
        "bob-smith/mailops-outlook.reg",
        "bob-smith/mailops-outlook-remove.reg",
        "shared/mailops-outlook.reg",
        "shared/mailops-outlook-remove.reg",
    ]


def test_windows_copies_of_files_no_longer_written_are_listed_for_removal():
    disk: dict = {}
    run_on(disk, present(TWO_DOMAINS[:2]), {"prf": True})
    result = run_on(disk, present(TWO_DOMAINS[:1]), {})
    assert windows_items(result)["removed_files"] == [
        {"dest": f"{WIN}\\alice\\autodiscover\\other.test.xml", "kind": "autodiscover", "user": "alice"},
        {"dest": f"{WIN}\\alice\\mailops-outlook.prf", "kind": "prf", "user": "alice"},
    ]
    # a new windows_dir: the values change in place, the old copies go
    moved = run_on(disk, present(TWO_DOMAINS[:1]), {"windows_dir": "D:\\Mail"})
    assert [f["dest"] for f in moved.removed_files] == [f"{WIN}\\alice\\autodiscover\\example.test.xml"]
    assert run_on(disk, present(TWO_DOMAINS[:1]), {"windows_dir": "D:\\Mail"}).removed_files == []


def test_only_paths_with_the_names_this_module_gives_are_listed():
    values = [
        RegValue(AD_KEY, "example.test", "REG_SZ", "C:\\Elsewhere\\example.test.xml"),
        RegValue(AD_KEY, "other.test", "REG_SZ", "C:\\X\\alice\\autodiscover\\other.test.xml"),
        RegValue(AD_KEY, "third.test", "REG_SZ", "relative\\alice\\autodiscover\\third.test.xml"),
        RegValue(AD_KEY, "PreferLocalXML", "REG_DWORD", 1),
        RegValue(SETUP_KEY, "ImportPRF", "REG_SZ", "C:\\X\\bob\\mailops-outlook.prf"),
    ]
    result = render(present(TWO_DOMAINS[2:]), {}, {"alice/mailops-outlook.reg": render_reg(values)})
    assert [f["dest"] for f in result.removed_files] == ["C:\\X\\alice\\autodiscover\\other.test.xml"]


def test_registry_file_paths_add_the_user_directories_of_files_written_before():
    listed = [
        "bob/mailops-outlook.reg",
        "carol/autodiscover/example.test.xml",
        "alice/mailops-outlook.prf",
        "../etc/mailops-outlook.reg",
        "dave/notes.txt",
    ]
    assert _outlook.registry_file_paths(present(TWO_DOMAINS[:1]), {}, listed=listed) == [
        "alice/mailops-outlook.reg",
        "alice/mailops-outlook-remove.reg",
        "bob/mailops-outlook.reg",
        "bob/mailops-outlook-remove.reg",
        "carol/mailops-outlook.reg",
        "carol/mailops-outlook-remove.reg",
    ]


@pytest.mark.parametrize(
    ("path", "ours"),
    [
        ("alice/mailops-outlook.reg", True),
        ("alice/mailops-outlook-remove.reg", True),
        ("shared/mailops-outlook.prf", True),
        ("alice/autodiscover/example.test.xml", True),
        ("alice/mailops-outlook.reg.2026-12-04@01:00:00~", False),
        ("mailops-outlook.reg", False),
        ("alice/autodiscover/x/y.xml", False),
        ("a/b/mailops-outlook.reg", False),
        ("../mailops-outlook.reg", False),
        (".hidden/mailops-outlook-remove.reg", False),
        ("alice/autodiscover/..xml", False),
    ],
)
def test_is_output_path_names_exactly_what_render_writes(path, ours):
    assert _outlook.is_output_path(path) is ours


def test_every_file_render_writes_has_an_output_path():
    disk: dict = {}
    run_on(disk, present(TWO_DOMAINS), {"prf": True})
    result = run_on(disk, [*present(TWO_DOMAINS[:1]), absent("alice@other.test", "alice")], {"prf": True})
    assert {f.kind for f in result.files} == {"autodiscover", "prf", "reg", "reg-remove"}
    assert all(_outlook.is_output_path(f.path) for f in result.files)

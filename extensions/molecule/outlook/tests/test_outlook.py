# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a user of mailops.clients.outlook would check before handing the files to Group Policy or Intune:
one directory per user on the controller with the Autodiscover XML Outlook reads, a PRF for
outlook.exe /importprf and a .reg file regedit imports (UTF-16LE with BOM, CRLF), readable modes, and no
inventory password anywhere."""

from __future__ import annotations

import configparser
import json
import xml.etree.ElementTree as ET

import pytest

NS = {
    "a": "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006",
    "o": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a",
}
WINDOWS_DIR = r"C:\\ProgramData\\mailops.clients\\outlook"  # as written in a .reg string (backslashes doubled)
# user directory: (email, incoming Type, its lab port, the SMTP lab port, SMTP Encryption)
ACCOUNTS = {
    "alice": ("alice@example.test", "IMAP", "imaps", "submissions", "SSL"),
    "bob": ("bob@example.test", "POP3", "pop3s", "submission", "TLS"),
    "shared": ("carol@example.test", "IMAP", "imaps", "submissions", "SSL"),  # account without an OS user
}
DIRS = sorted(ACCOUNTS)
FILES = ("autodiscover/example.test.xml", "mailops-outlook.prf", "mailops-outlook.reg")


@pytest.fixture(scope="module")
def output_dir(ephemeral_dir):
    return ephemeral_dir / "outlook"


@pytest.fixture(scope="module")
def host_dir(output_dir):
    hosts = sorted(path.name for path in output_dir.iterdir())
    assert hosts == ["mailops-outlook-client"]
    return output_dir / hosts[0]


MANIFEST = ".mailops-clients-outlook.json"  # what the role wrote, beside it (docs/lifecycle.md)


def test_one_directory_per_user_with_the_three_files(host_dir):
    assert sorted(path.relative_to(host_dir).as_posix() for path in host_dir.rglob("*") if path.is_file()) == sorted(
        [MANIFEST, *(f"{user}/{name}" for user in DIRS for name in FILES)]
    )
    manifest = json.loads((host_dir / MANIFEST).read_text(encoding="utf-8"))
    assert sorted(manifest["files"]) == sorted(f"{user}/{name}" for user in DIRS for name in FILES)


def test_modes_files_0644_directories_0755_manifest_0600(controller, output_dir):
    for path in [output_dir, *output_dir.rglob("*")]:
        entry = controller.file(str(path))
        expected = 0o755 if path.is_dir() else 0o600 if path.name == MANIFEST else 0o644
        assert (entry.user, entry.mode) == ("root", expected), path


def test_no_inventory_password_anywhere(output_dir, lab):
    files = [path for path in output_dir.rglob("*") if path.is_file()]
    assert len(files) == len(DIRS) * len(FILES) + 1  # and the manifest
    for path in files:
        data = path.read_bytes()
        for password in lab["users"].values():
            for encoding in ("utf-8", "utf-16-le"):
                assert password.encode(encoding) not in data, (path, encoding)


@pytest.mark.parametrize("user", DIRS)
def test_autodiscover_xml(host_dir, lab, user):
    email, incoming_type, port_name, smtp_port_name, smtp_encryption = ACCOUNTS[user]
    root = ET.parse(host_dir / user / "autodiscover" / "example.test.xml").getroot()  # noqa: S314  (our own file)
    assert root.tag == f"{{{NS['a']}}}Autodiscover"
    account = root.find("o:Response/o:Account", NS)
    assert (account.findtext("o:AccountType", namespaces=NS), account.findtext("o:Action", namespaces=NS)) == (
        "email",
        "settings",
    )
    keys = ("Type", "Server", "Port", "LoginName", "SPA", "SSL", "Encryption", "AuthRequired", "DomainRequired")
    protocols = [
        {key: protocol.findtext(f"o:{key}", namespaces=NS) for key in keys}
        for protocol in account.findall("o:Protocol", NS)
    ]
    common = {
        "Server": lab["hostname"],
        "LoginName": email,
        "SPA": "off",
        "AuthRequired": "on",
        "DomainRequired": "off",
    }
    assert protocols == [
        {**common, "Type": incoming_type, "Port": str(lab["ports"][port_name]), "SSL": "on", "Encryption": "SSL"},
        # STARTTLS: SSL stays on, Encryption TLS says how
        {
            **common,
            "Type": "SMTP",
            "Port": str(lab["ports"][smtp_port_name]),
            "SSL": "on",
            "Encryption": smtp_encryption,
        },
    ]


@pytest.mark.parametrize("user", DIRS)
def test_reg_file_utf16_bom_crlf(host_dir, user):
    data = (host_dir / user / "mailops-outlook.reg").read_bytes()
    assert data[:2] == b"\xff\xfe"
    text = data[2:].decode("utf-16-le")
    assert text.startswith("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\")
    assert text.endswith("\r\n\r\n")
    assert text.count("\n") == text.count("\r\n") and text.count("\r") == text.count("\r\n")
    lines = text.split("\r\n")
    assert "[HKEY_CURRENT_USER\\Software\\Microsoft\\Office\\16.0\\Outlook\\AutoDiscover]" in lines
    assert f'"example.test"="{WINDOWS_DIR}\\\\{user}\\\\autodiscover\\\\example.test.xml"' in lines
    assert '"PreferLocalXML"=dword:00000001' in lines
    assert f'"ImportPRF"="{WINDOWS_DIR}\\\\{user}\\\\mailops-outlook.prf"' in lines


@pytest.mark.parametrize("user", DIRS)
def test_prf_file(host_dir, lab, user):
    email, incoming_type, port_name, smtp_port_name, smtp_encryption = ACCOUNTS[user]
    data = (host_dir / user / "mailops-outlook.prf").read_bytes()
    text = data.decode("ascii")  # every value is ASCII here, so the PRF is ASCII with CRLF
    assert text.count("\n") == text.count("\r\n")
    prf = configparser.RawConfigParser(interpolation=None)
    prf.optionxform = str
    prf.read_string(text)
    assert prf["General"]["ProfileName"] == "Outlook"
    account = prf["Account1"]
    kind = incoming_type  # IMAP or POP3: the PRF keys are IMAPServer, POP3Server, ...
    assert {
        key: account.get(key)
        for key in ("EmailAddress", f"{kind}Server", f"{kind}UserName", f"{kind}Port", f"{kind}UseSSL", "SMTPPort")
    } == {
        "EmailAddress": email,
        f"{kind}Server": lab["hostname"],
        f"{kind}UserName": email,
        f"{kind}Port": str(lab["ports"][port_name]),
        f"{kind}UseSSL": "1",
        "SMTPPort": str(lab["ports"][smtp_port_name]),
    }
    assert account["SMTPSecureConnection"] == {"SSL": "1", "TLS": "2"}[smtp_encryption]


def test_bob_pop3_leaves_mail_on_the_server_14_days(host_dir):
    prf = configparser.RawConfigParser(interpolation=None)
    prf.optionxform = str
    prf.read_string((host_dir / "bob" / "mailops-outlook.prf").read_text(encoding="ascii"))
    assert int(prf["Account1"]["LeaveOnServer"]) == 0x1 | 0x2 | (14 << 16)


def test_carols_reply_to_in_the_shared_prf(host_dir):
    prf = configparser.RawConfigParser(interpolation=None)
    prf.optionxform = str
    prf.read_string((host_dir / "shared" / "mailops-outlook.prf").read_text(encoding="ascii"))
    assert prf["Account1"]["ReplyEmailAddress"] == "office@example.test"

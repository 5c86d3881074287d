# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a user of the default scenario (playbooks/provision.yml against the mailhost) would check: the
mailhost really serves the lab on 127.0.0.1 only, the client trusts the lab CA and reaches
mail.example.test, the verify report lists every mailhost endpoint and account of the inventory as OK,
and each client the host lists in mailops_clients got its files: Thunderbird and Apple Mail in the
users' homes on the client, Outlook's hand-off files on the controller."""

from __future__ import annotations

import json
import plistlib
import xml.etree.ElementTree as ET

import pytest

# The state after the scenario's lifecycle step (molecule.yml): bob was offboarded (state: absent) after the
# first converge, carol's mailbox moved from mail.example.test to localhost (the same lab, another name).
EXPECTED_ACCOUNTS = {"alice@example.test", "carol@example.test"}
OFFBOARDED = "bob"
# user: (incoming protocol, its lab port, the SMTP lab port, SMTP security code in Thunderbird, server host name)
USERS = {
    "alice": ("imap", "imaps", "submissions", 3, "mail.example.test"),
    "carol": ("imap", "imaps", "submissions", 3, "localhost"),
}
CLIENT_HOST = "mailops-default-client"


def expected_endpoints(lab: dict) -> set[str]:
    """The endpoint keys of the inventory in ../config.yml, with the ports the lab reported."""
    ports = lab["ports"]
    return {
        f"{protocol}://{host}:{ports[port]}/tls"
        for host in (lab["hostname"], "localhost")
        for protocol, port in (("imap", "imaps"), ("smtp", "submissions"))
    }


@pytest.fixture(scope="module")
def report_dir(ephemeral_dir):
    return ephemeral_dir / "verify-report"


@pytest.fixture(scope="module")
def report(report_dir) -> dict:
    return json.loads((report_dir / "mailops-verify.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def listening(mailhost) -> dict[int, set[str]]:
    """Port to the addresses with a TCP socket listening on it (/proc/net/tcp{,6}: the host's network)."""
    found: dict[int, set[str]] = {}
    for line in mailhost.check_output("cat /proc/net/tcp /proc/net/tcp6").splitlines():
        fields = line.split()
        if fields[0] == "sl" or fields[3] != "0A":  # a table's header; 0A: LISTEN
            continue
        address, hex_port = fields[1].split(":")
        if len(address) == 8:
            shown = ".".join(str(b) for b in reversed(bytes.fromhex(address)))
        else:
            shown = "::" if int(address, 16) == 0 else f"ipv6:{address}"
        found.setdefault(int(hex_port, 16), set()).add(shown)
    return found


def test_mailhost_runs_dovecot_and_postfix(mailhost):
    assert mailhost.process.filter(comm="dovecot"), "no dovecot process in the mailhost container"
    assert mailhost.process.filter(comm="master"), "no Postfix master process in the mailhost container"


def test_mailhost_listens_on_loopback_only(listening, lab):
    assert {name: listening.get(port) for name, port in lab["ports"].items()} == {
        name: {"127.0.0.1"} for name in lab["ports"]
    }


def test_client_trusts_the_lab_ca(client, stats, lab_ca_pem):
    ca = "/usr/local/share/ca-certificates/mailops-lab.crt"
    assert stats(client, ca)[ca] == ("regular file", "root", "root", 0o644)
    assert client.file(ca).content_string == lab_ca_pem
    assert client.file("/etc/ssl/certs/mailops-lab.pem").linked_to == "/usr/local/share/ca-certificates/mailops-lab.crt"


def test_client_reaches_imaps_by_name_with_verified_tls(client, lab):
    script = (
        "import socket, ssl, sys; port = int(sys.argv[1]); "
        "ctx = ssl.create_default_context(); "
        "s = ctx.wrap_socket(socket.create_connection(('mail.example.test', port), timeout=10), "
        "server_hostname='mail.example.test'); "
        "print(s.getpeername()[0], s.recv(200).decode().split()[1])"
    )
    out = client.check_output("python3 -c %s %s", script, str(lab["ports"]["imaps"]))
    assert out == "127.0.0.1 OK"


def test_client_has_the_account_users(client):
    entries = client.check_output("getent passwd alice bob carol").splitlines()
    assert [entry.split(":")[5] for entry in entries] == ["/home/alice", "/home/bob", "/home/carol"]


def test_report_files_written_on_the_controller(controller, report_dir):
    for name in ("mailops-verify.json", "mailops-verify.junit.xml"):
        report_file = controller.file(str(report_dir / name))
        assert report_file.is_file, name
        assert report_file.mode == 0o644, name


def test_report_lists_every_mailhost_endpoint_ok(report, lab):
    assert {ep["key"]: ep["verdict"] for ep in report["endpoints"]} == dict.fromkeys(expected_endpoints(lab), "ok")
    problems = [f for ep in report["endpoints"] for f in ep["findings"] if f["severity"] in ("error", "warning")]
    assert problems == []


def test_report_lists_every_account_ok_with_credentials(report):
    accounts = {acc["email"]: (acc["verdict"], acc["credentials"]) for acc in report["accounts"]}
    assert accounts == dict.fromkeys(EXPECTED_ACCOUNTS, ("ok", {"incoming": "ok", "outgoing": "ok"}))


def test_junit_report_has_no_failures(report_dir, lab):
    root = ET.parse(report_dir / "mailops-verify.junit.xml").getroot()  # noqa: S314  (our own report)
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert {name: (s.get("tests"), s.get("failures")) for name, s in suites.items()} == {
        "endpoints": ("4", "0"),
        "accounts": ("2", "0"),
    }
    assert {case.get("name") for case in suites["endpoints"].iter("testcase")} == expected_endpoints(lab)


# --- what the renderers wrote ---------------------------------------------------------------------------


@pytest.mark.parametrize("user", sorted(USERS))
def test_thunderbird_profile_created_for_the_user(client, stats, user):
    root = f"/home/{user}/.thunderbird"
    paths = {
        root: ("directory", 0o700),
        f"{root}/profiles.ini": ("regular file", 0o644),
        f"{root}/mailops.default": ("directory", 0o700),
        f"{root}/mailops.default/user.js": ("regular file", 0o600),
        f"{root}/mailops.default/prefs.js": ("regular file", 0o600),
    }
    found = stats(client, *paths)
    assert {path: (st.kind, st.user, st.mode) for path, st in found.items()} == {
        path: (kind, user, mode) for path, (kind, mode) in paths.items()
    }
    ini = client.file(f"{root}/profiles.ini").content_string
    assert "[Profile0]\nName=default\nIsRelative=1\nPath=mailops.default\nDefault=1\n" in ini


@pytest.mark.parametrize("user", sorted(USERS))
def test_thunderbird_prefs_point_at_the_mailhost(client, lab, prefs_of, user):
    protocol, port_name, smtp_port_name, try_ssl, host = USERS[user]
    prefs = prefs_of(client.file(f"/home/{user}/.thunderbird/mailops.default/user.js").content_string)
    server, smtp = "mail.server.server1000", "mail.smtpserver.smtp1000"
    assert (
        prefs[f"{server}.type"],
        prefs[f"{server}.hostname"],
        prefs[f"{server}.port"],
        prefs[f"{server}.socketType"],
        prefs[f"{server}.userName"],
        prefs[f"{smtp}.hostname"],
        prefs[f"{smtp}.port"],
        prefs[f"{smtp}.try_ssl"],
    ) == (
        protocol,
        host,
        lab["ports"][port_name],
        3,
        f"{user}@example.test",
        host,
        lab["ports"][smtp_port_name],
        try_ssl,
    )
    lists = prefs_of(client.file(f"/home/{user}/.thunderbird/mailops.default/prefs.js").content_string)
    # carol's move kept her account's keys (account1000, server1000, smtp1000)
    assert lists == {"mail.accountmanager.accounts": "account1000", "mail.smtpservers": "smtp1000"}


def test_thunderbird_offboarded_account_is_gone(client, prefs_of):
    profile = f"/home/{OFFBOARDED}/.thunderbird/mailops.default"
    block = prefs_of(client.file(f"{profile}/user.js").content_string)
    lists = prefs_of(client.file(f"{profile}/prefs.js").content_string)
    assert [name for name in block if name.startswith("mail.")] == []
    assert {name: value for name, value in lists.items() if "1000" in str(value) or "1000" in name} == {}


@pytest.mark.parametrize("user", sorted(USERS))
def test_apple_mail_profile_in_the_home_and_on_the_controller(client, stats, ephemeral_dir, lab, user):
    path = f"/home/{user}/Library/Application Support/mailops.clients/{user}.mobileconfig"
    found = stats(client, path)[path]
    assert (found.kind, found.user, found.mode) == ("regular file", user, 0o644)
    content = client.file(path).content
    assert (ephemeral_dir / "apple_mail" / CLIENT_HOST / f"{user}.mobileconfig").read_bytes() == content
    (payload,) = [p for p in plistlib.loads(content)["PayloadContent"] if p["PayloadType"] == "com.apple.mail.managed"]
    _protocol, port_name, smtp_port_name, _try_ssl, host = USERS[user]
    assert (
        payload["EmailAddress"],
        payload["IncomingMailServerHostName"],
        payload["IncomingMailServerPortNumber"],
        payload["OutgoingMailServerPortNumber"],
    ) == (f"{user}@example.test", host, lab["ports"][port_name], lab["ports"][smtp_port_name])


def test_apple_mail_offboarded_profile_is_gone(client, ephemeral_dir):
    home_dir = f"/home/{OFFBOARDED}/Library/Application Support/mailops.clients"
    assert not client.file(f"{home_dir}/{OFFBOARDED}.mobileconfig").exists
    assert not (ephemeral_dir / "apple_mail" / CLIENT_HOST / f"{OFFBOARDED}.mobileconfig").exists()
    manifest = json.loads((ephemeral_dir / "apple_mail" / CLIENT_HOST / ".mailops-clients-apple_mail.json").read_text())
    assert sorted(manifest["files"]) == sorted(f"{user}.mobileconfig" for user in USERS)


@pytest.mark.parametrize("user", sorted(USERS))
def test_outlook_files_on_the_controller(controller, ephemeral_dir, lab, user):
    user_dir = ephemeral_dir / "outlook" / CLIENT_HOST / user
    names = ("autodiscover/example.test.xml", "mailops-outlook.reg")
    # backups (name.<pid>.<date>@<time>~) of what the lifecycle step replaced are kept (mailops_outlook_backup)
    assert sorted(
        p.relative_to(user_dir).as_posix() for p in user_dir.rglob("*") if p.is_file() and not p.name.endswith("~")
    ) == sorted(names)
    for name in names:
        entry = controller.file(str(user_dir / name))
        assert (entry.user, entry.mode) == ("root", 0o644), name
    protocol, port_name, smtp_port_name, _try_ssl, host = USERS[user]
    ns = {"o": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"}
    root = ET.parse(user_dir / "autodiscover" / "example.test.xml").getroot()  # noqa: S314  (our own file)
    assert [
        (
            p.findtext("o:Type", namespaces=ns),
            p.findtext("o:Server", namespaces=ns),
            p.findtext("o:Port", namespaces=ns),
        )
        for p in root.iterfind("o:Response/o:Account/o:Protocol", ns)
    ] == [
        (protocol.upper(), host, str(lab["ports"][port_name])),
        ("SMTP", host, str(lab["ports"][smtp_port_name])),
    ]
    assert (user_dir / "mailops-outlook.reg").read_bytes()[:2] == b"\xff\xfe"


def test_outlook_offboarded_user_gets_only_a_removal_reg(ephemeral_dir):
    user_dir = ephemeral_dir / "outlook" / CLIENT_HOST / OFFBOARDED
    files = sorted(p.relative_to(user_dir).as_posix() for p in user_dir.rglob("*") if p.is_file())
    assert [name for name in files if not name.endswith("~")] == ["mailops-outlook-remove.reg"]
    # the removed files were backed up first (mailops_outlook_backup, the default)
    assert {name.rsplit(".", 2)[0] for name in files if name.endswith("~")} >= {
        "autodiscover/example.test.xml",
        "mailops-outlook.reg",
    }
    text = (user_dir / "mailops-outlook-remove.reg").read_bytes().decode("utf-16")
    assert text.startswith("Windows Registry Editor Version 5.00")  # UTF-16 with its BOM (decode drops it)
    assert "=-" in text

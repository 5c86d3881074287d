# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One fault at a time: the play recap, the JUnit report and the files on disk always tell the same story.

For each single fault, ``mailops.clients.provision`` runs on a small fleet of two hosts with one account each
(credential checks on, Apple Mail profiles rendered on the controller): ``good`` (the lab, right password) and
``faulty`` (the fault). Real servers throughout: the session mail lab, a Postfix whose submission port offers no
AUTH, a Dovecot whose certificate expired three days ago, a closed port, the lab's POP3S port declared as IMAP.

Asserted for every run: a non-zero exit status, and
hosts failed in the play recap == failed host/account testcases in the JUnit report == accounts without files.
"""

from __future__ import annotations

import datetime
import json
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from faultservers import broken_dovecot, issue_cert, lab_ca

pytestmark = [pytest.mark.lab, pytest.mark.slow]

PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
WRONG_PASSWORD = "not-carols-password-7"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def expired_dovecot(mail_lab):
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = issue_cert(
        *lab_ca(mail_lab),
        ["mail.example.test"],
        ["127.0.0.1"],
        not_before=now - datetime.timedelta(days=30),
        not_after=now - datetime.timedelta(days=3),
    )
    with broken_dovecot(mail_lab, server_cert=cert) as dovecot:
        yield dovecot


@pytest.fixture(scope="module")
def servers(mail_lab, noauth_postfix, expired_dovecot):
    p = mail_lab.ports
    imaps = {"protocol": "imap", "host": "127.0.0.1", "port": p["imaps"]}
    submissions = {"host": "127.0.0.1", "port": p["submissions"]}
    return {
        "lab": {"incoming": imaps, "outgoing": submissions},
        "noauth": {
            "incoming": imaps,
            "outgoing": {"host": "127.0.0.1", "port": noauth_postfix.ports["submission"], "security": "starttls"},
        },
        "refused": {"incoming": imaps, "outgoing": {"host": "127.0.0.1", "port": _closed_port()}},
        "expired": {
            "incoming": {"protocol": "imap", "host": "127.0.0.1", "port": expired_dovecot.ports["imaps"]},
            "outgoing": submissions,
        },
        # the lab's POP3S port, declared as IMAP over implicit TLS
        "wrongproto": {
            "incoming": {"protocol": "imap", "host": "127.0.0.1", "port": p["pop3s"]},
            "outgoing": submissions,
        },
    }


def _faulty(fault: str, password: str) -> tuple[dict, list[str]]:
    """The faulty host's account and clients for one fault."""
    account = {"email": "carol@example.test", "server": "lab", "password": password}
    clients = ["apple_mail"]
    if fault == "wrong-password":
        account["password"] = WRONG_PASSWORD
    elif fault in ("noauth", "refused", "expired", "wrongproto"):
        account["server"] = fault
    elif fault == "key-typo":
        account["sever"] = account.pop("server")
    elif fault == "unknown-client":
        clients = ["apple_mail", "outlok"]
    return account, clients


FAULTS = ["wrong-password", "noauth", "refused", "expired", "wrongproto", "key-typo", "unknown-client"]


@pytest.mark.parametrize("fault", FAULTS)
def test_one_fault_fails_exactly_its_host_in_recap_reports_and_files(
    fault, mail_lab, noauth_postfix, servers, tmp_path, ansible_env
):
    inventory, reports, out = tmp_path / "inventory", tmp_path / "reports", tmp_path / "out"
    (inventory / "host_vars").mkdir(parents=True)
    group_vars = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "mailops_servers": servers,
        "mailops_verify_credentials": True,
        "mailops_verify_report_dir": str(reports),
        "mailops_verify_suggest": False,  # no discovery (did you mean): the lab's domains are not in the real DNS
        # Dovecot delays the answer to a failed login (auth penalty): a timeout above it keeps it auth_failed
        "mailops_verify_options": {"ca_path": mail_lab.ca_path, "timeout": 20},
        "mailops_verify_endpoint_options": {
            f"smtp://127.0.0.1:{noauth_postfix.ports['submission']}/starttls": {"ca_path": noauth_postfix.ca_path}
        },
        "mailops_apple_mail_output_dir": str(out),
    }
    account, clients = _faulty(fault, mail_lab.users["carol@example.test"])
    host_vars = {
        "good": {
            "mailops_clients": ["apple_mail"],
            "mailops_accounts": [
                {"email": "alice@example.test", "server": "lab", "password": mail_lab.users["alice@example.test"]}
            ],
        },
        "faulty": {"mailops_clients": clients, "mailops_accounts": [account]},
    }
    (inventory / "hosts.yml").write_text(json.dumps({"all": {"vars": group_vars, "hosts": dict.fromkeys(host_vars)}}))
    for host, data in host_vars.items():
        (inventory / "host_vars" / f"{host}.yml").write_text(json.dumps(data))

    result = subprocess.run(
        [str(PLAYBOOK), "-i", str(inventory), "mailops.clients.provision"],
        env=ansible_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-4000:]

    recap_failed = {m[1] for m in RECAP.finditer(result.stdout) if int(m[4]) + int(m[5])}
    junit = ET.parse(reports / "mailops-verify.junit.xml").getroot()  # noqa: S314 (our own report)
    cases = [
        case
        for suite in junit.iter("testsuite")
        if suite.get("name") in ("accounts", "hosts")
        for case in suite.iter("testcase")
    ]
    # one testcase per host and account (hosts that failed before verification: one per host)
    hosts_of_cases = sorted(
        c.get("classname").rsplit(".", 1)[1] if "account" in c.get("classname") else c.get("name") for c in cases
    )
    assert hosts_of_cases == ["faulty", "good"], ET.tostring(junit, encoding="unicode")
    junit_failed = {
        c.get("classname").rsplit(".", 1)[1] if "account" in c.get("classname") else c.get("name")
        for c in cases
        if c.find("failure") is not None
    }
    without_files = {host for host in host_vars if not list((out / host).rglob("*.mobileconfig"))}

    assert recap_failed == junit_failed == without_files == {"faulty"}, output[-4000:]
    assert int(junit.get("failures")) >= 1
    report = json.loads((reports / "mailops-verify.json").read_text())
    assert report["summary"]["verdict"] == "error"
    # the secret the faulty host carries is never printed
    assert WRONG_PASSWORD not in output
    assert mail_lab.users["carol@example.test"] not in output

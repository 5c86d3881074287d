# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One rule for "verified": with credential checks on, a login that failed or could not be checked blocks.

Three hosts through the playbooks users run (``mailops.clients.verify`` for CI, ``mailops.clients.provision``),
one account each, against real servers:

* ``good``: the session lab (IMAPS + submissions), right password;
* ``noauth``: IMAPS of the lab, SMTP submission (STARTTLS) of a second, real Postfix whose submission port has
  ``smtpd_sasl_auth_enable = no`` (no AUTH in the EHLO reply): the login cannot be checked;
* ``wrongpw``: the lab with a wrong password.

Asserted: the exit status, the verdict lines, the JSON and JUnit reports, and the profiles on disk (none for
an account that did not verify).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.slow]

PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


class Fleet:
    def __init__(self, root: Path, lab, noauth, env):
        self.root, self.lab, self.env = root, lab, env
        self.inventory = root / "inventory"
        self.reports = root / "reports"
        self.out = root / "out"
        p = lab.ports
        self.imap = f"imap://127.0.0.1:{p['imaps']}/tls"
        self.smtp = f"smtp://127.0.0.1:{p['submissions']}/tls"
        self.noauth = f"smtp://127.0.0.1:{noauth.ports['submission']}/starttls"
        imaps = {"protocol": "imap", "host": "127.0.0.1", "port": p["imaps"]}
        group_vars = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "mailops_verify_credentials": True,
            "mailops_verify_report_dir": str(self.reports),
            "mailops_verify_suggest": False,  # no discovery (did you mean): the lab's domains are not in the real DNS
            # Dovecot delays the answer to a failed login more after each failure from one address (auth penalty,
            # up to 15 s): a timeout above that keeps the wrong password an auth_failed, not a command_timeout
            "mailops_verify_options": {"ca_path": lab.ca_path, "timeout": 20},
            "mailops_verify_endpoint_options": {self.noauth: {"ca_path": noauth.ca_path}},
            "mailops_apple_mail_output_dir": str(self.out),
            "mailops_clients": ["apple_mail"],
            "mailops_servers": {
                "lab": {"incoming": imaps, "outgoing": {"host": "127.0.0.1", "port": p["submissions"]}},
                "noauth": {
                    "incoming": imaps,
                    "outgoing": {"host": "127.0.0.1", "port": noauth.ports["submission"], "security": "starttls"},
                },
            },
        }
        users = lab.users
        self.hosts = {
            "good": {"email": "alice@example.test", "server": "lab", "password": users["alice@example.test"]},
            "noauth": {"email": "bob@example.test", "server": "noauth", "password": users["bob@example.test"]},
            "wrongpw": {"email": "carol@example.test", "server": "lab", "password": "not-carols-password-7"},
        }
        (self.inventory / "group_vars").mkdir(parents=True)
        (self.inventory / "host_vars").mkdir()
        (self.inventory / "hosts.yml").write_text(json.dumps({"clients": {"hosts": dict.fromkeys(self.hosts)}}))
        (self.inventory / "group_vars" / "all.yml").write_text(json.dumps(group_vars, indent=1))
        for host, account in self.hosts.items():
            (self.inventory / "host_vars" / f"{host}.yml").write_text(json.dumps({"mailops_accounts": [account]}))

    def run(self, playbook: str, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(PLAYBOOK), "-i", str(self.inventory), f"mailops.clients.{playbook}", *args]
        return subprocess.run(
            cmd, env=self.env, cwd=self.root, capture_output=True, text=True, timeout=300, check=False
        )

    def profiles(self, host: str) -> list[str]:
        return sorted(str(p.relative_to(self.out)) for p in (self.out / host).rglob("*.mobileconfig"))


def _failed(result) -> dict[str, int]:
    return {m[1]: int(m[5]) + int(m[4]) for m in RECAP.finditer(result.stdout)}


@pytest.fixture(scope="module")
def fleet(mail_lab, noauth_postfix, tmp_path_factory, ansible_env):
    return Fleet(tmp_path_factory.mktemp("verify-logins"), mail_lab, noauth_postfix, ansible_env)


@pytest.fixture(scope="module")
def verify_run(fleet):
    result = fleet.run("verify", "-e", f"mailops_verify_report_dir={fleet.reports}")
    return {
        "result": result,
        "report": json.loads((fleet.reports / "mailops-verify.json").read_text()),
        "junit": ET.parse(fleet.reports / "mailops-verify.junit.xml").getroot(),  # noqa: S314 (our own report)
    }


def test_verify_playbook_fails_the_hosts_whose_login_failed_or_could_not_be_checked(fleet, verify_run):
    result = verify_run["result"]
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr
    assert _failed(result) == {"good": 0, "noauth": 1, "wrongpw": 1}
    assert "mailops.clients.verify: 1 account(s) on noauth did not verify (bob@example.test):" in result.stdout
    # one refusal per line: ansible-core 2.19 prints the message in an [ERROR] line that must end with the head
    # line; older cores print only the JSON result, where a real newline is \n and a literal backslash-n \\n
    errors = [line for line in result.stdout.splitlines() if line.startswith("[ERROR]") and "on noauth " in line]
    assert all(line.endswith("did not verify (bob@example.test):") for line in errors), errors
    assert "did not verify (bob@example.test):\\\\n- " not in result.stdout
    assert (
        f"- credentials of bob@example.test (outgoing, user bob@example.test) could not be checked at {fleet.noauth} "
        "(auth_not_offered): [error] auth_not_offered (auth): the server offers no authentication"
    ) in result.stdout
    assert (
        f"- credentials of carol@example.test (incoming, user carol@example.test) rejected by {fleet.imap}: "
        "[error] auth_failed (auth): "
    ) in result.stdout


def test_verdict_lines_show_account_outcomes(fleet, verify_run):
    lines = re.findall(r'^\s+"((?:imap|smtp)://\S+: .*)",?$', verify_run["result"].stdout, re.M)
    assert sorted(lines) == sorted(
        [
            f"{fleet.imap}: error: 1 of 3 accounts: auth_failed (3 credentials checked)",
            f"{fleet.smtp}: error: 1 of 2 accounts: auth_failed (2 credentials checked)",
            f"{fleet.noauth}: error: 1 of 1 account: auth_not_offered",
        ]
    )


def test_reports_name_the_failed_accounts_and_the_reason(fleet, verify_run):
    accounts = {
        a["host"]: (a["verdict"], a["reasons"], a["credentials"], a["not_checked"])
        for a in verify_run["report"]["accounts"]
    }
    assert accounts == {
        "good": ("ok", [], {"incoming": "ok", "outgoing": "ok"}, {}),
        "noauth": (
            "error",
            ["auth_not_offered"],
            {"incoming": "ok", "outgoing": "not_checked"},
            {"outgoing": "auth_not_offered"},
        ),
        "wrongpw": ("error", ["auth_failed"], {"incoming": "failed", "outgoing": "failed"}, {}),
    }
    assert verify_run["report"]["summary"]["verdict"] == "error"
    junit = verify_run["junit"]
    cases = {
        c.get("classname").rsplit(".", 1)[1]: c
        for c in junit.iter("testcase")
        if c.get("classname").startswith("mailops.verify.account.")
    }
    messages = {
        host: (c.find("failure").get("message") if c.find("failure") is not None else None) for host, c in cases.items()
    }
    assert messages == {"good": None, "noauth": "auth_not_offered", "wrongpw": "auth_failed"}
    assert "the server offers no authentication on this connection" in cases["noauth"].find("failure").text


def test_provision_writes_no_profile_for_an_account_that_did_not_verify(fleet, verify_run):
    result = fleet.run("provision")
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr
    assert _failed(result) == {"good": 0, "noauth": 1, "wrongpw": 1}
    assert fleet.profiles("good"), result.stdout[-3000:]
    assert fleet.profiles("noauth") == []
    assert fleet.profiles("wrongpw") == []
    assert "apple_mail: refusing to render 1 account on noauth whose settings did not verify (bob@example.test)" in (
        result.stdout + result.stderr
    )


def test_happy_path_stays_green(fleet):
    reports = fleet.root / "reports-good"
    result = fleet.run("verify", "--limit", "good", "-e", f"mailops_verify_report_dir={reports}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert f"{fleet.imap}: ok (1 account, 1 credentials checked)" in result.stdout
    # a --limit run covers some hosts only: its reports are the partial ones
    report = json.loads((reports / "mailops-verify.partial.json").read_text())
    assert [(a["host"], a["verdict"]) for a in report["accounts"]] == [("good", "ok")]
    assert (report["partial"], report["summary"]["verdict"]) == ({"hosts": ["good"]}, "ok")

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The reports of mailops.clients.verify cover every host that was asked for, and a --limit run is partial.

No mail lab: ``fine`` has no accounts; ``badserver`` names an unknown server (inventory check), ``badkey`` has a
typo in an account key and ``typo`` an unknown client. Each of the three fails
before verification and must be a failed testcase with its message; the recap's failed hosts and the JUnit
failures agree. A ``--limit`` run writes ``mailops-verify.partial.*`` and leaves the fleet-wide reports alone.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
ACCOUNT = {"email": "a@example.test", "server": "example"}
HOSTS = {
    "fine": {"mailops_clients": ["outlook"]},
    "badserver": {"mailops_accounts": [{"email": "a@example.test", "server": "exmaple"}]},
    "badkey": {"mailops_accounts": [{"email": "a@example.test", "sever": "example"}]},
    "typo": {"mailops_clients": ["outlok"], "mailops_accounts": [ACCOUNT]},
}
MESSAGES = {
    "badserver": "host badserver, account a@example.test (mailops_accounts[0]), field server: unknown server "
    "'exmaple'; known servers: example. Fix: set server to one of the known names or define it in mailops_servers.",
    "badkey": "host badkey, account a@example.test (mailops_accounts[0]), field sever: unknown key 'sever' (did "
    "you mean server?). Fix: rename it to server, or remove it (known keys: email, server, incoming, outgoing, "
    "allow_insecure, timeout, display_name, username, user, password, oauth2, pop3, check_interval_minutes, "
    "signature, reply_to, roundtrip, state, previous_email).",
    "typo": 'host typo: mailops_clients: unknown client "outlok" (did you mean outlook?); valid names: apple_mail, '
    "outlook, thunderbird.",
}


@pytest.fixture
def run(tmp_path, ansible_env):
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    group = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "mailops_verify_suggest": False,  # no discovery (did you mean): the lab's domains are not in the real DNS
        # a closed port: nothing of the failed hosts may be probed (and fine has no accounts)
        "mailops_servers": {
            "example": {
                "incoming": {"protocol": "imap", "host": "127.0.0.1", "port": 9},
                "outgoing": {"host": "127.0.0.1", "port": 9},
            }
        },
    }
    (inventory / "hosts.yml").write_text(json.dumps({"all": {"vars": group, "hosts": HOSTS}}))

    def play(*args):
        cmd = [
            str(PLAYBOOK),
            "-i",
            str(inventory),
            "mailops.clients.verify",
            "-e",
            f"mailops_verify_report_dir={tmp_path / 'r'}",
        ]
        return subprocess.run(
            [*cmd, *args], env=ansible_env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
        )

    return play, tmp_path / "r"


def _junit_failures(path: Path) -> dict[str, str]:
    root = ET.parse(path).getroot()  # noqa: S314 (our own report)
    return {c.get("name"): c.find("failure").text for c in root.iter("testcase") if c.find("failure") is not None}


def test_hosts_that_fail_before_verification_are_failures_in_the_reports(run):
    play, reports = run
    result = play()
    assert result.returncode == 2, result.stdout + result.stderr
    failed = {m[1] for m in RECAP.finditer(result.stdout) if int(m[5])}
    assert failed == {"badserver", "badkey", "typo"}
    report = json.loads((reports / "mailops-verify.json").read_text())
    assert report["hosts"] == [{"host": h, "verdict": "error", "message": MESSAGES[h]} for h in sorted(MESSAGES)]
    assert (report["summary"]["verdict"], report["summary"]["hosts_failed"]) == ("error", 3)
    assert ":9/" not in result.stdout  # nothing of theirs was probed
    assert _junit_failures(reports / "mailops-verify.junit.xml") == MESSAGES  # recap failures == JUnit failures
    assert "partial" not in report


def test_a_limited_run_writes_partial_reports_and_keeps_the_fleet_reports(run):
    play, reports = run
    play()
    fleet = {name: (reports / name).read_bytes() for name in ("mailops-verify.json", "mailops-verify.junit.xml")}
    result = play("--limit", "fine,badkey")
    assert result.returncode == 2, result.stdout + result.stderr
    assert {name: (reports / name).read_bytes() for name in fleet} == fleet
    partial = json.loads((reports / "mailops-verify.partial.json").read_text())
    assert partial["partial"] == {"hosts": ["badkey", "fine"]}
    assert [h["host"] for h in partial["hosts"]] == ["badkey"]
    root = ET.parse(reports / "mailops-verify.partial.junit.xml").getroot()  # noqa: S314 (our own report)
    assert {p.get("value") for p in root.iter("property") if p.get("name") == "partial.hosts"} == {"badkey,fine"}
    assert f"{reports}/mailops-verify.partial.json and" in result.stdout
    # mailops_hosts names the fleet (Molecule: clients, not the mailhost): a full run, the fleet-wide reports
    result = play("-e", "mailops_hosts=fine")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((reports / "mailops-verify.json").read_text())["hosts"] == []

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``allow_insecure: true`` on a server definition reaches the probe: a cleartext-only IMAP server (a real Dovecot
without TLS) that accepts the login is a warning the verify playbook passes, not an error it can never pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import faultservers as fs
import pytest

pytestmark = [pytest.mark.lab, pytest.mark.slow]

ALICE = "alice@example.test"


def test_an_opted_in_cleartext_server_verifies_with_a_warning(mail_lab, ansible_env, tmp_path):
    with fs.cleartext_dovecot(mail_lab) as legacy:
        inventory = tmp_path / "inventory.json"
        reports = tmp_path / "reports"
        group_vars = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "mailops_verify_credentials": True,
            "mailops_verify_report_dir": str(reports),
            "mailops_verify_suggest": False,  # no discovery (did you mean): the lab's domains are not in the real DNS
            "mailops_verify_options": {"ca_path": mail_lab.ca_path, "timeout": 10},
            "mailops_clients": [],
            "mailops_servers": {
                "legacy": {
                    "incoming": {
                        "protocol": "imap",
                        "host": fs.CLEARTEXT_HOST,
                        "port": legacy.ports["imap"],
                        "security": "none",
                    },
                    # no login on the way out: the opt-in is about the incoming side
                    "outgoing": {"host": "127.0.0.1", "port": mail_lab.ports["submissions"], "auth": "none"},
                    "allow_insecure": True,
                }
            },
            "mailops_accounts": [{"email": ALICE, "server": "legacy", "password": legacy.users[ALICE]}],
        }
        inventory.write_text(json.dumps({"all": {"hosts": {"legacy-client": group_vars}}}))
        run = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "mailops.clients.verify"],
            env=ansible_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    report = json.loads((reports / "mailops-verify.json").read_text())
    [account] = [a for a in report["accounts"] if a["host"] == "legacy-client"]
    assert (account["verdict"], account["credentials"]["incoming"]) == ("warning", "ok"), account
    exposed = [f for f in account["findings"] if f["code"] == "cleartext_auth_only"]
    assert [(f["severity"], f["message"].endswith("(accepted with allow_insecure)")) for f in exposed] == [
        ("warning", True)
    ]

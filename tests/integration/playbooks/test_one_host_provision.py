# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The smallest real job: one host, one account (IMAPS + submission STARTTLS), ``mailops.clients.provision``.

Run on every supported ansible-core (the matrix in mk/compat.mk runs this file with each older core's venv):
before the fix for older cores, 2.16-2.18 verified and then failed writing the Apple profile. Asserted: exit
status 0, the .mobileconfig and the Outlook files on disk with the lab's settings, and a second run that changes
nothing.
"""

from __future__ import annotations

import json
import plistlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.slow]

PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def test_one_host_provision_writes_the_profiles_and_is_idempotent(mail_lab, ansible_env, tmp_path):
    p = mail_lab.ports
    out = tmp_path / "out"
    host_vars = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "mailops_clients": ["apple_mail", "outlook"],
        "mailops_servers": {
            "lab": {
                "incoming": {"protocol": "imap", "host": "127.0.0.1", "port": p["imaps"], "security": "tls"},
                "outgoing": {"host": "127.0.0.1", "port": p["submission"], "security": "starttls"},
            }
        },
        "mailops_accounts": [
            {"email": "alice@example.test", "server": "lab", "password": mail_lab.users["alice@example.test"]}
        ],
        "mailops_verify_credentials": True,
        "mailops_verify_options": {"ca_path": mail_lab.ca_path},
        "mailops_verify_report_dir": str(tmp_path / "reports"),
        "mailops_verify_suggest": False,  # no discovery (did you mean): the lab's domains are not in the real DNS
        "mailops_apple_mail_output_dir": str(out / "apple"),
        "mailops_outlook_output_dir": str(out / "outlook"),
    }
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"laptop": host_vars}}}))

    def provision():
        return subprocess.run(
            [str(PLAYBOOK), "-i", str(inventory), "mailops.clients.provision"],
            env=ansible_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    first = provision()
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr
    profiles = sorted((out / "apple").rglob("*.mobileconfig"))
    assert len(profiles) == 1, sorted(str(f) for f in out.rglob("*"))
    payload = plistlib.loads(profiles[0].read_bytes())["PayloadContent"][0]
    assert (payload["IncomingMailServerHostName"], payload["IncomingMailServerPortNumber"]) == ("127.0.0.1", p["imaps"])
    assert (payload["OutgoingMailServerPortNumber"], payload["IncomingMailServerUseSSL"]) == (p["submission"], True)
    assert list((out / "outlook").rglob("*.xml")), sorted(str(f) for f in out.rglob("*"))
    assert mail_lab.users["alice@example.test"] not in first.stdout + first.stderr

    before = {f: f.read_bytes() for f in out.rglob("*") if f.is_file()}
    second = provision()
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr
    assert {m[1]: int(m[3]) for m in RECAP.finditer(second.stdout)} == {"laptop": 0}, second.stdout[-4000:]
    assert {f: f.read_bytes() for f in out.rglob("*") if f.is_file()} == before

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mailops.clients.verify (the CI playbook) fails a host that lists an unknown client, before any probe.

No mail lab: the host with the typo has an account on a closed port, which must never be probed; the other host
lists valid clients and has no accounts.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("clients", "message"),
    [
        (
            ["thunderbird", "outlok"],
            'host typo: mailops_clients: unknown client "outlok" (did you mean outlook?); valid names: apple_mail, '
            "outlook, thunderbird.",
        ),
        (
            ["Apple-Mail", "evolution"],
            'host typo: mailops_clients: unknown client "Apple-Mail" (did you mean apple_mail?); valid names: '
            'apple_mail, outlook, thunderbird. host typo: mailops_clients: unknown client "evolution"; valid names: '
            "apple_mail, outlook, thunderbird.",
        ),
        (
            "outlook",
            "host typo: mailops_clients must be a list of client names (apple_mail, outlook, thunderbird); "
            'got "outlook". Fix: write a list, for example mailops_clients: [apple_mail].',
        ),
    ],
    ids=["near-miss", "case-and-unknown", "not-a-list"],
)
def test_unknown_client_fails_its_host_before_any_probe(tmp_path, ansible_env, clients, message):
    port = _closed_port()
    inventory = tmp_path / "inventory"
    (inventory / "host_vars").mkdir(parents=True)
    common = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "mailops_verify_suggest": False,  # no discovery (did you mean): the lab's domains are not in the real DNS
    }
    (inventory / "hosts.yml").write_text(json.dumps({"all": {"hosts": {"typo": common, "fine": common}}}))
    account = {
        "email": "a@example.test",
        "incoming": {"protocol": "imap", "host": "127.0.0.1", "port": port},
        "outgoing": {"host": "127.0.0.1", "port": port},
    }
    (inventory / "host_vars" / "typo.yml").write_text(
        json.dumps({"mailops_clients": clients, "mailops_accounts": [account]})
    )
    (inventory / "host_vars" / "fine.yml").write_text(json.dumps({"mailops_clients": ["outlook", "apple_mail"]}))
    cmd = [str(PLAYBOOK), "-i", str(inventory), "mailops.clients.verify", "-e", f"mailops_verify_report_dir={tmp_path}"]
    result = subprocess.run(
        cmd, env=ansible_env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert {m[1]: int(m[5]) for m in RECAP.finditer(result.stdout)} == {"typo": 1, "fine": 0}
    # ansible-core >= 2.19 prints the message as it is, older versions inside the JSON result
    assert message in result.stdout or json.dumps(message)[1:-1] in result.stdout, result.stdout
    assert f":{port}/" not in result.stdout  # the typo host's endpoints were never probed

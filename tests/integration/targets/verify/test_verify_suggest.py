# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
""" "Did you mean" in the verify role against the real discovery lab (Knot DNS, document server) and mail lab.

Two accounts name their server by address with a wrong port: ``alice@srv.test`` IMAP on 143 with security tls
(the domain publishes RFC 6186 SRV records), ``bob@ac.test`` SMTP on 587 with security tls (the domain publishes
an autoconfig document). The verify run must name the verified settings of each domain in the endpoint's verdict
line, the JSON report and the JUnit failure text; in check mode too; and with ``mailops_verify_suggest: false``
nothing is looked up. Discovery asks the lab's DNS only, and every Python process Ansible starts carries the
loopback guard (a connect outside 127.0.0.0/8 fails the test).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

MAIL_SETTINGS_INFO = Path(__file__).resolve().parents[1] / "mail_settings_info"
sys.path.insert(0, str(MAIL_SETTINGS_INFO))
from discovery_domains import start_lab  # noqa: E402

pytestmark = [pytest.mark.lab, pytest.mark.slow]

PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
GUARD_DIR = MAIL_SETTINGS_INFO / "loopback_guard"


class Fleet:
    def __init__(self, root: Path, mail, discovery, env):
        self.root, self.discovery, self.env = root, discovery, env
        self.inventory = root / "inventory"
        self.reports = root / "reports"
        address = discovery.mail_address(0)  # the lab's relays to the real Dovecot and Postfix
        self.imap_wrong = f"imap://{address}:143/tls"
        self.smtp_wrong = f"smtp://{address}:587/tls"
        self.srv_hint = "mail.srv.test:993 tls verified (source: srv) — set host mail.srv.test, port 993"
        self.ac_hint = "mail.ac.test:465 tls verified (source: autoconfig) — set host mail.ac.test, port 465"
        group_vars = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "mailops_verify_report_dir": str(self.reports),
            "mailops_verify_options": {"ca_path": mail.ca_path, "timeout": 10},
            # the address carries every lab domain's mail certificate: check it by one of its names
            "mailops_verify_endpoint_options": {address: {"server_name": "mail.srv.test"}},
            "mailops_verify_suggest_dns_servers": [discovery.dns_address],
            "mailops_verify_suggest_timeout": 30,
            "mailops_servers": {
                "srv_wrong_port": {
                    "incoming": {"protocol": "imap", "host": address, "port": 143, "security": "tls"},
                    "outgoing": {"host": address, "port": 465, "security": "tls"},
                },
                "ac_wrong_port": {
                    "incoming": {"protocol": "imap", "host": address, "port": 993, "security": "tls"},
                    "outgoing": {"host": address, "port": 587, "security": "tls"},
                },
            },
        }
        hosts = {
            "alice": {"email": "alice@srv.test", "server": "srv_wrong_port"},
            "bob": {"email": "bob@ac.test", "server": "ac_wrong_port"},
        }
        (self.inventory / "group_vars").mkdir(parents=True)
        (self.inventory / "host_vars").mkdir()
        (self.inventory / "hosts.yml").write_text(json.dumps({"clients": {"hosts": dict.fromkeys(hosts)}}))
        (self.inventory / "group_vars" / "all.yml").write_text(json.dumps(group_vars, indent=1))
        for host, account in hosts.items():
            (self.inventory / "host_vars" / f"{host}.yml").write_text(json.dumps({"mailops_accounts": [account]}))

    def run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(PLAYBOOK), "-i", str(self.inventory), "mailops.clients.verify", *args]
        return subprocess.run(
            cmd, env=self.env, cwd=self.root, capture_output=True, text=True, timeout=300, check=False
        )


@pytest.fixture(scope="module")
def guard_log(tmp_path_factory):
    return tmp_path_factory.mktemp("guard") / "non-loopback.log"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, ansible_env, guard_log):
    from conftest import _free_port_offset

    env = dict(ansible_env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(GUARD_DIR), env.get("PYTHONPATH", "")) if p)
    env["MAILOPS_LOOPBACK_GUARD_LOG"] = str(guard_log)
    with start_lab(_free_port_offset()) as (mail, discovery):
        yield Fleet(tmp_path_factory.mktemp("verify-suggest"), mail, discovery, env)


@pytest.fixture(autouse=True)
def _nothing_left_loopback(guard_log):
    yield
    assert not guard_log.exists() or not guard_log.read_text(), f"non-loopback traffic: {guard_log.read_text()}"


def _line(stdout: str, key: str) -> str:
    found = [line.strip().strip('",') for line in stdout.splitlines() if line.strip().startswith(f'"{key}: ')]
    assert len(found) == 1, stdout
    return found[0]


def test_a_wrong_port_gets_the_domains_verified_settings(fleet):
    before = len(fleet.discovery.requests)
    result = fleet.run()
    assert result.returncode == 2, result.stdout + result.stderr  # both accounts fail (fail_on: error)
    out = result.stdout
    assert _line(out, fleet.imap_wrong) == (
        f"{fleet.imap_wrong}: error [plaintext_on_tls_port] (1 account); did you mean {fleet.srv_hint}"
    )
    assert _line(out, fleet.smtp_wrong) == (
        f"{fleet.smtp_wrong}: error [plaintext_on_tls_port] (1 account); did you mean {fleet.ac_hint}"
    )
    # the host's failure message (the gate's refusal lines) names it too
    assert f"Did you mean {fleet.srv_hint}" in out
    # discovery used the domain's own sources: its autoconfig URL, never the (lab) ISPDB
    asked = {(q["host"], q["path"].split("?")[0]) for q in fleet.discovery.requests[before:]}
    assert ("autoconfig.ac.test", "/mail/config-v1.1.xml") in asked
    assert not any(host == "ispdb.lab.test" for host, _path in asked)

    report = json.loads((fleet.reports / "mailops-verify.json").read_text())
    endpoints = {ep["key"]: ep for ep in report["endpoints"]}
    [finding] = endpoints[fleet.imap_wrong]["findings"]
    assert (finding["code"], finding["suggestion"]) == ("plaintext_on_tls_port", fleet.srv_hint)
    assert endpoints[fleet.smtp_wrong]["findings"][0]["suggestion"] == fleet.ac_hint
    others = [ep for key, ep in endpoints.items() if key not in (fleet.imap_wrong, fleet.smtp_wrong)]
    assert len(others) == 2 and all(ep["verdict"] == "ok" and not ep["findings"] for ep in others), others
    accounts = {acc["id"]: acc for acc in report["accounts"]}
    assert [f.get("suggestion") for f in accounts["alice@srv.test"]["findings"]] == [fleet.srv_hint]
    assert accounts["alice@srv.test"]["reasons"] == ["plaintext_on_tls_port"]

    junit = ET.parse(fleet.reports / "mailops-verify.junit.xml").getroot()  # noqa: S314 - our own report
    failure = junit.find(f".//testcase[@name='{fleet.smtp_wrong}']/failure")
    assert failure.get("message") == "plaintext_on_tls_port"
    assert f"did you mean: {fleet.ac_hint}" in failure.text
    account = junit.find(".//testcase[@name='alice@srv.test']/failure")
    assert f"did you mean: {fleet.srv_hint}" in account.text


def test_check_mode_still_suggests(fleet):
    result = fleet.run("--check", "-e", f"mailops_verify_report_dir={fleet.root / 'check-reports'}")
    assert _line(result.stdout, fleet.imap_wrong).endswith(f"did you mean {fleet.srv_hint}"), result.stdout
    assert not (fleet.root / "check-reports").exists()


def test_switched_off_nothing_is_looked_up(fleet):
    before = len(fleet.discovery.requests)
    reports = fleet.root / "off-reports"
    result = fleet.run("-e", "mailops_verify_suggest=false", "-e", f"mailops_verify_report_dir={reports}")
    assert result.returncode == 2, result.stdout + result.stderr
    assert _line(result.stdout, fleet.imap_wrong) == f"{fleet.imap_wrong}: error [plaintext_on_tls_port] (1 account)"
    assert "did you mean" not in result.stdout.lower()
    assert "Discover the settings those domains publish" not in result.stdout
    assert fleet.discovery.requests[before:] == []
    assert "suggestion" not in (reports / "mailops-verify.json").read_text()

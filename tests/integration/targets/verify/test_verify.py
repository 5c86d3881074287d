# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Role mailops.clients.verify through ansible-playbook on a fleet inventory against the real mail lab.

The fleet (four local-connection hosts, one host_vars file each) uses three servers: the lab (good), a POP3
server on a closed port (broken port), and the lab's IMAPS reached as ``localhost`` but checked against
another CA (bad certificate: untrusted issuer). Flow per STYLE: check mode, run, idempotence in check mode,
idempotence; then the gate (blocks, and warns with the override) and the cache.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ansible_recap import flat, flat_output
from maillab import make_ca

pytestmark = [pytest.mark.lab, pytest.mark.slow]

PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
WRONG_PW = "not-carols-password-7"

VERIFY_PLAY = """
- name: Verify the fleet
  hosts: clients
  gather_facts: false
  roles:
    - role: mailops.clients.verify
  tasks:
    - name: Keep what this host was told
      ansible.builtin.copy:
        content: "{{ mailops_verified | to_nice_json }}"
        dest: "{{ facts_dir }}/{{ inventory_hostname }}.json"
        mode: "0644"
      delegate_to: localhost
      changed_when: false  # test scaffolding: the facts carry check times, the role's own tasks are under test
"""

GATE_PLAY = """
- name: Verify, then render through the gate
  hosts: clients
  gather_facts: false
  tasks:
    - name: Verify
      ansible.builtin.include_role:
        name: mailops.clients.verify
    - name: Gate
      ansible.builtin.include_role:
        name: mailops.clients.verify
        tasks_from: gate
      vars:
        mailops_verify_gate_client: stand-in-renderer
    - name: Render (stand-in for a renderer role)
      ansible.builtin.copy:
        content: "{{ mailops_verify_gate.allowed | map(attribute='id') | list | to_json }}"
        dest: "{{ facts_dir }}/{{ inventory_hostname }}.rendered.json"
        mode: "0644"
      delegate_to: localhost
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Fleet:
    def __init__(self, root: Path, lab, env):
        self.root = root
        self.lab = lab
        self.env = env
        self.inventory = root / "inventory"
        self.reports = root / "reports"
        self.facts = root / "facts"
        self.facts.mkdir(parents=True)
        other_ca = make_ca("some other CA")[0]
        (root / "other-ca.pem").write_bytes(other_ca)
        self.closed = _closed_port()
        p = lab.ports
        self.imap = f"imap://127.0.0.1:{p['imaps']}/tls"
        self.smtp = f"smtp://127.0.0.1:{p['submissions']}/tls"
        self.pop3_broken = f"pop3://127.0.0.1:{self.closed}/tls"
        self.submission = f"smtp://127.0.0.1:{p['submission']}/starttls"
        self.imap_badcert = f"imap://localhost:{p['imaps']}/tls"
        group_vars = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "facts_dir": str(self.facts),
            "mailops_verify_credentials": True,
            "mailops_verify_report_dir": str(self.reports),
            "mailops_verify_suggest": False,  # no discovery (did you mean): the lab's domains are not in the real DNS
            "mailops_verify_options": {"ca_path": lab.ca_path, "timeout": 5},
            # keys as a user may write them: the host's case differs from the inventory's; a typo matches nothing
            "mailops_verify_endpoint_options": {
                "LocalHost": {"ca_path": str(root / "other-ca.pem")},
                "mial.example.test": {"timeout": 1},
            },
            "mailops_servers": {
                "lab": {
                    "incoming": {"protocol": "imap", "host": "127.0.0.1", "port": p["imaps"]},
                    "outgoing": {"host": "127.0.0.1", "port": p["submissions"]},
                },
                "broken_port": {
                    "incoming": {"protocol": "pop3", "host": "127.0.0.1", "port": self.closed},
                    "outgoing": {"host": "127.0.0.1", "port": p["submission"], "security": "starttls"},
                },
                "bad_cert": {
                    "incoming": {"protocol": "imap", "host": "localhost", "port": p["imaps"]},
                    "outgoing": {"host": "127.0.0.1", "port": p["submission"], "security": "starttls"},
                },
            },
        }
        users = lab.users
        hosts = {
            "client1": [
                {
                    "email": "alice@example.test",
                    "server": "lab",
                    "password": users["alice@example.test"],
                    "display_name": "Alice Example",
                },
                # offboarded (state: absent): never probed (its server is gone, or broken), never in the reports,
                # never a failure; every assertion on client1 below would see it otherwise
                {"email": "dave@example.test", "server": "decommissioned", "state": "absent", "user": "dave"},
                {"email": "erin@example.test", "server": "broken_port", "state": "absent", "password": "x"},
            ],
            "client2": [
                {"email": "bob@example.test", "server": "lab", "password": users["bob@example.test"]},
                {"email": "carol@example.test", "server": "broken_port", "password": users["carol@example.test"]},
            ],
            "client3": [
                {"email": "alice@example.test", "server": "lab", "password": users["alice@example.test"]},
                {"email": "carol@example.test", "server": "lab", "password": WRONG_PW, "user": "carol"},
            ],
            "client4": [{"email": "carol@example.test", "server": "bad_cert", "password": users["carol@example.test"]}],
        }
        (self.inventory / "group_vars").mkdir(parents=True)
        (self.inventory / "host_vars").mkdir()
        (self.inventory / "hosts.yml").write_text(json.dumps({"clients": {"hosts": dict.fromkeys(hosts)}}))
        (self.inventory / "group_vars" / "all.yml").write_text(json.dumps(group_vars, indent=1))
        for host, accounts in hosts.items():
            (self.inventory / "host_vars" / f"{host}.yml").write_text(json.dumps({"mailops_accounts": accounts}))
        (root / "verify.yml").write_text(VERIFY_PLAY)
        (root / "gate.yml").write_text(GATE_PLAY)

    def run(self, playbook: str, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(PLAYBOOK), "-i", str(self.inventory), str(self.root / playbook), *args]
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=300, check=False)

    def logins(self, user: str) -> int:
        log = Path(self.lab.log_dir / "dovecot.log").read_text(errors="replace")
        return len(re.findall(rf"imap-login: (?:Info: )?Login: user=<{re.escape(user)}>", log))


def _recap(result) -> dict[str, dict[str, int]]:
    recap = {}
    for host, stats in re.findall(r"^(client\d)\s+:\s+(.*)$", result.stdout, re.M):
        recap[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", stats)}
    return recap


@pytest.fixture(scope="module")
def fleet(mail_lab, tmp_path_factory, ansible_env):
    return Fleet(tmp_path_factory.mktemp("verify-fleet"), mail_lab, ansible_env)


@pytest.fixture(scope="module")
def flow(fleet):
    """check → run (-vvv, for the secret check) → check again → run again, with lab login counts."""
    runs = {}
    runs["check"] = fleet.run("verify.yml", "--check")
    runs["check_reports_exist"] = (fleet.reports / "mailops-verify.json").exists()
    before = fleet.logins("alice@example.test")
    runs["run"] = fleet.run("verify.yml", "-vvv")
    runs["alice_logins"] = fleet.logins("alice@example.test") - before
    runs["report"] = (fleet.reports / "mailops-verify.json").read_text()
    runs["junit"] = (fleet.reports / "mailops-verify.junit.xml").read_text()
    runs["facts"] = {h: json.loads((fleet.facts / f"{h}.json").read_text()) for h in ("client1", "client2")}
    runs["check2"] = fleet.run("verify.yml", "--check")
    runs["run2"] = fleet.run("verify.yml")
    runs["report2"] = (fleet.reports / "mailops-verify.json").read_text()
    return runs


def test_check_mode_probes_but_writes_no_report(flow):
    result = flow["check"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "imap://127.0.0.1:" in result.stdout
    assert flow["check_reports_exist"] is False


def test_run_reports_good_and_broken_endpoints(flow, fleet):
    result = flow["run"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    report = json.loads(flow["report"])
    verdicts = {e["key"]: e["verdict"] for e in report["endpoints"]}
    assert verdicts == {
        fleet.imap: "ok",
        fleet.smtp: "ok",
        fleet.submission: "ok",
        fleet.pop3_broken: "error",
        fleet.imap_badcert: "error",
    }
    codes = {e["key"]: [f["code"] for f in e["findings"] if f["severity"] == "error"] for e in report["endpoints"]}
    assert codes[fleet.pop3_broken] == ["connection_refused"]
    assert codes[fleet.imap_badcert] == ["cert_untrusted"]
    accounts = {(a["host"], a["id"]): (a["verdict"], a["credentials"]) for a in report["accounts"]}
    assert accounts == {
        ("client1", "alice@example.test"): ("ok", {"incoming": "ok", "outgoing": "ok"}),
        ("client2", "bob@example.test"): ("ok", {"incoming": "ok", "outgoing": "ok"}),
        ("client2", "carol@example.test"): ("error", {"incoming": "not_checked", "outgoing": "ok"}),
        ("client3", "alice@example.test"): ("ok", {"incoming": "ok", "outgoing": "ok"}),
        ("client3", "carol@example.test"): ("error", {"incoming": "failed", "outgoing": "failed"}),
        ("client4", "carol@example.test"): ("error", {"incoming": "not_checked", "outgoing": "ok"}),
    }
    carol3 = next(a for a in report["accounts"] if (a["host"], a["id"]) == ("client3", "carol@example.test"))
    assert {(f["endpoint"], f["code"]) for f in carol3["findings"]} == {
        (fleet.imap, "auth_failed"),
        (fleet.smtp, "auth_failed"),
    }
    assert report["summary"]["verdict"] == "error"


def test_endpoint_options_match_the_host_in_any_case_and_a_typo_is_reported(flow, fleet):
    # the other CA keyed "LocalHost" reached imap://localhost (cert_untrusted above); the typo is named
    assert "mailops_verify_endpoint_options: mial.example.test matches no endpoint or server host" in flat_output(
        flow["run"]
    )


def test_each_endpoint_probed_once_and_shared_credentials_checked_once(flow, fleet):
    stdout = flow["run"].stdout
    verdict_lines = re.findall(r'^\s+"((?:imap|pop3|smtp)://\S+: \w+.*)",?$', stdout, re.M)
    assert sorted(line.split(":", 2)[0] + ":" + line.split(":", 2)[1] for line in verdict_lines) == sorted(
        f"{k.split(':')[0]}:{k.split(':')[1]}"
        for k in (fleet.imap, fleet.smtp, fleet.submission, fleet.pop3_broken, fleet.imap_badcert)
    )
    # lines show the outcome of the accounts (carol's wrong password on client3), not only the server's verdict
    assert f"{fleet.imap}: error: 1 of 4 accounts: auth_failed (3 credentials checked)" in verdict_lines
    assert f"{fleet.pop3_broken}: error [connection_refused] (1 account)" in verdict_lines
    assert f"{fleet.submission}: ok (2 accounts, 1 credentials checked)" in verdict_lines
    # one module call per endpoint: 2 IMAP, 1 POP3, 2 SMTP items in the probe loops
    for task, items in (("Probe IMAP endpoints", 2), ("Probe POP3 endpoints", 1), ("Probe SMTP endpoints", 2)):
        section = stdout.split(f"TASK [mailops.clients.verify : {task}]", 1)[1].split("TASK [", 1)[0]
        assert len(re.findall(r"^ok: \[client1 -> localhost\] => \(item=", section, re.M)) == items, section
    # alice is on client1 and client3: the lab saw exactly one IMAP login for her
    assert flow["alice_logins"] == 1


def test_no_password_in_verbose_output(flow, fleet):
    text = flow["run"].stdout + flow["run"].stderr
    for secret in [*fleet.lab.users.values(), WRONG_PW]:
        assert secret not in text
    assert WRONG_PW not in flow["report"] and "lab-pw" not in flow["junit"]


def test_junit_report(flow, fleet):
    root = ET.fromstring(flow["junit"].encode())  # noqa: S314 (our own output)
    assert (root.get("tests"), root.get("failures")) == ("11", "5")
    cases = {
        c.get("name"): c
        for c in root.iter("testcase")
        if c.get("classname").startswith("mailops.verify.") and "account" not in c.get("classname")
    }
    assert sorted(cases) == sorted([fleet.imap, fleet.smtp, fleet.submission, fleet.pop3_broken, fleet.imap_badcert])
    failure = cases[fleet.pop3_broken].find("failure")
    assert failure.get("message") == "connection_refused"
    assert "refused the connection" in failure.text
    assert cases[fleet.imap].find("failure") is None
    accounts = [c for c in root.iter("testcase") if c.get("classname") == "mailops.verify.account.client3"]
    assert [(c.get("name"), c.find("failure") is not None) for c in accounts] == [
        ("alice@example.test", False),
        ("carol@example.test", True),
    ]


def test_facts_published_per_host(flow, fleet):
    client1, client2 = flow["facts"]["client1"], flow["facts"]["client2"]
    assert sorted(client1["accounts"]) == ["alice@example.test"]
    assert sorted(client2["accounts"]) == ["bob@example.test", "carol@example.test"]
    assert client1["endpoints"] == client2["endpoints"]
    assert client1["endpoints"][fleet.imap]["tls"]["version"].startswith("TLSv1.")
    assert client2["accounts"]["carol@example.test"]["verdict"] == "error"


def test_idempotence(flow):
    for name in ("check2", "run2"):
        result = flow[name]
        assert result.returncode == 0, result.stdout[-3000:]
        assert {h: s["changed"] for h, s in _recap(result).items()} == {
            "client1": 0,
            "client2": 0,
            "client3": 0,
            "client4": 0,
        }, name
    assert flow["report2"] == flow["report"]


def test_gate_blocks_unverified_accounts(fleet, flow):
    result = fleet.run("gate.yml")
    assert result.returncode == 2
    recap = _recap(result)
    assert {h: s["failed"] for h, s in recap.items()} == {"client1": 0, "client2": 1, "client3": 1, "client4": 1}
    assert json.loads((fleet.facts / "client1.rendered.json").read_text()) == ["alice@example.test"]
    assert not (fleet.facts / "client2.rendered.json").exists()
    text = result.stdout + result.stderr
    assert (
        "stand-in-renderer: refusing to render 1 account on client2 whose settings did not verify "
        "(carol@example.test); fix the findings below or set mailops_allow_unverified: true to render anyway:\\n"
        f"- endpoint {fleet.pop3_broken} verdict error (used by carol@example.test):\\n"
        "    [error] connection_refused (connect): "
    ) in text
    assert (
        f"- endpoint {fleet.imap_badcert} verdict error (used by carol@example.test):\\n    [error] cert_untrusted"
        in text
    )
    assert (
        f"- credentials of carol@example.test (incoming, user carol@example.test) rejected by {fleet.imap}: "
        "[error] auth_failed (auth): "
    ) in text


def test_gate_override_renders_and_warns(fleet, flow):
    result = fleet.run("gate.yml", "-e", "mailops_allow_unverified=true")
    assert result.returncode == 0, result.stdout[-3000:]
    assert json.loads((fleet.facts / "client2.rendered.json").read_text()) == ["bob@example.test", "carol@example.test"]
    text = result.stdout + result.stderr
    # flattened: ansible-core < 2.19 rewraps warnings (tests/integration/ansible_recap.py)
    assert flat(
        "[WARNING]: stand-in-renderer: rendering 1 account on client2 whose settings did not verify "
        "(carol@example.test), because mailops_allow_unverified is true:\n"
        f"- endpoint {fleet.pop3_broken} verdict error (used by carol@example.test):\n"
    ) in flat(text)


def test_fail_on_error_fails_only_the_broken_hosts(fleet, flow):
    result = fleet.run("verify.yml", "-e", "mailops_verify_fail_on=error")
    assert {h: s["failed"] for h, s in _recap(result).items()} == {
        "client1": 0,
        "client2": 1,
        "client3": 1,
        "client4": 1,
    }
    assert "mailops.clients.verify: 1 account(s) on client2 did not verify (carol@example.test):" in result.stdout


def test_cache_reuses_results(fleet, flow, tmp_path):
    args = ["-e", "mailops_verify_cache_ttl=600", "-e", f"mailops_verify_cache_dir={tmp_path / 'cache'}"]
    first = fleet.run("verify.yml", *args)
    assert first.returncode == 0, first.stdout[-3000:]
    before = fleet.logins("alice@example.test")
    second = fleet.run("verify.yml", *args)
    assert second.returncode == 0
    assert fleet.logins("alice@example.test") == before
    assert f"{fleet.imap}: error: 1 of 4 accounts: auth_failed (3 credentials checked, cached)" in second.stdout
    cache = (tmp_path / "cache" / "results.json").read_text()
    assert (tmp_path / "cache" / "results.json").stat().st_mode & 0o777 == 0o600
    for secret in [*fleet.lab.users.values(), WRONG_PW]:
        assert secret not in cache


APPLE_PLAY = """
- name: Verify, then render Apple profiles (a real renderer role calling the gate)
  hosts: clients
  gather_facts: false
  roles:
    - role: mailops.clients.verify
    - role: mailops.clients.apple_mail
      vars:
        mailops_apple_mail_output_dir: "{{ facts_dir }}/apple"
"""


@pytest.mark.parametrize("override", [False, True], ids=["blocks", "override-warns"])
def test_gate_through_the_apple_mail_role(fleet, flow, override):
    (fleet.root / "apple.yml").write_text(APPLE_PLAY)
    out = fleet.facts / "apple"
    args = ["--limit", "client1,client2"] + (["-e", "mailops_allow_unverified=true"] if override else [])
    result = fleet.run("apple.yml", *args)
    text = result.stdout + result.stderr
    assert list((out / "client1").glob("*.mobileconfig")), text[-3000:]
    if override:
        assert result.returncode == 0, text[-3000:]
        assert "[WARNING]: apple_mail: rendering 1 account on client2 whose settings did not verify" in flat(text)
        assert list((out / "client2").glob("*.mobileconfig"))
    else:
        assert result.returncode == 2
        assert (
            "apple_mail: refusing to render 1 account on client2 whose settings did not verify (carol@example.test)"
        ) in text
        assert f"- endpoint {fleet.pop3_broken} verdict error (used by carol@example.test):" in text
        assert not (out / "client2").exists()

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The main job: playbooks/provision.yml and playbooks/verify.yml (by FQCN) on the example fleet, and make demo.

The example inventory (examples/inventory) describes the demo lab at port offset 0; here it is pointed at the
session's fixture lab by overriding ``demo_lab`` (ports, CA) and ``demo_output_dir`` with extra vars, exactly as
a user would point it at other servers. ``tools/demo.sh`` itself runs twice with its own lab at a free offset.
"""

from __future__ import annotations

import json
import plistlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from maillab import BASE_PORTS

pytestmark = [pytest.mark.lab, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
INVENTORY = REPO / "examples" / "inventory"
VAULT_PASSWORD_FILE = REPO / "examples" / "vault-password.txt"
HOSTS = ["lin-alice", "lin-frontdesk", "mac-bob", "scan-hall", "win-carol"]
LAB_PASSWORDS = ["alice-lab-pw-1", "bob-lab-pw-2", "carol-lab-pw-3"]
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def lab_vars(lab, output_dir: Path, **overrides) -> dict:
    """Extra vars that point the example inventory at ``lab`` and render into ``output_dir``."""
    demo_lab = {"host": lab.host, "ports": dict(lab.ports), "ca_path": lab.ca_path}
    demo_lab["ports"].update(overrides.pop("ports", {}))
    return {"demo_lab": demo_lab, "demo_output_dir": str(output_dir), **overrides}


def run_playbook(name: str, extra_vars: dict, env: dict, tmp: Path) -> subprocess.CompletedProcess:
    """ansible-playbook mailops.clients.<name> on the example inventory (the FQCN form users run)."""
    vars_file = tmp / f"vars-{name}-{len(list(tmp.glob('vars-*')))}.json"
    vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
    cmd = [str(PLAYBOOK), "-i", str(INVENTORY), "--vault-password-file", str(VAULT_PASSWORD_FILE)]
    cmd += ["-e", f"@{vars_file}", f"mailops.clients.{name}"]
    return subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, timeout=600, check=False)


def recap(result: subprocess.CompletedProcess) -> dict[str, tuple[int, int]]:
    """host -> (changed, failed + unreachable) from the PLAY RECAP."""
    return {m[1]: (int(m[3]), int(m[4]) + int(m[5])) for m in RECAP.finditer(result.stdout)}


def rendered_files(output_dir: Path) -> dict[str, list[str]]:
    """'<host>/<client>' -> sorted paths below it (relative to the client directory)."""
    found = {}
    for host_dir in sorted(p for p in output_dir.iterdir() if p.is_dir() and p.name != "reports"):
        for client_dir in sorted(p for p in host_dir.iterdir() if p.is_dir()):
            files = sorted(str(p.relative_to(client_dir)) for p in client_dir.rglob("*") if p.is_file())
            found[f"{host_dir.name}/{client_dir.name}"] = files
    return found


@pytest.fixture(scope="module")
def provisioned(mail_lab, ansible_env, tmp_path_factory):
    """Two runs of mailops.clients.provision on the example fleet against the fixture lab."""
    tmp = tmp_path_factory.mktemp("provision")
    output_dir = tmp / "demo"
    extra_vars = lab_vars(mail_lab, output_dir)
    first = run_playbook("provision", extra_vars, ansible_env, tmp)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    snapshot = {p: p.read_bytes() for p in output_dir.rglob("*") if p.is_file()}
    second = run_playbook("provision", extra_vars, ansible_env, tmp)
    return {"lab": mail_lab, "dir": output_dir, "first": first, "second": second, "snapshot": snapshot}


def test_provision_reports_every_endpoint_ok(provisioned):
    lab, reports = provisioned["lab"], provisioned["dir"] / "reports"
    report = json.loads((reports / "mailops-verify.json").read_text())
    verdicts = {ep["key"]: (ep["verdict"], ep["findings"]) for ep in report["endpoints"]}
    assert verdicts == {
        f"imap://127.0.0.1:{lab.ports['imaps']}/tls": ("ok", []),
        f"pop3://localhost:{lab.ports['pop3s']}/tls": ("ok", []),
        f"smtp://127.0.0.1:{lab.ports['submission']}/starttls": ("ok", []),
        f"smtp://localhost:{lab.ports['submissions']}/tls": ("ok", []),
    }
    accounts = {(acc["host"], acc["id"]): (acc["verdict"], acc["credentials"]) for acc in report["accounts"]}
    both_ok = ("ok", {"incoming": "ok", "outgoing": "ok"})
    assert accounts == {
        ("lin-alice", "alice@example.test"): both_ok,
        ("lin-alice", "alice@example.org"): both_ok,
        ("lin-frontdesk", "frontdesk@example.org"): both_ok,
        ("mac-bob", "bob@example.test"): both_ok,
        ("scan-hall", "scanner@example.test"): both_ok,
        ("win-carol", "carol@example.test"): both_ok,
        ("win-carol", "carol@example.org"): both_ok,
    }
    junit = ET.parse(reports / "mailops-verify.junit.xml").getroot()  # noqa: S314 (our own report)
    assert (junit.get("tests"), junit.get("failures")) == ("11", "0")
    # the per-endpoint verdict lines a person follows during the run
    assert f"imap://127.0.0.1:{lab.ports['imaps']}/tls: ok (4 accounts, 3 credentials checked)" in (
        provisioned["first"].stdout
    )


def test_provision_writes_the_listed_clients_of_each_host(provisioned):
    output_dir = provisioned["dir"]
    assert rendered_files(output_dir) == {
        "lin-alice/thunderbird": [
            "alice/mailops.default/prefs.js",
            "alice/mailops.default/user.js",
            "alice/profiles.ini",
            "enterprise/defaults/pref/autoconfig.js",
            "enterprise/mailops.cfg",
        ],
        "lin-frontdesk/thunderbird": [
            "enterprise/defaults/pref/autoconfig.js",
            "enterprise/mailops.cfg",
            "frontdesk/mailops.default/prefs.js",
            "frontdesk/mailops.default/user.js",
            "frontdesk/profiles.ini",
        ],
        "mac-bob/apple_mail": ["mac-bob/.mailops-clients-apple_mail.json", "mac-bob/bob.mobileconfig"],
        "mac-bob/thunderbird": ["bob/mailops.default/prefs.js", "bob/mailops.default/user.js", "bob/profiles.ini"],
        "win-carol/outlook": [
            "win-carol/.mailops-clients-outlook.json",
            "win-carol/carol/autodiscover/example.org.xml",
            "win-carol/carol/autodiscover/example.test.xml",
            "win-carol/carol/mailops-outlook.prf",
            "win-carol/carol/mailops-outlook.reg",
        ],
    }
    # scan-hall has accounts but no mailops_clients list: verified (see the report), nothing rendered
    assert not (output_dir / "scan-hall").exists()


def test_provision_files_carry_the_verified_settings_and_no_password(provisioned):
    lab, output_dir = provisioned["lab"], provisioned["dir"]
    user_js = (output_dir / "lin-alice/thunderbird/alice/mailops.default/user.js").read_text()
    assert 'user_pref("mail.server.server1000.hostname", "127.0.0.1");' in user_js
    assert f'user_pref("mail.server.server1000.port", {lab.ports["imaps"]});' in user_js
    assert 'user_pref("mail.server.server1001.type", "pop3");' in user_js
    assert f'user_pref("mail.server.server1001.port", {lab.ports["pop3s"]});' in user_js
    assert 'user_pref("mail.server.server1001.userName", "alice@example.test");' in user_js

    profile = plistlib.loads((output_dir / "mac-bob/apple_mail/mac-bob/bob.mobileconfig").read_bytes())
    (mail,) = profile["PayloadContent"]
    assert (mail["EmailAddress"], mail["IncomingMailServerPortNumber"], mail["OutgoingMailServerPortNumber"]) == (
        "bob@example.test",
        lab.ports["imaps"],
        lab.ports["submission"],
    )
    assert profile["PayloadOrganization"] == "Example Test Ltd"

    reg = (output_dir / "win-carol/outlook/win-carol/carol/mailops-outlook.reg").read_bytes().decode("utf-16")
    # .reg strings double their backslashes
    windows_path = r"C:\ProgramData\mailops.clients\outlook\carol\autodiscover\example.test.xml"
    escaped = windows_path.replace("\\", "\\\\")
    assert f'"example.test"="{escaped}"' in reg

    for path in output_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for password in LAB_PASSWORDS:
                assert password.encode() not in data, path
                assert password.encode("utf-16-le") not in data, path


def test_provision_second_run_changes_nothing(provisioned):
    second = provisioned["second"]
    assert second.returncode == 0, second.stdout[-4000:]
    assert recap(second) == dict.fromkeys(HOSTS, (0, 0))
    assert recap(provisioned["first"])["mac-bob"][0] > 0  # the first run did write (the comparison can fail)
    now = {p: p.read_bytes() for p in provisioned["dir"].rglob("*") if p.is_file()}
    assert now == provisioned["snapshot"]


def test_verify_playbook_passes_on_the_good_fleet(mail_lab, ansible_env, tmp_path):
    result = run_playbook("verify", lab_vars(mail_lab, tmp_path / "demo"), ansible_env, tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
    assert (tmp_path / "demo/reports/mailops-verify.junit.xml").is_file()
    assert not (tmp_path / "demo/lin-alice").exists()  # verify only: nothing rendered


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_verify_playbook_fails_when_a_server_is_broken(mail_lab, ansible_env, tmp_path):
    port = closed_port()
    result = run_playbook("verify", lab_vars(mail_lab, tmp_path / "demo", ports={"pop3s": port}), ansible_env, tmp_path)
    assert result.returncode == 2, result.stdout[-4000:]
    # exactly the hosts with an account on the broken POP3 server failed
    assert {host for host, (_changed, failed) in recap(result).items() if failed} == {
        "lin-alice",
        "lin-frontdesk",
        "win-carol",
    }
    assert f"pop3://localhost:{port}/tls: error [connection_refused] (3 accounts)" in result.stdout

    junit = ET.parse(tmp_path / "demo/reports/mailops-verify.junit.xml").getroot()  # noqa: S314 (our own report)
    assert (junit.get("tests"), junit.get("failures")) == ("11", "4")
    failures = {
        case.get("name"): case.find("failure").get("message")
        for case in junit.iter("testcase")
        if case.find("failure") is not None
    }
    assert failures == {
        f"pop3://localhost:{port}/tls": "connection_refused",
        "alice@example.org": "connection_refused, account_not_checked",
        "frontdesk@example.org": "connection_refused, account_not_checked",
        "carol@example.org": "connection_refused, account_not_checked",
    }


def _free_offset() -> int:
    """A port offset (from 700 up: clear of the pytest lab and Molecule) whose lab ports are all free."""
    for offset in range(700, 5000, 100):
        sockets = []
        try:
            for port in BASE_PORTS.values():
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port + offset))
            return offset
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free port offset for the demo lab")


def _lab_processes(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline and any(name in cmdline for name in ("dovecot", "postfix", "knotd")):
                found.append(cmdline)
    return found


def test_make_demo_twice_second_run_changes_nothing(ansible_env):
    # Parents of the lab directory must be searchable by Dovecot/Postfix: not pytest's 0700 tmp_path.
    demo_dir = Path(tempfile.mkdtemp(prefix="mailops-demo-"))
    demo_dir.chmod(0o755)
    offset = _free_offset()
    env = dict(ansible_env, DEMO_DIR=str(demo_dir), DEMO_PORT_OFFSET=str(offset))
    try:
        runs = [
            subprocess.run(
                [str(REPO / "tools/demo.sh")], env=env, capture_output=True, text=True, timeout=600, check=False
            )
            for _unused in range(2)
        ]
        for run in runs:
            assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
            imaps = BASE_PORTS["imaps"] + offset
            assert re.search(rf"^  imap://127\.0\.0\.1:{imaps}/tls +ok +4 +3 +-$", run.stdout, re.MULTILINE)
            assert "overall verdict: ok; 7 accounts, 0 not verified" in run.stdout
            # before provisioning: the lab address's settings, discovered from the address, verified, printed
            assert re.search(
                r"^ +alice@example\.test: incoming imap://mail\.example\.test:993/tls \(source: autoconfig, ok\); "
                r"outgoing smtp://mail\.example\.test:465/tls \(source: autoconfig, ok\)$",
                run.stdout,
                re.MULTILINE,
            )
            snippet = yaml.safe_load((demo_dir / "discovered/mailops_servers.yml").read_text())
            assert snippet["mailops_servers"] == {
                "example.test": {
                    "incoming": {"protocol": "imap", "host": "mail.example.test", "port": 993, "security": "tls",
                                 "auth": "password"},
                    "outgoing": {"host": "mail.example.test", "port": 465, "security": "tls", "auth": "password"},
                }
            }  # fmt: skip
            assert "      mailops_servers:\n        example.test:\n" in run.stdout
            assert f"{demo_dir}/mac-bob/apple_mail/mac-bob/bob.mobileconfig" in run.stdout
            assert re.search(
                r"^  scan-hall  \(changed=\d+ failed=0\)\n    \(no clients rendered: no mailops_clients",
                run.stdout,
                re.M,
            )
            assert f"mail lab in {demo_dir}/lab stopped" in run.stdout
        assert "changed tasks in this run: 0" not in runs[0].stdout
        assert "changed tasks in this run: 0 (nothing to do: the fleet is up to date)" in runs[1].stdout
        assert re.findall(r"\((changed=\d+) failed=0\)", runs[1].stdout) == ["changed=0"] * len(HOSTS)
        # nothing left running, every lab port closed again
        assert _lab_processes(str(demo_dir)) == []
        for port in BASE_PORTS.values():
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", port + offset)) != 0
    finally:
        subprocess.run(
            [sys.executable, str(REPO / "tools/maillab.py"), "down", "--dir", f"{demo_dir}/lab"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(demo_dir, ignore_errors=True)


def test_make_demo_refuses_ports_held_by_another_process(ansible_env):
    demo_dir = Path(tempfile.mkdtemp(prefix="mailops-demo-"))
    demo_dir.chmod(0o755)
    offset = _free_offset()
    env = dict(ansible_env, DEMO_DIR=str(demo_dir), DEMO_PORT_OFFSET=str(offset))
    try:
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", BASE_PORTS["submission"] + offset))
            squatter.listen()
            run = subprocess.run(
                [str(REPO / "tools/demo.sh")], env=env, capture_output=True, text=True, timeout=120, check=False
            )
        assert run.returncode == 1, run.stdout + run.stderr
        assert run.stderr.splitlines() == [
            f"    ports in use by another process: submission {BASE_PORTS['submission'] + offset} (see: ss -ltnp)",
            "the demo lab's ports are taken: stop the other lab ('make lab-down') or move this one"
            " (DEMO_PORT_OFFSET=1000 make demo)",
        ]
        assert "verdict" not in run.stdout  # no playbook ran against whatever holds the port
        assert _lab_processes(str(demo_dir)) == []
    finally:
        shutil.rmtree(demo_dir, ignore_errors=True)

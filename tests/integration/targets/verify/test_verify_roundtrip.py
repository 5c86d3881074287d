# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The verify role's round trip (mailops_verify_roundtrip) against real servers, through the verify playbook.

* ``good``: every security mode of the session lab, IMAP and POP3 (IMAPS, IMAP STARTTLS, POP3S, POP3 STARTTLS,
  submissions and submission STARTTLS), one account per host: delivered, latency in the reports, message gone;
* ``fault``: a second, real Postfix in front of the lab's Dovecot (same LMTP and auth sockets) that misroutes
  alice to bob (virtual_alias_maps) and holds carol's mail (check_recipient_access HOLD): alice's message is
  found in bob's mailbox (roundtrip_delivered_elsewhere), carol's times out within the budget (delivery_timeout),
  bob's arrives; a wrong password sends nothing;
* check mode: nothing is sent, the round trip does not block;
* a lab whose Dovecot announces no UIDPLUS: the message is only flagged (cleanup_failed, a warning); the test
  expunges it itself.

After each run no test message is left in any lab mailbox (the maildirs are listed).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from maillab import MailLab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


class MisroutingPostfix(MailLab):
    """A second Postfix that delivers into ``lab``'s Dovecot (its LMTP and SASL sockets), misroutes alice's mail to
    bob (virtual alias) and puts carol's mail on hold (check_recipient_access HOLD)."""

    def __init__(self, root, lab, **kwargs):
        self.lab = lab
        super().__init__(root, services=("postfix",), **kwargs)

    def _write_postfix(self) -> None:
        super()._write_postfix()
        main = self.postfix_dir / "main.cf"
        text = main.read_text().replace(str(self.dovecot_run), str(self.lab.dovecot_run))
        (self.postfix_dir / "valias").write_text("alice@example.test bob@example.test\n")
        (self.postfix_dir / "hold").write_text("carol@example.test HOLD\n")
        text = text.replace(
            "smtpd_recipient_restrictions = reject_unlisted_recipient",
            f"smtpd_recipient_restrictions = check_recipient_access texthash:{self.postfix_dir / 'hold'}, "
            "reject_unlisted_recipient",
        )
        main.write_text(text + f"virtual_alias_maps = texthash:{self.postfix_dir / 'valias'}\n")

    def drop_held(self) -> None:
        """Delete the messages on hold (carol's), so that nothing is delivered after the test."""
        subprocess.run(["postsuper", "-c", str(self.postfix_dir), "-d", "ALL", "hold"], check=True, capture_output=True)


@pytest.fixture(scope="module")
def misrouting(mail_lab):
    from conftest import _free_port_offset

    root = Path(tempfile.mkdtemp(prefix="mailops-misroute-"))
    root.chmod(0o755)
    lab = MisroutingPostfix(root, mail_lab, port_offset=_free_port_offset())
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


def test_messages(lab) -> list[str]:
    """Every round-trip test message in any lab mailbox (new and cur), by file."""
    found = []
    for path in sorted(lab.mail_dir.rglob("*")):
        if path.is_file() and path.parent.name in ("new", "cur"):
            head = path.read_bytes()[:4096]
            if b"mailops-roundtrip." in head:
                found.append(str(path.relative_to(lab.mail_dir)))
    return found


test_messages.__test__ = False  # a helper, not a test

# Round-trip messages already in the session lab's mailboxes when this module starts (the mail_roundtrip module's
# own tests share that lab): what these tests must leave behind is exactly that, nothing more.
_BEFORE: dict[str, set] = {}


@pytest.fixture(scope="module", autouse=True)
def _messages_before(mail_lab):
    _BEFORE["session"] = set(test_messages(mail_lab))


def left_behind(lab) -> list[str]:
    """The round-trip test messages in the session lab that were not there when this module started."""
    return sorted(set(test_messages(lab)) - _BEFORE.get("session", set()))


class Fleet:
    def __init__(self, root: Path, lab, env, servers: dict, hosts: dict, extra: dict | None = None):
        self.root, self.lab, self.env = root, lab, env
        self.inventory = root / "inventory"
        self.reports = root / "reports"
        group_vars = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "mailops_verify_roundtrip": True,
            "mailops_verify_report_dir": str(self.reports),
            # Dovecot's auth penalty delays a failed login up to 15 s: keep it an auth_failed
            "mailops_verify_options": {"ca_path": lab.ca_path, "timeout": 20},
            "mailops_servers": servers,
            **(extra or {}),
        }
        (self.inventory / "group_vars").mkdir(parents=True)
        (self.inventory / "host_vars").mkdir()
        (self.inventory / "hosts.yml").write_text(json.dumps({"clients": {"hosts": dict.fromkeys(hosts)}}))
        (self.inventory / "group_vars" / "all.yml").write_text(json.dumps(group_vars, indent=1))
        for host, account in hosts.items():
            (self.inventory / "host_vars" / f"{host}.yml").write_text(json.dumps({"mailops_accounts": [account]}))

    def run(self, *args: str) -> dict:
        cmd = [str(PLAYBOOK), "-i", str(self.inventory), "mailops.clients.verify", *args]
        result = subprocess.run(
            cmd, env=self.env, cwd=self.root, capture_output=True, text=True, timeout=240, check=False
        )
        return {
            "result": result,
            "failed": {m[1]: int(m[5]) + int(m[4]) for m in RECAP.finditer(result.stdout)},
            "report": json.loads((self.reports / "mailops-verify.json").read_text()),
            "junit": ET.parse(self.reports / "mailops-verify.junit.xml").getroot(),  # noqa: S314 (our own report)
        }


def _accounts(report) -> dict:
    return {a["host"]: a for a in report["accounts"]}


def _lab_servers(lab) -> dict:
    p = lab.ports
    imap = {"protocol": "imap", "host": "127.0.0.1"}
    pop3 = {"protocol": "pop3", "host": "127.0.0.1"}
    smtps = {"host": "127.0.0.1", "port": p["submissions"], "security": "tls"}
    submission = {"host": "127.0.0.1", "port": p["submission"], "security": "starttls"}
    return {
        "imaps": {"incoming": {**imap, "port": p["imaps"], "security": "tls"}, "outgoing": smtps},
        "imap_starttls": {"incoming": {**imap, "port": p["imap"], "security": "starttls"}, "outgoing": submission},
        "pop3s": {"incoming": {**pop3, "port": p["pop3s"], "security": "tls"}, "outgoing": smtps},
        "pop3_starttls": {"incoming": {**pop3, "port": p["pop3"], "security": "starttls"}, "outgoing": submission},
    }


@pytest.fixture(scope="module")
def good(mail_lab, tmp_path_factory, ansible_env):
    users = mail_lab.users
    hosts = {
        "imaps": {"email": "alice@example.test", "server": "imaps", "password": users["alice@example.test"]},
        "imapstarttls": {"email": "bob@example.test", "server": "imap_starttls", "password": users["bob@example.test"]},
        "pop3s": {"email": "carol@example.test", "server": "pop3s", "password": users["carol@example.test"]},
        # the same mailbox as imaps, over POP3 STARTTLS: a round trip of its own (other settings)
        "pop3starttls": {
            "email": "alice@example.test",
            "server": "pop3_starttls",
            "password": users["alice@example.test"],
        },
    }
    fleet = Fleet(tmp_path_factory.mktemp("roundtrip-good"), mail_lab, ansible_env, _lab_servers(mail_lab), hosts)
    return fleet, fleet.run()


def test_roundtrip_ok_over_every_security_mode(mail_lab, good):
    fleet, run = good
    assert run["result"].returncode == 0, run["result"].stdout[-4000:] + run["result"].stderr[-2000:]
    accounts = _accounts(run["report"])
    assert set(accounts) == {"imaps", "imapstarttls", "pop3s", "pop3starttls"}
    for host, account in accounts.items():
        trip = account["roundtrip"]
        assert (host, trip["status"], trip["deleted"], trip["codes"]) == (host, "delivered", True, [])
        # the lab's STARTTLS ports offer login before STARTTLS to loopback: the endpoint's own warning
        expected = ("warning", ["plaintext_auth_before_tls"]) if "starttls" in host else ("ok", [])
        assert (host, account["verdict"], account["reasons"]) == (host, *expected)
        assert 0 < trip["latency_ms"] < 30000
        assert re.fullmatch(r"<mailops-roundtrip\.[0-9a-f]{32}@example\.test>", trip["message_id"])
    # a round trip implies the credential check (mailops_verify_credentials is off)
    assert {a["credentials"]["incoming"] for a in accounts.values()} == {"ok"}
    assert run["report"]["summary"]["roundtrips"]["delivered"] == 4
    # the latency is printed for each account and is a property of its JUnit testcase
    lines = re.findall(r'"(round trip \S+ \S+: delivered in [0-9.]+ s)"', run["result"].stdout)
    assert len(lines) == 4, run["result"].stdout[-3000:]
    props = run["junit"].findall(
        ".//testsuite[@name='accounts']/testcase/properties/property[@name='roundtrip.latency_ms']"
    )
    assert len(props) == 4 and all(float(p.get("value")) > 0 for p in props)
    assert left_behind(mail_lab) == []


def test_check_mode_sends_nothing_and_does_not_block(mail_lab, good):
    fleet, _unused = good
    run = fleet.run("--check")
    assert run["result"].returncode == 0, run["result"].stdout[-4000:]
    # check mode writes no report files: the lines say it
    lines = re.findall(r'"(round trip \S+ \S+: .*)",?$', run["result"].stdout, re.M)
    assert sorted(lines) == sorted(
        f"round trip {host} {email}: not_run (check mode: no test message was sent)"
        for host, email in [
            ("imaps", "alice@example.test"),
            ("imapstarttls", "bob@example.test"),
            ("pop3s", "carol@example.test"),
            ("pop3starttls", "alice@example.test"),
        ]
    )
    assert run["failed"] == dict.fromkeys(["imaps", "imapstarttls", "pop3s", "pop3starttls"], 0)
    assert left_behind(mail_lab) == []


@pytest.fixture(scope="module")
def faults(mail_lab, misrouting, tmp_path_factory, ansible_env):
    users = mail_lab.users
    p = mail_lab.ports
    imaps = {"protocol": "imap", "host": "127.0.0.1", "port": p["imaps"], "security": "tls"}
    servers = {
        "misrouting": {
            "incoming": imaps,
            "outgoing": {"host": "127.0.0.1", "port": misrouting.ports["submissions"], "security": "tls"},
        },
        "lab": {"incoming": imaps, "outgoing": {"host": "127.0.0.1", "port": p["submissions"], "security": "tls"}},
    }
    hosts = {
        "misrouted": {"email": "alice@example.test", "server": "misrouting", "password": users["alice@example.test"]},
        "receiver": {"email": "bob@example.test", "server": "misrouting", "password": users["bob@example.test"]},
        "held": {"email": "carol@example.test", "server": "misrouting", "password": users["carol@example.test"]},
        # no round trip for this one (roundtrip: false on the account wins over mailops_verify_roundtrip)
        "optout": {
            "email": "bob@example.test",
            "server": "lab",
            "password": users["bob@example.test"],
            "roundtrip": False,
        },
        "wrongpw": {"email": "alice@example.test", "server": "lab", "password": "not-alices-password-9"},
    }
    extra = {
        "mailops_verify_endpoint_options": {
            f"smtp://127.0.0.1:{misrouting.ports['submissions']}/tls": {"ca_path": misrouting.ca_path}
        },
        "mailops_verify_roundtrip_wait": 6,
        "mailops_verify_roundtrip_budget": 40,
        "mailops_verify_roundtrip_concurrency": 3,
    }
    fleet = Fleet(tmp_path_factory.mktemp("roundtrip-faults"), mail_lab, ansible_env, servers, hosts, extra)
    try:
        yield fleet, fleet.run("-v")  # -v: the task results are printed, so a password would show
    finally:
        misrouting.drop_held()


def test_faults_fail_the_right_hosts_with_the_right_findings(mail_lab, misrouting, faults):
    fleet, run = faults
    result = run["result"]
    assert result.returncode == 2, result.stdout[-4000:] + result.stderr[-2000:]
    assert run["failed"] == {"misrouted": 1, "receiver": 0, "held": 1, "optout": 0, "wrongpw": 1}
    # no password in the output, with credential checks off (the round trips turn the logins on)
    for secret in [*mail_lab.users.values(), "not-alices-password-9"]:
        assert secret not in result.stdout + result.stderr
    accounts = _accounts(run["report"])
    imap = f"imap://127.0.0.1:{mail_lab.ports['imaps']}/tls"

    misrouted = accounts["misrouted"]
    assert misrouted["verdict"] == "error"
    assert misrouted["reasons"] == ["roundtrip_delivered_elsewhere"]
    assert misrouted["roundtrip"]["status"] == "delivered_elsewhere"
    assert misrouted["roundtrip"]["delivered_elsewhere"] == {"endpoint": imap, "username": "bob@example.test"}
    [finding] = [f for f in misrouted["findings"] if f["code"] == "roundtrip_delivered_elsewhere"]
    assert finding["endpoint"] == imap
    assert "arrived in the mailbox of bob@example.test" in finding["message"]
    assert "postmap -q alice@example.test" in finding["fix"]

    held = accounts["held"]
    assert (held["verdict"], held["reasons"], held["roundtrip"]["status"]) == (
        "error",
        ["delivery_timeout"],
        "not_delivered",
    )
    [finding] = [f for f in held["findings"] if f["code"] == "delivery_timeout"]
    assert "postqueue -p" in finding["fix"]

    receiver = accounts["receiver"]
    assert (receiver["verdict"], receiver["roundtrip"]["status"]) == ("ok", "delivered")

    assert "roundtrip" not in accounts["optout"]
    assert accounts["optout"]["verdict"] == "ok"

    wrongpw = accounts["wrongpw"]
    assert wrongpw["verdict"] == "error" and "auth_failed" in wrongpw["reasons"]
    assert wrongpw["roundtrip"]["status"] == "not_run"
    assert wrongpw["roundtrip"]["reason"].startswith("its incoming login was not successful")

    # the endpoint lines and the gate's message name the round trip's findings
    assert (
        f"{imap}: error: 3 of 5 accounts: delivery_timeout, roundtrip_delivered_elsewhere, auth_failed" in result.stdout
    )
    assert "delivery_timeout" in result.stdout and "roundtrip_delivered_elsewhere" in result.stdout
    cases = {c.get("name"): c for c in run["junit"].iter("testcase")}
    assert cases["alice@example.test"] is not None
    failures = [
        c.find("failure").get("message") for c in run["junit"].iter("testcase") if c.find("failure") is not None
    ]
    assert any("roundtrip_delivered_elsewhere" in m for m in failures)
    assert any("delivery_timeout" in m for m in failures)
    # nothing left behind: the misrouted message was removed from bob's mailbox; carol's is held in the queue
    assert left_behind(mail_lab) == []
    held_queue = subprocess.run(
        ["postqueue", "-c", str(misrouting.postfix_dir), "-j"], capture_output=True, text=True, check=True
    ).stdout
    assert [json.loads(line)["queue_name"] for line in held_queue.splitlines()] == ["hold"]


def test_no_message_left_in_any_lab_mailbox(mail_lab, misrouting, faults):
    misrouting.drop_held()
    assert left_behind(mail_lab) == []


@pytest.fixture(scope="module")
def no_uidplus(tmp_path_factory):
    """A lab of its own whose Dovecot announces no UIDPLUS (imap_capability without it): no UID EXPUNGE."""
    from conftest import _free_port_offset

    root = Path(tempfile.mkdtemp(prefix="mailops-nouidplus-"))
    root.chmod(0o755)
    lab = MailLab(root, port_offset=_free_port_offset(), extra_dovecot_config="imap_capability = IMAP4rev1 IDLE\n")
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


def test_cleanup_failed_without_uid_expunge(no_uidplus, tmp_path_factory, ansible_env):
    import imaplib
    import ssl

    lab = no_uidplus
    p = lab.ports
    servers = {
        "lab": {
            "incoming": {"protocol": "imap", "host": "127.0.0.1", "port": p["imaps"], "security": "tls"},
            "outgoing": {"host": "127.0.0.1", "port": p["submissions"], "security": "tls"},
        }
    }
    hosts = {"c1": {"email": "alice@example.test", "server": "lab", "password": lab.users["alice@example.test"]}}
    fleet = Fleet(tmp_path_factory.mktemp("roundtrip-nouidplus"), lab, ansible_env, servers, hosts)
    run = fleet.run()
    account = _accounts(run["report"])["c1"]
    trip = account["roundtrip"]
    assert (trip["status"], trip["deleted"], trip["codes"]) == ("delivered", False, ["cleanup_failed"])
    # a warning: the playbook (fail_on error) passes, the account's verdict says it
    assert run["result"].returncode == 0, run["result"].stdout[-3000:]
    assert (account["verdict"], account["reasons"]) == ("warning", ["cleanup_failed"])
    [finding] = [f for f in account["findings"] if f["code"] == "cleanup_failed"]
    assert "UIDPLUS" in finding["message"]
    # the message is still there, flagged \Deleted: remove it (EXPUNGE) and check that the mailbox is clean
    assert len(test_messages(lab)) == 1
    context = ssl.create_default_context(cafile=lab.ca_path)
    with imaplib.IMAP4_SSL("127.0.0.1", p["imaps"], ssl_context=context, timeout=10) as client:
        client.login("alice@example.test", lab.users["alice@example.test"])
        client.select("INBOX")
        _unused, data = client.uid("SEARCH", "HEADER", "Message-ID", trip["message_id"])
        assert len(data[0].split()) == 1
        client.expunge()
    assert test_messages(lab) == []

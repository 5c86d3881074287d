# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mail_srv_records against the real Knot DNS of the discovery lab (RFC 2136 updates signed with TSIG).

The lab relays the standard mail ports of its mail address to a real Dovecot/Postfix whose certificate names the
published hosts, so the records can be read back by the collection's discovery (mail_settings_info, source srv)
and the servers they name verified. Every query goes to the lab's Knot on 127.53.N.1.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from ansible_recap import flat_output
from discoverylab import DiscoveryLab
from maillab import MailLab, issue_cert, make_ca

pytestmark = pytest.mark.lab


def srv(protocol, host, port, security="tls"):
    return {"protocol": protocol, "host": host, "port": port, "security": security, "auth": "password"}


PLAN = {
    # IMAP and POP3 over TLS, submission both ways, Autodiscover
    "pub.test": {
        "username": "email",
        "display_name": "Pub",
        "incoming": [srv("imap", "mail.pub.test", 993), srv("pop3", "mail.pub.test", 995)],
        "outgoing": [srv("smtp", "mail.pub.test", 465), srv("smtp", "mail.pub.test", 587, "starttls")],
        "autodiscover_host": "autodiscover.pub.test",
    },
    # IMAP with STARTTLS only; a cleartext POP3 that must not be published
    "imaponly.test": {
        "username": "local_part",
        "display_name": "Imap only",
        "incoming": [
            srv("imap", "mail.imaponly.test", 143, "starttls"),
            srv("pop3", "mail.imaponly.test", 110, "none"),
        ],
        "outgoing": [srv("smtp", "mail.imaponly.test", 587, "starttls")],
        "autodiscover_host": None,
    },
}
ZONES = {
    "pub.test": [
        "mail A {mail}",
        "autodiscover A {web}",
        "old A {dead}",
        # what was there before: a stale IMAP record, a STARTTLS IMAP the plan no longer offers, someone else's name
        "_imaps._tcp SRV 0 1 993 old",
        "_imap._tcp SRV 0 1 143 mail",
        "_xmpp-client._tcp SRV 0 5 5222 mail",
    ],
    "imaponly.test": ["mail A {mail}"],
    # published earlier, to be withdrawn with remove
    "gone.test": [
        "_imaps._tcp SRV 0 1 993 mail.pub.test.",
        "_submissions._tcp SRV 0 1 465 mail.pub.test.",
        "www A {web}",
    ],
    # the lab's key may not update this zone
    "ro.test": ["mail A {mail}"],
}
TTL = 300


def expected_answers():
    """name -> sorted (priority, weight, port, target) the zone must answer after publishing PLAN."""
    return {
        "_imaps._tcp.pub.test.": [(0, 1, 993, "mail.pub.test.")],
        "_imap._tcp.pub.test.": [(0, 0, 0, ".")],
        "_pop3s._tcp.pub.test.": [(10, 1, 995, "mail.pub.test.")],
        "_pop3._tcp.pub.test.": [(0, 0, 0, ".")],
        "_submissions._tcp.pub.test.": [(0, 1, 465, "mail.pub.test.")],
        "_submission._tcp.pub.test.": [(10, 1, 587, "mail.pub.test.")],
        "_autodiscover._tcp.pub.test.": [(0, 0, 443, "autodiscover.pub.test.")],
        "_imaps._tcp.imaponly.test.": [(0, 0, 0, ".")],
        "_imap._tcp.imaponly.test.": [(0, 1, 143, "mail.imaponly.test.")],
        "_pop3s._tcp.imaponly.test.": [(0, 0, 0, ".")],
        "_pop3._tcp.imaponly.test.": [(0, 0, 0, ".")],
        "_submissions._tcp.imaponly.test.": [(0, 0, 0, ".")],
        "_submission._tcp.imaponly.test.": [(0, 1, 587, "mail.imaponly.test.")],
        "_autodiscover._tcp.imaponly.test.": [],
        "_imaps._tcp.gone.test.": [],
        "_submissions._tcp.gone.test.": [],
    }


@pytest.fixture(scope="module")
def lab():
    from conftest import _free_port_offset

    root = Path(tempfile.mkdtemp(prefix="mailops-srv-"))
    root.chmod(0o755)
    tls = root / "mail" / "tls"
    tls.mkdir(parents=True)
    for path in (root / "mail", tls):
        path.chmod(0o755)
    ca_cert, ca_key = make_ca("mailops.clients SRV publishing lab CA")
    (tls / "ca.crt").write_bytes(ca_cert)
    (tls / "ca.key").touch(mode=0o600)
    (tls / "ca.key").write_bytes(ca_key)
    names = ["mail.pub.test", "mail.imaponly.test", "localhost"]
    mail = MailLab(root / "mail", port_offset=_free_port_offset(), server_cert=issue_cert(ca_cert, ca_key, names))
    discovery = DiscoveryLab(root / "dns", mail.describe(), ZONES, readonly_zones=["ro.test"])
    try:
        mail.start()
        discovery.start()
        yield mail, discovery
    finally:
        discovery.stop()
        mail.stop()
        shutil.rmtree(root, ignore_errors=True)


def srv_rrset(discovery, name):
    reply = dns.query.tcp(dns.message.make_query(name, "SRV"), discovery.dns_address, timeout=5)
    assert reply.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)
    return reply.get_rrset(reply.answer, dns.name.from_text(name), dns.rdataclass.IN, dns.rdatatype.SRV)


def answers(discovery, name):
    """The SRV records Knot answers for ``name``: sorted (priority, weight, port, target); [] for none."""
    rrset = srv_rrset(discovery, name)
    if rrset is None:
        return []
    return sorted((r.priority, r.weight, r.port, r.target.to_text()) for r in rrset)


def soa_serial(discovery, zone):
    reply = dns.query.tcp(dns.message.make_query(zone, "SOA"), discovery.dns_address, timeout=5)
    return reply.answer[0][0].serial


def dns_option(discovery, **changes):
    option = {"server": discovery.dns_address, "timeout": 5, "tsig": dict(discovery.tsig)}
    option.update(changes)
    return option


def run(ansible_playbook, tmp_path, *tasks, check=False, diff=False, verbosity=0):
    """One play with a mail_srv_records task per argument set; (results, process)."""
    out = tmp_path / f"result-{time.monotonic_ns()}.json"
    lines = ["- hosts: localhost", "  gather_facts: false", "  tasks:"]
    for index, args in enumerate(tasks):
        lines += [
            f"    - name: Publish {index}",
            f"      mailops.clients.mail_srv_records: {json.dumps(args)}",
            f"      register: done_{index}",
            "      ignore_errors: true",
        ]
    lines += [
        "    - name: Hand the results over",
        "      ansible.builtin.copy:",
        f'        content: "{{{{ [{", ".join(f"done_{i}" for i in range(len(tasks)))}] | to_json }}}}"',
        f"        dest: {out}",
        "      check_mode: false",
    ]
    extra = ["--diff"] if diff else []
    proc = ansible_playbook("\n".join(lines) + "\n", check=check, extra_args=extra, verbosity=verbosity)
    assert out.exists(), proc.stdout + proc.stderr
    return json.loads(out.read_text()), proc


def test_publish_check_mode_run_and_idempotence(ansible_playbook, tmp_path, lab):
    _mail, discovery = lab
    zone_file = tmp_path / "mail-srv.zone"
    args = {
        "domains": PLAN,
        "remove": ["gone.test"],
        "ttl": TTL,
        "zone_file": str(zone_file),
        "dns": dns_option(discovery),
    }
    before = {name: answers(discovery, name) for name in expected_answers()}
    serial = soa_serial(discovery, "pub.test")

    # check mode: the changes are reported, nothing is sent or written
    [checked], proc = run(ansible_playbook, tmp_path, args, check=True, diff=True)
    assert checked["changed"] is True and not checked.get("failed"), proc.stdout
    assert {name: answers(discovery, name) for name in expected_answers()} == before
    assert not zone_file.exists()
    assert soa_serial(discovery, "pub.test") == serial
    by_name = {c["name"]: c for c in checked["changes"]}
    assert by_name["_imaps._tcp.pub.test."]["action"] == "update"
    assert by_name["_imaps._tcp.pub.test."]["before"] == ["_imaps._tcp.pub.test. 60 IN SRV 0 1 993 old.pub.test."]
    assert by_name["_imaps._tcp.gone.test."]["action"] == "delete"
    assert by_name["_pop3s._tcp.pub.test."]["action"] == "create"
    assert "_autodiscover._tcp.imaponly.test." not in by_name  # nothing there, nothing wanted
    # diff mode: zone lines before/after
    assert "-_imaps._tcp.pub.test. 60 IN SRV 0 1 993 old.pub.test." in proc.stdout
    assert "+_imaps._tcp.pub.test. 300 IN SRV 0 1 993 mail.pub.test." in proc.stdout
    assert "+_imap._tcp.pub.test. 300 IN SRV 0 0 0 ." in proc.stdout
    # the cleartext POP3 server is left out, with a warning
    assert [(s["domain"], s["host"], s["port"]) for s in checked["not_published"]] == [
        ("imaponly.test", "mail.imaponly.test", 110)
    ]
    assert "mail.imaponly.test:110 without TLS is not published" in flat_output(proc)

    # the run: Knot answers what was planned, other records of the zones stay
    [done], proc = run(ansible_playbook, tmp_path, args, diff=True)
    assert done["changed"] is True and not done.get("failed"), proc.stdout
    assert {c["name"] for c in done["changes"]} == {c["name"] for c in checked["changes"]}
    assert {name: answers(discovery, name) for name in expected_answers()} == expected_answers()
    assert {srv_rrset(discovery, name).ttl for name, records in expected_answers().items() if records} == {TTL}
    assert answers(discovery, "_xmpp-client._tcp.pub.test.") == [(0, 5, 5222, "mail.pub.test.")]
    reply = dns.query.tcp(dns.message.make_query("www.gone.test.", "A"), discovery.dns_address, timeout=5)
    assert reply.answer, "an unrelated record of a removed domain was deleted"
    assert soa_serial(discovery, "pub.test") > serial
    text = zone_file.read_text()
    assert "_imaps._tcp.pub.test. 300 IN SRV 0 1 993 mail.pub.test.\n" in text
    assert "_imap._tcp.imaponly.test. 300 IN SRV 0 1 143 mail.imaponly.test.\n" in text
    assert "gone.test" not in text and "_autodiscover._tcp.imaponly.test." not in text
    assert done["zone_file"]["changed"] is True

    # again, in check mode and for real: nothing to do
    serial = soa_serial(discovery, "pub.test")
    [again_check], proc = run(ansible_playbook, tmp_path, args, check=True)
    assert again_check["changed"] is False and again_check["changes"] == [], proc.stdout
    mtime = zone_file.stat().st_mtime_ns
    [again], proc = run(ansible_playbook, tmp_path, args)
    assert again["changed"] is False and again["changes"] == [], proc.stdout
    assert soa_serial(discovery, "pub.test") == serial
    assert zone_file.stat().st_mtime_ns == mtime
    # the TSIG secret appears nowhere
    assert discovery.tsig["secret"] not in proc.stdout + proc.stderr
    assert discovery.tsig["secret"] not in json.dumps([checked, done, again])


def test_discovery_reads_the_records_back(ansible_playbook, tmp_path, lab):
    """mail_settings_info (source srv only) finds the published servers, verifies them, and sees "not offered"."""
    mail, discovery = lab
    publish = {"domains": PLAN, "ttl": TTL, "dns": dns_option(discovery)}
    base = {"dns_servers": [discovery.dns_address], "ca_path": mail.ca_path, "sources": ["srv"], "timeout": 30}
    task = dict(base, emails=["alice@pub.test", "bob@imaponly.test"])
    # one play (each ansible-playbook run costs half a minute on a busy machine): publish, then discover
    play = (
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        f"    - mailops.clients.mail_srv_records: {json.dumps(publish)}\n"
        f"    - mailops.clients.mail_settings_info: {json.dumps(task)}\n      register: found\n"
        f'    - ansible.builtin.copy: {{content: "{{{{ found | to_json }}}}", dest: {tmp_path / "found.json"}}}\n'
    )
    proc = ansible_playbook(play)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pub, imaponly = json.loads((tmp_path / "found.json").read_text())["results"]
    incoming, outgoing = pub["server"]["incoming"], pub["server"]["outgoing"]
    assert (incoming["protocol"], incoming["host"], incoming["port"], incoming["security"]) == (
        "imap",
        "mail.pub.test",
        993,
        "tls",
    )
    assert (outgoing["host"], outgoing["port"], outgoing["security"]) == ("mail.pub.test", 465, "tls")
    srv_candidates = {(c["protocol"], c["port"], c["security"], c["verified"]) for c in pub["candidates"]}
    assert {("pop3", 995, "tls", True), ("smtp", 587, "starttls", True)} <= srv_candidates
    incoming = imaponly["server"]["incoming"]
    assert (incoming["host"], incoming["port"], incoming["security"]) == ("mail.imaponly.test", 143, "starttls")
    assert all(c["protocol"] != "pop3" for c in imaponly["candidates"])  # the cleartext POP3 was not published
    not_offered = {f["message"] for f in imaponly["findings"] if f["code"] == "discovery_service_not_offered"}
    assert any("_imaps._tcp.imaponly.test" in m for m in not_offered), imaponly["findings"]


def test_errors_name_the_field(ansible_playbook, tmp_path, lab):
    _mail, discovery = lab
    secret = discovery.tsig["secret"]
    silent = socket.socket()
    silent.bind((discovery.address(10), 53))
    silent.listen(8)  # the kernel completes the handshake; nobody ever answers
    plan = {"pub.test": PLAN["pub.test"]}
    wrong_secret = dict(discovery.tsig, secret="QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=")
    cases = [
        (
            {"domains": plan, "dns": dns_option(discovery, tsig=wrong_secret)},
            "dns.tsig.secret: 127.53.",
            "rejected the signature made with the key mailops-lab-update (TSIG BADSIG",
        ),
        (
            {"domains": plan, "dns": dns_option(discovery, tsig=dict(discovery.tsig, name="no-such-key"))},
            "dns.tsig.name: ",
            "does not accept the key no-such-key for the zone pub.test (TSIG BADKEY",
        ),
        (
            {"domains": {"ro.test": PLAN["imaponly.test"]}, "dns": dns_option(discovery)},
            "dns.tsig.name: ",
            "does not accept the key mailops-lab-update for the zone ro.test",
        ),
        (
            {"domains": {"nozone.test": PLAN["imaponly.test"]}, "dns": dns_option(discovery)},
            "dns.zone: ",
            "is not authoritative for the zone nozone.test (answer REFUSED",
        ),
        (
            {"domains": plan, "dns": dns_option(discovery, tsig=None)},
            "dns: ",
            "answered NOTAUTH to the update of zone pub.test; give dns.tsig",
        ),
        (
            {"domains": plan, "dns": dns_option(discovery, server=discovery.dead_address)},
            "dns.server: cannot talk to ",
            "Connection refused",
        ),
        (
            {"domains": plan, "dns": dns_option(discovery, server=discovery.address(10), timeout=1)},
            "dns.server: no answer from ",
            "within 1s",
        ),
        (
            {"domains": plan, "dns": dns_option(discovery, tsig=dict(discovery.tsig, secret="x" + secret[:-2]))},
            "dns.tsig.secret: not a base64 key",
            "",
        ),
        ({"domains": plan, "ttl": -5}, "ttl: -5 is not a TTL in seconds", ""),
        ({"domains": {"pub.test": {"incoming": [srv("imap", "mail.pub.test", 99999)]}}}, "domains['pub.test']", "port"),
    ]
    try:
        results, proc = run(ansible_playbook, tmp_path, *(args for args, _start, _part in cases), verbosity=3)
    finally:
        silent.close()
    for got, (_args, start, part) in zip(results, cases):
        assert got.get("failed") is True, got
        assert got["msg"].startswith(start) and part in got["msg"], got["msg"]
        assert "Traceback" not in got["msg"]
    assert secret not in proc.stdout + proc.stderr
    assert "QUFBQUFBQUFB" not in proc.stdout + proc.stderr
    # nothing reached the zone: the plan's records are not there
    assert answers(discovery, "_imaps._tcp.ro.test.") == []

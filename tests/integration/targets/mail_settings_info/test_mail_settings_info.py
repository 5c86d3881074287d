# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mail_settings_info against the real lab: Knot DNS, the document server and the real Dovecot/Postfix.

Every test points dns_servers and ispdb_url at the lab; the direct engine test also fails if its process
connects anywhere outside 127.0.0.0/8.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from discovery_domains import ISPDB_URL, PASSWORD_USER, start_lab  # noqa: E402

pytestmark = pytest.mark.lab

# domain -> (incoming (protocol, host, port, security) or None, source of the chosen incoming, finding codes)
EXPECTED = {
    "ac.test": (("imap", "mail.ac.test", 993, "tls"), "autoconfig", set()),
    "wk.test": (("imap", "mail.wk.test", 993, "tls"), "wellknown", set()),
    "isp.test": (("imap", "mail.isp.test", 993, "tls"), "ispdb", set()),
    "mxd.test": (("imap", "mail.mxprovider.test", 993, "tls"), "mx", set()),
    "srv.test": (("imap", "mail.srv.test", 993, "tls"), "srv", set()),
    "ad.test": (("imap", "mail.ad.test", 993, "tls"), "autodiscover", set()),
    "guess.test": (("imap", "imap.guess.test", 993, "tls"), "guess", set()),
    "disagree.test": (("imap", "mail.disagree.test", 993, "tls"), "srv", {"discovery_sources_disagree"}),
    "liar.test": (("imap", "mail.liar.test", 993, "tls"), "srv", {"discovery_candidate_failed"}),
    "redirect.test": (("imap", "mail.redirect.test", 993, "tls"), "autoconfig", set()),
    "httponly.test": (("imap", "mail.httponly.test", 993, "tls"), "autoconfig", {"discovery_document_untrusted"}),
    "badcertdoc.test": (
        ("imap", "mail.badcertdoc.test", 993, "tls"),
        "autoconfig",
        {"discovery_document_untrusted"},
    ),
    "badcertmail.test": (None, None, {"discovery_candidate_failed", "discovery_cleartext_refused"}),
    "pop.test": (("pop3", "mail.pop.test", 995, "tls"), "srv", {"discovery_service_not_offered"}),
    "nothing.test": (None, None, {"discovery_nothing_verified"}),
    "cleartext.test": (("imap", "legacy.cleartext.test", 143, "none"), "autoconfig", {"discovery_cleartext_only"}),
    "example.test": (("imap", "mail.example.test", 993, "tls"), "srv", set()),
}


GUARD_DIR = Path(__file__).resolve().parent / "loopback_guard"


@pytest.fixture(scope="module")
def guard_log(tmp_path_factory):
    return tmp_path_factory.mktemp("guard") / "non-loopback.log"


@pytest.fixture(scope="module")
def ansible_env(ansible_env, guard_log):
    """The shared Ansible environment plus the loopback guard in every Python process Ansible starts."""
    env = dict(ansible_env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(GUARD_DIR), env.get("PYTHONPATH", "")) if p)
    env["MAILOPS_LOOPBACK_GUARD_LOG"] = str(guard_log)
    return env


@pytest.fixture(autouse=True)
def _nothing_left_loopback(guard_log):
    yield
    assert not guard_log.exists() or not guard_log.read_text(), f"non-loopback traffic: {guard_log.read_text()}"


@pytest.fixture(scope="module")
def lab():
    from conftest import _free_port_offset

    with start_lab(_free_port_offset()) as (mail, discovery):
        yield mail, discovery


def _play(lab, tasks):
    """A play with one mail_settings_info task per argument set; the results go to {{ out }} as a JSON list."""
    mail, discovery = lab
    base = {"dns_servers": [discovery.dns_address], "ispdb_url": ISPDB_URL, "ca_path": mail.ca_path, "timeout": 30}
    lines = ["- hosts: localhost", "  gather_facts: false", "  tasks:"]
    for index, args in enumerate(tasks):
        lines += [
            f"    - name: Discover {index}",
            f"      mailops.clients.mail_settings_info: {json.dumps(dict(base, **args))}",
            f"      register: found_{index}",
            "      ignore_errors: true",
        ]
    found = ", ".join(f"found_{index}" for index in range(len(tasks)))
    lines += [
        "    - name: Hand the results over",
        "      ansible.builtin.copy:",
        f'        content: "{{{{ [{found}] | to_json }}}}"',
        '        dest: "{{ out }}"',
        "      check_mode: false",
    ]
    return "\n".join(lines) + "\n"


def _run(ansible_playbook, tmp_path, lab, *tasks, check=False):
    """Run one play with a task per argument set (one ansible-playbook start); (results, process)."""
    out = tmp_path / f"result-{time.monotonic_ns()}.json"
    proc = ansible_playbook(_play(lab, tasks), extra_vars={"out": str(out)}, check=check)
    assert out.exists(), proc.stdout + proc.stderr
    return json.loads(out.read_text()), proc


# the every-domain result, reused by the Thunderbird comparison (one discovery run for both)
_EVERY_DOMAIN = {}


def _table(results):
    lines = ["address | incoming | outgoing | source | findings"]
    for r in results:
        server = r["server"]
        if server:
            i, o = server["incoming"], server["outgoing"]
            incoming = f"{i['protocol']}://{i['host']}:{i['port']}/{i['security']}"
            outgoing = f"smtp://{o['host']}:{o['port']}/{o['security']}"
        else:
            incoming = outgoing = "-"
        source = r["candidates"][0]["source"] if server else "-"
        codes = ",".join(sorted({f["code"] for f in r["findings"]}))
        lines.append(f"{r['email']} | {incoming} | {outgoing} | {source} | {codes}")
    return "\n".join(lines)


def test_every_lab_domain(ansible_playbook, tmp_path, lab):
    """One task over every domain: each source alone, disagreeing and lying sources, certificate problems."""
    emails = [f"alice@{domain}" for domain in EXPECTED]
    started = time.monotonic()
    [result], proc = _run(ansible_playbook, tmp_path, lab, {"emails": emails})
    elapsed = time.monotonic() - started
    _EVERY_DOMAIN["result"] = result
    assert not result.get("failed"), proc.stdout
    assert result["changed"] is False
    print(f"\n{_table(result['results'])}\n({len(emails)} addresses in {elapsed:.1f}s, ansible-playbook included)")
    assert [r["email"] for r in result["results"]] == emails
    for r in result["results"]:
        domain = r["email"].split("@")[1]
        incoming, source, codes = EXPECTED[domain]
        got_codes = {f["code"] for f in r["findings"]}
        assert codes <= got_codes, (domain, r["findings"])
        if incoming is None:
            assert r["server"] is None, (domain, r["server"])
            continue
        server = r["server"]
        assert server is not None, (domain, r["findings"], r["sources"])
        i = server["incoming"]
        assert (i["protocol"], i["host"], i["port"], i["security"]) == incoming, domain
        best = r["candidates"][0]
        assert (best["host"], best["port"], best["verified"], best["source"]) == (i["host"], i["port"], True, source)
        # never a server that did not verify
        for side in ("incoming", "outgoing"):
            s = server[side]
            chosen = [
                c
                for c in r["candidates"]
                if (c["host"], c["port"], c["security"]) == (s["host"], s["port"], s["security"])
                and c["direction"] == side
            ]
            assert chosen and chosen[0]["verified"], (domain, side)
        if i["security"] == "none":
            assert server["allow_insecure"] is True
            assert any(f["code"] == "discovery_cleartext_only" and f["severity"] == "error" for f in r["findings"])
        else:
            assert "allow_insecure" not in server
            assert server["outgoing"]["security"] == "tls", domain
    by_domain = {r["email"].split("@")[1]: r for r in result["results"]}
    redirected = by_domain["redirect.test"]["sources"]["autoconfig"]
    assert redirected["status"] == "found"
    assert "redirect to https://wk.test/shared/redirect.test.xml" in redirected["detail"]
    assert by_domain["wk.test"]["username_form"] == "local_part"
    assert by_domain["ac.test"]["username_form"] == "email"
    liar = [f for f in by_domain["liar.test"]["findings"] if f["code"] == "discovery_candidate_failed"]
    assert any("https://autoconfig.liar.test/" in f["message"] and "old.liar.test" in f["message"] for f in liar)
    # a guessed IMAP on the POP3-only domain is not proposed: its SRV "." says IMAP is not offered
    assert all(c["protocol"] != "imap" for c in by_domain["pop.test"]["candidates"])
    # Autodiscover got Outlook's POX request; autoconfig got ?emailaddress=; no credentials anywhere
    _mail, discovery = lab
    posts = [q for q in discovery.requests if q["method"] == "POST" and q["host"] == "autodiscover.ad.test"]
    assert posts and posts[0]["content_type"] == "text/xml; charset=utf-8"
    assert "<EMailAddress>alice@ad.test</EMailAddress>" in posts[0]["body"]
    assert any(q["path"].endswith("?emailaddress=alice@ac.test") for q in discovery.requests)
    assert all(q["authorization"] is None for q in discovery.requests)


def test_login_is_part_of_verification(ansible_playbook, tmp_path, lab):
    mail, discovery = lab
    password = mail.users[PASSWORD_USER]
    before = len(discovery.requests)
    [good, bad], proc = _run(
        ansible_playbook,
        tmp_path,
        lab,
        {"email": PASSWORD_USER, "password": password},
        {"email": PASSWORD_USER, "password": "wrong-password"},
    )
    assert good["server"]["incoming"]["host"] == "mail.example.test", proc.stdout
    best = good["candidates"][0]
    assert best["login"]["succeeded"] is True and best["login"]["username"] == PASSWORD_USER
    assert password not in json.dumps(good) and password not in proc.stdout
    assert all(password not in q["body"] and q["authorization"] is None for q in discovery.requests[before:])
    assert bad["server"] is None
    assert "discovery_cleartext_refused" in {f["code"] for f in bad["findings"]}
    tls = [c for c in bad["candidates"] if (c["host"], c["port"]) == ("mail.example.test", 993)][0]
    assert tls["verified"] is False and any(f["stage"] == "auth" for f in tls["findings"])


def test_check_mode_and_option_errors(ansible_playbook, tmp_path, lab):
    errors = [
        ({"email": "alice"}, "email: expected an email address like alice@example.org, got 'alice'"),
        (
            {"email": "a@srv.test", "emails": ["b@srv.test"]},
            "give exactly one of email (one address) or emails (a list of addresses)",
        ),
        ({"email": "a@srv.test", "dns_servers": ["ns.lab.test"]}, "dns_servers[0]: expected an IP address"),
        ({"emails": ["a@srv.test", "b@"]}, "emails[1]: expected an email address"),
        ({"email": "a@srv.test", "sources": ["dns"]}, "value of sources must be one or more of"),
    ]
    [result, *failed], proc = _run(
        ansible_playbook, tmp_path, lab, {"email": "alice@srv.test"}, *(a for a, _m in errors), check=True
    )
    assert result["changed"] is False and result["server"]["incoming"]["port"] == 993, proc.stdout
    for got, (_args, message) in zip(failed, errors):
        assert got["failed"] is True
        assert got["msg"].startswith(message), got["msg"]


def test_timeout_bounds_silent_servers(lab):
    """Every host silent: the whole discovery still ends within timeout x 1.2, and never leaves loopback."""
    from ansible_collections.mailops.clients.plugins.plugin_utils import _discovery_engine as engine

    mail, discovery = lab
    silent = socket.socket()
    silent.bind((discovery.address(10), 993))
    silent.listen(64)  # accepts (the kernel completes the handshake) and never says a word
    discovery.update("nothing.test", [("add", "imap", 60, "A", discovery.address(10))])
    discovery.update("nothing.test", [("add", "_imaps._tcp", 60, "SRV", "0 0 993 imap.nothing.test.")])
    outside = []

    def guard(event, args):
        if event == "socket.connect" and isinstance(args[1], tuple):
            host = args[1][0]
            try:
                if not ipaddress.ip_address(host).is_loopback:
                    outside.append(host)
            except ValueError:
                outside.append(host)

    sys.addaudithook(guard)
    options = engine.Options(timeout=4, dns_servers=[discovery.dns_address], ispdb_url=ISPDB_URL, ca_path=mail.ca_path)
    started = time.monotonic()
    try:
        [result] = engine.discover(["alice@nothing.test"], options)
    finally:
        elapsed = time.monotonic() - started
        silent.close()
        discovery.update("nothing.test", [("delete", "imap", 0, "A", None), ("delete", "_imaps._tcp", 0, "SRV", None)])
    assert elapsed <= 4 * 1.2, elapsed
    assert result["server"] is None
    silent_candidate = [c for c in result["candidates"] if c["host"] == "imap.nothing.test" and c["port"] == 993]
    assert silent_candidate and not silent_candidate[0]["verified"]
    assert not outside, outside


def test_discover_playbook_writes_a_verified_snippet(ansible_playbook, tmp_path, lab):
    import yaml

    mail, discovery = lab
    dest = tmp_path / "found"
    extra = {
        "mailops_discover_emails": ["alice@ac.test", "bob@wk.test", "alice@nothing.test"],
        "mailops_discover_dest": str(dest),
        "mailops_discover_dns_servers": [discovery.dns_address],
        "mailops_discover_ispdb_url": ISPDB_URL,
        "mailops_discover_ca_path": mail.ca_path,
    }
    proc = ansible_playbook("- ansible.builtin.import_playbook: mailops.clients.discover\n", extra_vars=extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    snippet = yaml.safe_load((dest / "mailops_servers.yml").read_text())
    assert snippet["mailops_servers"] == {
        "ac.test": {
            "incoming": {
                "protocol": "imap",
                "host": "mail.ac.test",
                "port": 993,
                "security": "tls",
                "auth": "password",
            },
            "outgoing": {"host": "mail.ac.test", "port": 465, "security": "tls", "auth": "password"},
        },
        "wk.test": {
            "incoming": {
                "protocol": "imap",
                "host": "mail.wk.test",
                "port": 993,
                "security": "tls",
                "auth": "password",
            },
            "outgoing": {"host": "mail.wk.test", "port": 465, "security": "tls", "auth": "password"},
        },
    }
    assert snippet["mailops_accounts"] == [
        {"email": "alice@ac.test", "server": "ac.test"},
        {"email": "bob@wk.test", "server": "wk.test", "username": "bob"},
    ]
    table = (dest / "discovered.txt").read_text()
    assert "alice@ac.test: incoming imap://mail.ac.test:993/tls (source: autoconfig, ok)" in table
    assert "alice@nothing.test: nothing verified" in table
    assert "error discovery_nothing_verified" in table
    assert [r["email"] for r in json.loads((dest / "discovered.json").read_text())] == extra["mailops_discover_emails"]
    # the snippet is a valid inventory: the collection's own normalization accepts it as it is
    from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import normalize_accounts

    normalized = normalize_accounts(snippet["mailops_accounts"], snippet["mailops_servers"], host="localhost")
    assert [(a["email"], a["incoming"]["username"], a["incoming"]["port"]) for a in normalized] == [
        ("alice@ac.test", "alice@ac.test", 993),
        ("bob@wk.test", "bob", 993),
    ]


_SECURITY_RANK = {"tls": 0, "starttls": 1, "none": 2}
_PROTOCOL_RANK = {"imap": 0, "pop3": 1}


def _tb_server(config):
    """Thunderbird's config as (incoming, outgoing) endpoint dicts spelled like mailops_servers."""
    from thunderbird_peer import SOCKET_TYPES

    incoming, outgoing = config["incoming"], config["outgoing"]
    return {
        "incoming": {
            "protocol": incoming["type"],
            "host": incoming["host"],
            "port": incoming["port"],
            "security": SOCKET_TYPES[incoming["socket"]],
        },
        "outgoing": {"host": outgoing["host"], "port": outgoing["port"], "security": SOCKET_TYPES[outgoing["socket"]]},
    }


def _goodness(server):
    incoming, outgoing = server["incoming"], server["outgoing"]
    return (
        _PROTOCOL_RANK[incoming["protocol"]],
        _SECURITY_RANK[incoming["security"]],
        _SECURITY_RANK[outgoing["security"]],
    )


def _declared_not_offered(result, domain, server):
    """Whether our findings carry an SRV "." (RFC 2782) for the service of ``server``'s incoming side."""
    from ansible_collections.mailops.clients.plugins.plugin_utils._discovery import SRV_SERVICES

    incoming = server["incoming"]
    labels = [
        label
        for label, (_direction, protocol, security) in SRV_SERVICES.items()
        if protocol == incoming["protocol"] and security == incoming["security"]
    ]
    said = {f["message"].split()[1] for f in result["findings"] if f["code"] == "discovery_service_not_offered"}
    return any(f"{label}.{domain}" in said for label in labels)


def _label(server):
    if server is None:
        return "-"
    i, o = server["incoming"], server["outgoing"]
    return f"{i['protocol']}://{i['host']}:{i['port']}/{i['security']} + smtp://{o['host']}:{o['port']}/{o['security']}"


@pytest.mark.slow
def test_thunderbird_as_the_peer(ansible_playbook, tmp_path, lab):
    """Thunderbird's own discovery on the same domains: where it finds settings its own probe accepts, ours are at
    least as good; and Thunderbird's probe accepts every server we propose."""
    import thunderbird_peer as tb

    if tb.THUNDERBIRD is None or shutil.which("certutil") is None:
        pytest.skip("thunderbird and certutil are not installed (tools/install-system-deps.sh)")
    mail, discovery = lab
    emails = [f"alice@{domain}" for domain in EXPECTED]
    ours = _EVERY_DOMAIN.get("result")
    if ours is None:  # this test alone (-k): run the discovery here
        [ours], _proc = _run(ansible_playbook, tmp_path, lab, {"emails": emails})
    rows = ["domain | Thunderbird (source) | accepted by its probe | ours (source)"]
    problems = []
    with tb.thunderbird(tmp_path, discovery.dns_address, ISPDB_URL, mail.ca_path) as client:
        for email, result in zip(emails, ours["results"]):
            domain = email.split("@")[1]
            theirs = tb.discover(client, domain, email)
            config = theirs["found"] or theirs["guessed"]
            tb_server = _tb_server(config) if config and config["incoming"] and config["outgoing"] else None
            tb_works = False
            if tb_server is not None:
                tb_works = bool(tb.probe(client, domain, tb_server)["probed"])
            server = result["server"]
            source = result["candidates"][0]["source"] if server else "-"
            rows.append(
                f"{domain} | {_label(tb_server)} ({config['source'] if config else '-'}) | {tb_works} | "
                f"{_label(server)} ({source})"
            )
            if tb_works and _declared_not_offered(result, domain, tb_server):
                rows[-1] += " - Thunderbird's choice is a service the domain's SRV '.' declares not offered"
            elif tb_works and (server is None or _goodness(server) > _goodness(tb_server)):
                problems.append(f"{domain}: Thunderbird found working {_label(tb_server)}, ours {_label(server)}")
            if server is not None and not tb.probe(client, domain, server)["probed"]:
                problems.append(f"{domain}: Thunderbird's probe rejects our {_label(server)}")
    print("\n" + "\n".join(rows))
    assert not problems, problems

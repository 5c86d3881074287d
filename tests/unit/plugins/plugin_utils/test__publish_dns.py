# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SRV record planning (plugin_utils._publish_dns): labels, priorities, "not offered", removal, checks, diffs."""

from __future__ import annotations

import re

import pytest
from ansible_collections.mailops.clients.plugins.plugin_utils import _publish_dns as p
from ansible_collections.mailops.clients.plugins.plugin_utils._discovery import srv_candidates


def server(protocol, host, port, security="tls"):
    return {"protocol": protocol, "host": host, "port": port, "security": security, "auth": "password"}


FULL = {
    "example.test": {
        "username": "email",
        "display_name": "Example",
        "incoming": [server("imap", "mail.example.test", 993), server("pop3", "pop.example.test", 995)],
        "outgoing": [server("smtp", "mail.example.test", 465), server("smtp", "mail.example.test", 587, "starttls")],
        "autodiscover_host": "autodiscover.example.test",
    }
}


def planned(domains, remove=(), ttl=300):
    plan, removed = p.check_plan(domains, list(remove))
    return p.plan_records(plan, removed, ttl)


def lines(domains, remove=(), ttl=300):
    wanted, _skipped = planned(domains, remove, ttl)
    return [line for names in wanted.values() for line in p.zone_lines(names)]


def test_full_plan_records():
    assert lines(FULL) == [
        "_imaps._tcp.example.test. 300 IN SRV 0 1 993 mail.example.test.",
        "_imap._tcp.example.test. 300 IN SRV 0 0 0 .",
        "_pop3s._tcp.example.test. 300 IN SRV 10 1 995 pop.example.test.",
        "_pop3._tcp.example.test. 300 IN SRV 0 0 0 .",
        "_submissions._tcp.example.test. 300 IN SRV 0 1 465 mail.example.test.",
        "_submission._tcp.example.test. 300 IN SRV 10 1 587 mail.example.test.",
        "_autodiscover._tcp.example.test. 300 IN SRV 0 0 443 autodiscover.example.test.",
    ]


@pytest.mark.parametrize(
    ("incoming", "expected"),
    [
        # two IMAP servers: both under _imaps, in preference order
        (
            [server("imap", "a.example.test", 993), server("imap", "b.example.test", 993)],
            {"_imaps._tcp": [(0, 1, 993, "a.example.test."), (10, 1, 993, "b.example.test.")]},
        ),
        # POP3 preferred over IMAP: the priority says so across the labels (RFC 6186 section 3.4)
        (
            [server("pop3", "m.example.test", 995), server("imap", "m.example.test", 143, "starttls")],
            {"_pop3s._tcp": [(0, 1, 995, "m.example.test.")], "_imap._tcp": [(10, 1, 143, "m.example.test.")]},
        ),
        # the same server twice keeps its first place
        (
            [server("imap", "m.example.test", 993), server("imap", "M.Example.Test.", 993)],
            {"_imaps._tcp": [(0, 1, 993, "m.example.test.")]},
        ),
        # nothing incoming: every incoming label says "not offered"
        ([], {}),
    ],
)
def test_priorities_follow_preference(incoming, expected):
    domains = {"example.test": {"incoming": incoming, "outgoing": [server("smtp", "m.example.test", 465)]}}
    wanted, _skipped = planned(domains)
    for label in ("_imaps._tcp", "_imap._tcp", "_pop3s._tcp", "_pop3._tcp"):
        records = [r.rdata for r in p.ordered(wanted["example.test"][f"{label}.example.test."])]
        assert records == expected.get(label, [p.NOT_OFFERED]), label


def test_discovery_reads_the_plan_back():
    """What the discovery module makes of the planned records: the same servers, "." as not offered."""
    wanted, _skipped = planned(FULL)
    names = wanted["example.test"]
    found, not_offered = srv_candidates("_imaps._tcp", [r.rdata for r in names["_imaps._tcp.example.test."]])
    assert (not_offered, [(c.host, c.port, c.security) for c in found]) == (
        False,
        [("mail.example.test", 993, "tls")],
    )
    assert srv_candidates("_pop3._tcp", [r.rdata for r in names["_pop3._tcp.example.test."]]) == ([], True)
    found, _not_offered = srv_candidates("_submission._tcp", [r.rdata for r in names["_submission._tcp.example.test."]])
    assert [(c.protocol, c.port, c.security) for c in found] == [("smtp", 587, "starttls")]


@pytest.mark.parametrize("security", ["none", "plain"])
def test_cleartext_server_is_skipped(security):
    domains = {
        "example.test": {
            "incoming": [server("imap", "old.example.test", 143, security), server("imap", "m.example.test", 993)],
            "outgoing": [server("smtp", "m.example.test", 587, "starttls")],
        }
    }
    wanted, skipped = planned(domains)
    names = wanted["example.test"]
    assert [r.rdata for r in names["_imap._tcp.example.test."]] == [p.NOT_OFFERED]
    # the skipped server takes no place: the first published one gets priority 0
    assert [r.rdata for r in names["_imaps._tcp.example.test."]] == [(0, 1, 993, "m.example.test.")]
    assert [(s["domain"], s["direction"], s["host"], s["port"]) for s in skipped] == [
        ("example.test", "incoming", "old.example.test", 143)
    ]
    assert skipped[0]["reason"].startswith("cleartext")


def test_no_autodiscover_host_means_no_record_and_remove_means_empty():
    domains = {"a.test": {"incoming": [server("imap", "m.a.test", 993)], "outgoing": [], "autodiscover_host": None}}
    wanted, _skipped = planned(domains, remove=["Old.Test."])
    assert wanted["a.test"]["_autodiscover._tcp.a.test."] == []
    assert [r.rdata for r in wanted["a.test"]["_submissions._tcp.a.test."]] == [p.NOT_OFFERED]
    assert wanted["old.test"] == {f"{label}.old.test.": [] for label in p.OWNED_LABELS}


def test_idn_domain_and_host_in_a_labels():
    domains = {"exämple.test": {"incoming": [server("imap", "mail.exämple.test", 993)], "outgoing": []}}
    wanted, _skipped = planned(domains)
    assert list(wanted) == ["xn--exmple-cua.test"]
    [record] = wanted["xn--exmple-cua.test"]["_imaps._tcp.xn--exmple-cua.test."]
    assert record.target == "mail.xn--exmple-cua.test."


def test_zone_file_text_is_sorted_and_stable():
    domains = {
        "b.test": {"incoming": [server("imap", "m.b.test", 993)], "outgoing": []},
        "a.test": {"incoming": [server("imap", "m.a.test", 993)], "outgoing": []},
    }
    plan, removed = p.check_plan(domains, ["gone.test"])
    wanted, _skipped = p.plan_records(plan, removed, 60)
    text = p.zone_file_text(wanted, plan)
    assert text.startswith(p.ZONE_FILE_HEADER)
    assert text.index("; a.test\n") < text.index("; b.test\n")
    assert "gone.test" not in text
    reordered, _removed = p.check_plan(dict(reversed(list(domains.items()))))
    assert p.zone_file_text(p.plan_records(reordered, [], 60)[0], reordered) == text


def test_changes_between():
    name = "_imaps._tcp.a.test."
    old = [p.Record(name, 300, 0, 1, 993, "m.a.test.")]
    assert p.changes_between({name: old}, {name: list(old)}) == []
    # order does not matter, TTL does
    two = [p.Record(name, 300, 10, 1, 993, "n.a.test."), p.Record(name, 300, 0, 1, 993, "m.a.test.")]
    assert p.changes_between({name: list(reversed(two))}, {name: two}) == []
    [change] = p.changes_between({name: old}, {name: [p.Record(name, 60, 0, 1, 993, "m.a.test.")]})
    assert change["action"] == "update"
    assert [c["action"] for c in p.changes_between({}, {name: old})] == ["create"]
    assert [c["action"] for c in p.changes_between({name: old}, {name: []})] == ["delete"]
    assert p.changes_between({}, {name: []}) == []


@pytest.mark.parametrize(
    ("domains", "remove", "message"),
    [
        ([], [], "domains: expected a dictionary of domain name to its plan (incoming, outgoing, ...)"),
        (
            {"bad domain": {}},
            [],
            "domains['bad domain']: 'bad domain' is not a valid DNS name; use the mail domain of the addresses, "
            "e.g. example.com",
        ),
        (
            {"a.test": {}, "A.test.": {}},
            [],
            "domains['A.test.']: the domain a.test is listed twice; keep one entry",
        ),
        ({"a.test": "x"}, [], "domains['a.test']: expected a dictionary with incoming, outgoing and autodiscover_host"),
        (
            {"a.test": {"incoming": {"host": "x"}}},
            [],
            "domains['a.test'].incoming: expected a list of servers in preference order",
        ),
        (
            {"a.test": {"incoming": [server("smtp", "m.a.test", 465)]}},
            [],
            "domains['a.test'].incoming[0].protocol: 'smtp' is not one of imap, pop3",
        ),
        (
            {"a.test": {"outgoing": [server("smtp", "m a.test", 465)]}},
            [],
            "domains['a.test'].outgoing[0].host: 'm a.test' is not a valid DNS name; give the server's host name, "
            "as verified",
        ),
        (
            {"a.test": {"outgoing": [server("smtp", "m.a.test", True)]}},
            [],
            "domains['a.test'].outgoing[0].port: True is not a port number (1 to 65535)",
        ),
        (
            {"a.test": {"outgoing": [server("smtp", "m.a.test", 70000)]}},
            [],
            "domains['a.test'].outgoing[0].port: 70000 is not a port number (1 to 65535)",
        ),
        (
            {"a.test": {"outgoing": [server("smtp", "m.a.test", 465, "ssl")]}},
            [],
            "domains['a.test'].outgoing[0].security: 'ssl' is not one of tls, starttls, none",
        ),
        (
            {"a.test": {"autodiscover_host": "-x.a.test"}},
            [],
            "domains['a.test'].autodiscover_host: '-x.a.test' is not a valid DNS name; give the host that answers "
            "Autodiscover, or null",
        ),
        ({}, "a.test", "remove: expected a list of domain names"),
        (
            {"a.test": {}},
            ["b.test", "A.TEST"],
            "remove[1]: a.test is also in domains; a domain is either published or removed, not both",
        ),
    ],
)
def test_plan_errors(domains, remove, message):
    with pytest.raises(p.PublishDnsError, match=f"^{re.escape(message)}$"):
        p.check_plan(domains, remove)


@pytest.mark.parametrize("ttl", [-1, 2**31, True, "60"])
def test_bad_ttl(ttl):
    with pytest.raises(p.PublishDnsError, match=r"^ttl: .* is not a TTL in seconds \(0 to 2147483647\)"):
        p.check_ttl(ttl)


def test_zone_of():
    assert p.zone_of("a.test", None) == "a.test"
    assert p.zone_of("mail.a.test", "a.test") == "a.test"
    with pytest.raises(p.PublishDnsError, match=r"^dns.zone: the domain ba.test is not inside the zone a.test; "):
        p.zone_of("ba.test", "a.test")


SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I="


@pytest.mark.parametrize(
    ("tsig", "message"),
    [
        ({"name": "k", "algorithm": "hmac-md5", "secret": SECRET}, "dns.tsig.algorithm: 'hmac-md5' is not one of"),
        ({"name": "k k", "secret": SECRET}, "dns.tsig.name: 'k k' is not a valid DNS name"),
        ({"name": "k", "secret": "not base64!"}, "dns.tsig.secret: not a base64 key"),
        ({"name": "k", "secret": ""}, "dns.tsig.secret: not a base64 key"),
    ],
)
def test_tsig_errors_never_show_the_secret(tsig, message):
    with pytest.raises(p.PublishDnsError, match=f"^{re.escape(message)}") as caught:
        p.tsig_keyring(tsig)
    assert "not base64!" not in str(caught.value)
    assert SECRET not in str(caught.value)


def test_tsig_keyring():
    keyring, keyname = p.tsig_keyring({"name": "Update.Key.", "algorithm": "hmac-sha512", "secret": SECRET})
    assert keyname.to_text() == "update.key."
    assert keyring[keyname].algorithm.to_text() == "hmac-sha512."


@pytest.mark.parametrize(
    ("server", "port", "expected"),
    [("192.0.2.1", 53, ("192.0.2.1", 53)), ("[2001:db8::1]", 5353, ("2001:db8::1", 5353))],
)
def test_server_address(server, port, expected):
    assert p.server_address(server, port) == expected


@pytest.mark.parametrize(
    ("server", "port", "message"),
    [
        ("", 53, "dns.server: give the primary server's address or host name"),
        ("192.0.2.1", 0, "dns.port: 0 is not a port number (1 to 65535); the default is 53"),
    ],
)
def test_server_address_errors(server, port, message):
    with pytest.raises(p.PublishDnsError, match=f"^{re.escape(message)}$"):
        p.server_address(server, port)

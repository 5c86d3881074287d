# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Discovery's pure logic: URLs, documents, SRV answers, guesses, ranking, the server entry."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from ansible_collections.mailops.clients.plugins.module_utils._findings import make_finding
from ansible_collections.mailops.clients.plugins.plugin_utils import _discovery as d
from ansible_collections.mailops.clients.plugins.plugin_utils._discovery_engine import parse_dns_servers

EMAIL = "alice.smith@Example.ORG"


def _server(element, kind, host, port, socket_type, username="%EMAILADDRESS%", auth="password-cleartext"):
    return (
        f'<{element} type="{kind}"><hostname>{host}</hostname><port>{port}</port><socketType>{socket_type}'
        f"</socketType><username>{username}</username><authentication>{auth}</authentication></{element}>"
    )


def _config(*servers):
    return (
        '<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="example.org">'
        "<domain>example.org</domain>" + "".join(servers) + "</emailProvider></clientConfig>"
    ).encode()


GOOD = _config(
    _server("incomingServer", "imap", "imap.%EMAILDOMAIN%", 993, "SSL"),
    _server("incomingServer", "pop3", "pop.example.org", 995, "SSL", "%EMAILLOCALPART%"),
    _server("outgoingServer", "smtp", "smtp.example.org", 587, "STARTTLS", auth="password-encrypted"),
)


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("alice@Example.ORG", ("alice", "example.org")),
        ("a+b@mail.example.org.", ("a+b", "mail.example.org")),
        ("zoe@exämple.test", ("zoe", "xn--exmple-cua.test")),
    ],
)
def test_split_email(email, expected):
    assert d.split_email(email) == expected


@pytest.mark.parametrize("email", ["alice", "alice@", "@example.org", "a@b@c", "a b@example.org", 7, "a@exa mple.org"])
def test_split_email_refuses(email):
    with pytest.raises(d.DiscoveryError, match=r"^email: "):
        d.split_email(email)


def test_autoconfig_urls_in_thunderbirds_order():
    assert d.autoconfig_urls("example.org", "a+b@example.org") == [
        ("autoconfig", "https://autoconfig.example.org/mail/config-v1.1.xml?emailaddress=a%2Bb@example.org", True),
        (
            "wellknown",
            "https://example.org/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=a%2Bb@example.org",
            True,
        ),
        ("autoconfig", "http://autoconfig.example.org/mail/config-v1.1.xml?emailaddress=a%2Bb@example.org", False),
        (
            "wellknown",
            "http://example.org/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=a%2Bb@example.org",
            False,
        ),
    ]
    assert all("?" not in url for _s, url, _h in d.autoconfig_urls("example.org", "a@example.org", False))


def test_ispdb_and_autodiscover_urls():
    assert d.ispdb_url("https://autoconfig.thunderbird.net/v1.1/", "example.org") == (
        "https://autoconfig.thunderbird.net/v1.1/example.org"
    )
    assert d.ispdb_url("https://lab.test/ispdb", "x.test") == "https://lab.test/ispdb/x.test"
    assert d.autodiscover_urls("example.org") == [
        "https://autodiscover.example.org/autodiscover/autodiscover.xml",
        "https://example.org/autodiscover/autodiscover.xml",
        "http://autodiscover.example.org/autodiscover/autodiscover.xml",
    ]


@pytest.mark.parametrize(
    ("mx", "expected"),
    [
        ("mx1.mail.provider.example.", ["provider.example", "mail.provider.example"]),
        ("mx.provider.example", ["provider.example", "mx.provider.example"]),
        ("provider", []),
    ],
)
def test_mx_base_domains(mx, expected):
    assert d.mx_base_domains(mx) == expected


def test_parse_autoconfig_keeps_order_and_fills_placeholders():
    found = d.parse_autoconfig(GOOD, EMAIL, "autoconfig", "https://u", True)
    assert [(c.direction, c.protocol, c.host, c.port, c.security, c.auth, c.username) for c in found] == [
        ("incoming", "imap", "imap.example.org", 993, "tls", "password", "email"),
        ("incoming", "pop3", "pop.example.org", 995, "tls", "password", "local_part"),
        ("outgoing", "smtp", "smtp.example.org", 587, "starttls", "password-encrypted", "email"),
    ]
    assert {c.source for c in found} == {"autoconfig"}
    assert [c.rank_in_source for c in found] == [0, 1, 2]


def test_parse_autoconfig_skips_invalid_entries():
    data = _config(
        _server("incomingServer", "exchange", "ews.example.org", 443, "SSL"),
        _server("incomingServer", "imap", "bad host", 993, "SSL"),
        _server("incomingServer", "imap", "imap.example.org", 70000, "SSL"),
        _server("incomingServer", "imap", "imap.example.org", 993, "TLSv9"),
        _server("incomingServer", "imap", "imap.example.org", 143, "plain", "fixed-login"),
        _server("outgoingServer", "smtp", "smtp.example.org", 25, "plain", auth="client-IP-address"),
    )
    found = d.parse_autoconfig(data, EMAIL, "ispdb")
    assert [(c.host, c.port, c.security, c.auth, c.username) for c in found] == [
        ("imap.example.org", 143, "none", "password", "fixed-login"),
        ("smtp.example.org", 25, "none", "none", "email"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<clientConfig", r"^not well-formed XML: "),
        (b"<html/>", r"^the root element is <html>, not <clientConfig>$"),
        (b"<clientConfig/>", r"^no <emailProvider> element$"),
        (
            _config(_server("outgoingServer", "smtp", "smtp.example.org", 465, "SSL")),
            r"^no usable incoming server$",
        ),
        (
            _config(
                _server("incomingServer", "imap", "imap.example.org", 993, "SSL"),
                _server("outgoingServer", "smtp", "smtp.example.org", 0, "SSL"),
            ),
            r"^no usable outgoing server \(skipped: outgoingServer smtp.example.org\)$",
        ),
        (
            b'<!DOCTYPE x [<!ENTITY a "aaaa">]><clientConfig>&a;</clientConfig>',
            r"^the document declares a DOCTYPE or entities",
        ),
        (b" " * (d.MAX_DOCUMENT + 1), r"^the document is larger than"),
    ],
)
def test_parse_autoconfig_refuses(data, message):
    with pytest.raises(d.DocumentError, match=message):
        d.parse_autoconfig(data, EMAIL, "autoconfig")


def _pox(protocols, action="settings", redirect=""):
    body = "".join(protocols)
    return (
        '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">'
        '<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">'
        f"<Account><Action>{action}</Action><RedirectAddr>{redirect}</RedirectAddr>{body}</Account>"
        "</Response></Autodiscover>"
    ).encode()


def test_parse_autodiscover_security_rules():
    data = _pox(
        [
            "<Protocol><Type>IMAP</Type><Server>imap.example.org</Server><Port>993</Port><SPA>off</SPA></Protocol>",
            "<Protocol><Type>POP3</Type><Server>pop.example.org</Server><Port>110</Port><SPA>off</SPA>"
            "<SSL>on</SSL></Protocol>",
            "<Protocol><Type>SMTP</Type><Server>smtp.example.org</Server><Port>587</Port>"
            "<Encryption>None</Encryption><LoginName>alice</LoginName></Protocol>",
            "<Protocol><Type>EXCH</Type><Server>ex.example.org</Server><Port>443</Port></Protocol>",
        ]
    )
    found, redirect = d.parse_autodiscover(data, "alice@example.org", "https://u", True)
    assert redirect is None
    assert [(c.protocol, c.port, c.security, c.auth, c.username) for c in found] == [
        ("imap", 993, "tls", "password", "email"),
        ("pop3", 110, "starttls", "password", "email"),
        ("smtp", 587, "none", "ntlm", "local_part"),  # SPA defaults to on when absent
    ]


def test_parse_autodiscover_redirect_and_errors():
    assert d.parse_autodiscover(_pox([], "redirectAddr", "bob@other.test"), "a@b.test") == ([], "bob@other.test")
    with pytest.raises(d.DocumentError, match=r"^redirect to an invalid address 'nobody'$"):
        d.parse_autodiscover(_pox([], "redirectAddr", "nobody"), "a@b.test")
    with pytest.raises(d.DocumentError, match=r"^no IMAP, POP3 or SMTP <Protocol> in the response$"):
        d.parse_autodiscover(_pox([]), "a@b.test")


def test_autodiscover_request_is_outlooks_pox():
    root = ET.fromstring(d.autodiscover_request("alice@example.org"))  # noqa: S314 (our own output)
    ns = "{" + d.AUTODISCOVER_REQUEST_NS + "}"
    assert root.tag == ns + "Autodiscover"
    assert root.find(f"{ns}Request/{ns}EMailAddress").text == "alice@example.org"
    assert root.find(f"{ns}Request/{ns}AcceptableResponseSchema").text == d.AUTODISCOVER_RESPONSE_SCHEMA


def test_srv_candidates_order_and_not_offered():
    found, not_offered = d.srv_candidates(
        "_imaps._tcp", [(10, 0, 993, "b.example.org."), (0, 5, 993, "a.example.org."), (0, 50, 9993, "c.example.org.")]
    )
    assert not not_offered
    assert [(c.host, c.port, c.security, c.protocol) for c in found] == [
        ("c.example.org", 9993, "tls", "imap"),
        ("a.example.org", 993, "tls", "imap"),
        ("b.example.org", 993, "tls", "imap"),
    ]
    assert d.srv_candidates("_pop3._tcp", [(0, 0, 0, ".")]) == ([], True)
    found, _unused = d.srv_candidates("_submission._tcp", [(0, 0, 587, "smtp.example.org.")])
    assert (found[0].direction, found[0].protocol, found[0].security) == ("outgoing", "smtp", "starttls")


def test_guess_follows_thunderbird():
    found = d.guess_candidates("example.org")
    incoming = [(c.protocol, c.host, c.port, c.security) for c in found if c.direction == "incoming"]
    assert incoming[:4] == [
        ("imap", "imap.example.org", 993, "tls"),
        ("imap", "mail.example.org", 993, "tls"),
        ("imap", "example.org", 993, "tls"),
        ("imap", "imap.example.org", 143, "starttls"),
    ]
    assert ("pop3", "imap.example.org", 995, "tls") not in incoming
    assert ("imap", "pop.example.org", 993, "tls") not in incoming
    outgoing = [(c.host, c.port, c.security) for c in found if c.direction == "outgoing"]
    assert outgoing[0] == ("smtp.example.org", 465, "tls")
    assert {h for h, _p, _s in outgoing} == {"smtp.example.org", "mail.example.org", "example.org"}


def _cand(protocol, security, source="guess", host="h.example.org", port=1, rank=0):
    direction = "outgoing" if protocol == "smtp" else "incoming"
    return d.Candidate(direction, protocol, host, port, security, source=source, rank_in_source=rank)


def test_choose_ranks_as_a_careful_client():
    pop_tls = _cand("pop3", "tls", "autoconfig", port=995)
    imap_starttls = _cand("imap", "starttls", "autoconfig", port=143)
    imap_tls_guess = _cand("imap", "tls", "guess", port=993)
    imap_none = _cand("imap", "none", "autoconfig", port=144)
    smtp = _cand("smtp", "starttls", "srv", port=587)
    all_ = [pop_tls, imap_starttls, imap_tls_guess, imap_none, smtp]
    verified = {c.key: True for c in all_}
    assert d.choose(all_, verified)["incoming"] is imap_tls_guess
    verified[imap_tls_guess.key] = False
    assert d.choose(all_, verified)["incoming"] is imap_starttls
    verified[imap_starttls.key] = False
    assert d.choose(all_, verified)["incoming"] is imap_none  # IMAP before POP3, then the caller's cleartext rule
    verified[imap_none.key] = False
    assert d.choose(all_, verified)["incoming"] is pop_tls
    verified = {smtp.key: False}
    assert d.choose([smtp], verified) == {"incoming": None, "outgoing": None}


def test_merge_keeps_every_source_and_trust():
    a = d.Candidate("incoming", "imap", "IMAP.example.org.", 993, "tls", source="srv")
    b = d.Candidate("incoming", "imap", "imap.example.org", 993, "tls", source="autoconfig", trusted=False)
    merged, named_by = d.merge([a, b])
    assert len(merged) == 1
    assert merged[0].source == "autoconfig" and merged[0].trusted
    assert named_by[merged[0].key] == ["autoconfig", "srv"]


def test_ruled_out_by_srv_dot():
    not_offered = {("imap", "tls"), ("imap", "starttls")}
    assert d.ruled_out(_cand("imap", "none"), not_offered)
    assert not d.ruled_out(_cand("imap", "tls", "autoconfig"), not_offered)  # a document still counts
    assert not d.ruled_out(_cand("pop3", "tls"), not_offered)


def test_server_entry_spells_the_inventory():
    incoming = _cand("imap", "tls", host="imap.example.org", port=993)
    outgoing = _cand("smtp", "none", host="smtp.example.org", port=25)
    assert d.server_entry({"incoming": incoming, "outgoing": outgoing}) == {
        "incoming": {
            "protocol": "imap",
            "host": "imap.example.org",
            "port": 993,
            "security": "tls",
            "auth": "password",
        },
        "outgoing": {"host": "smtp.example.org", "port": 25, "security": "none", "auth": "password"},
        "allow_insecure": True,
    }
    assert d.server_entry({"incoming": incoming, "outgoing": None}) is None


def test_findings_come_from_the_collection_catalogue():
    assert not hasattr(d, "CATALOGUE")  # one catalogue: module_utils/_findings.py
    finding = make_finding("discovery_service_not_offered", name="_pop3._tcp.example.org").as_dict()
    assert finding == {
        "code": "discovery_service_not_offered",
        "severity": "info",
        "stage": "discovery",
        "message": "SRV _pop3._tcp.example.org says the service is not offered (target '.')",
        "fix": "Nothing to do if the service is indeed not offered (RFC 2782).",
    }


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["192.0.2.53"], [("192.0.2.53", 53)]),
        (["127.0.0.1:5353", "[::1]:5300", "::1"], [("127.0.0.1", 5353), ("::1", 5300), ("::1", 53)]),
    ],
)
def test_parse_dns_servers(values, expected):
    assert parse_dns_servers(values) == expected


@pytest.mark.parametrize("value", ["ns.example.org", "127.0.0.1:0", "127.0.0.1:x", "300.1.1.1"])
def test_parse_dns_servers_refuses(value):
    with pytest.raises(d.DiscoveryError, match=r"^dns_servers\[0\]: expected an IP address or IP:PORT"):
        parse_dns_servers([value])


def _found(protocol, host, port, security, verified=True, source="srv"):
    direction = "outgoing" if protocol == "smtp" else "incoming"
    return {
        "direction": direction,
        "protocol": protocol,
        "host": host,
        "port": port,
        "security": security,
        "verified": verified,
        "source": source,
    }


@pytest.mark.parametrize(
    ("endpoint", "candidates", "expected"),
    [
        (
            {"protocol": "imap", "host": "imap.example.test", "port": 143, "security": "tls"},
            [_found("imap", "imap.example.test", 993, "tls"), _found("imap", "imap.example.test", 143, "starttls")],
            "imap.example.test:993 tls verified (source: srv) — set port 993",
        ),
        (
            {"protocol": "imap", "host": "imap.exmaple.test", "port": 993, "security": "tls"},
            [_found("imap", "imap.example.test", 993, "tls", source="autoconfig")],
            "imap.example.test:993 tls verified (source: autoconfig) — set host imap.example.test",
        ),
        (
            {"protocol": "smtp", "host": "smtp.example.test", "port": 465, "security": "starttls"},
            [_found("imap", "imap.example.test", 993, "tls"), _found("smtp", "smtp.example.test", 465, "tls")],
            "smtp.example.test:465 tls verified (source: srv) — set security tls",
        ),
        (
            {"protocol": "imap", "host": "imap.example.test", "port": 993, "security": "tls"},
            [_found("imap", "imap.example.test", 993, "tls")],
            None,
        ),
        (
            {"protocol": "pop3", "host": "pop.example.test", "port": 995, "security": "tls"},
            [_found("pop3", "pop.example.test", 995, "tls", verified=False)],
            None,
        ),
    ],
)
def test_suggestion(endpoint, candidates, expected):
    assert d.suggestion(endpoint, {"candidates": candidates}) == expected

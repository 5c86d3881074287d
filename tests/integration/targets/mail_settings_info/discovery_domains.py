# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The discovery test domains: each shows one way settings are found or must be refused.

``start_lab()`` starts a mail lab (real Dovecot/Postfix, certificate for the good domains' mail hosts) and the
discovery lab (Knot DNS, web server, relays) with these zones and documents; reused by the benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from discoverylab import DiscoveryLab, Document
from maillab import MailLab, issue_cert, make_ca

ISPDB_HOST = "ispdb.lab.test"
ISPDB_URL = f"https://{ISPDB_HOST}/v1.1/"
PASSWORD_USER = "alice@example.test"


def autoconfig(servers, domain="example.test"):
    """A clientConfig 1.1 document; ``servers`` are (element, type, host, port, socketType, username)."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<clientConfig version="1.1">',
        f'<emailProvider id="{domain}"><domain>{domain}</domain><displayName>Lab</displayName>',
    ]
    for element, kind, host, port, socket_type, username in servers:
        parts.append(
            f'<{element} type="{kind}"><hostname>{host}</hostname><port>{port}</port>'
            f"<socketType>{socket_type}</socketType><username>{username}</username>"
            f"<authentication>password-cleartext</authentication></{element}>"
        )
    parts.append("</emailProvider></clientConfig>")
    return "\n".join(parts).encode()


def standard(host_in, host_out, domain, username="%EMAILADDRESS%"):
    return autoconfig(
        [
            ("incomingServer", "imap", host_in, 993, "SSL", username),
            ("outgoingServer", "smtp", host_out, 465, "SSL", username),
        ],
        domain,
    )


def pox(protocols):
    """A POX Autodiscover response; ``protocols`` are (Type, Server, Port, SSL)."""
    body = "".join(
        f"<Protocol><Type>{kind}</Type><Server>{server}</Server><Port>{port}</Port>"
        f"<SPA>off</SPA><SSL>{ssl}</SSL><AuthRequired>on</AuthRequired></Protocol>"
        for kind, server, port, ssl in protocols
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">'
        '<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">'
        f"<Account><AccountType>email</AccountType><Action>settings</Action>{body}</Account>"
        "</Response></Autodiscover>"
    )


# zone -> zone-file lines ({mail}, {web}, {dead} are the lab's addresses)
ZONES = {
    "lab.test": ["ispdb A {web}"],
    # the provider's autoconfig host
    "ac.test": ["autoconfig A {web}", "mail A {mail}"],
    # only the .well-known URL on the domain itself
    "wk.test": ["@ A {web}", "mail A {mail}"],
    # only the ISPDB knows it
    "isp.test": ["mail A {mail}"],
    # the MX's provider is in the ISPDB
    "mxd.test": ["@ MX 10 mx1.mxprovider.test.", "mail A {mail}"],
    "mxprovider.test": ["mx1 A {mail}", "mail A {mail}"],
    # RFC 6186 / RFC 8314 SRV records only
    "srv.test": [
        "_imaps._tcp SRV 0 1 993 mail",
        "_imap._tcp SRV 10 1 143 mail",
        "_submissions._tcp SRV 0 1 465 mail",
        "_submission._tcp SRV 10 1 587 mail",
        "mail A {mail}",
    ],
    # Exchange Autodiscover (POX) only
    "ad.test": ["autodiscover A {web}", "mail A {mail}"],
    # nothing published: guessing finds imap./smtp.
    "guess.test": ["imap A {mail}", "smtp A {mail}"],
    # autoconfig says STARTTLS on 143/587, SRV says implicit TLS: both verify, implicit TLS wins
    "disagree.test": [
        "autoconfig A {web}",
        "mail A {mail}",
        "_imaps._tcp SRV 0 1 993 mail",
        "_submissions._tcp SRV 0 1 465 mail",
    ],
    # the document names servers that do not answer; SRV names working ones
    "liar.test": [
        "autoconfig A {web}",
        "old A {dead}",
        "mail A {mail}",
        "_imaps._tcp SRV 0 1 993 mail",
        "_submissions._tcp SRV 0 1 465 mail",
    ],
    # the provider's autoconfig URL redirects (HTTPS to HTTPS) to a shared host
    "redirect.test": ["autoconfig A {web}", "mail A {mail}"],
    # the document only over plain HTTP
    "httponly.test": ["autoconfig A {web}", "mail A {mail}"],
    # the document host's certificate does not verify
    "badcertdoc.test": ["autoconfig A {web}", "mail A {mail}"],
    # the mail host's certificate is for other names
    "badcertmail.test": ["autoconfig A {web}", "mail A {mail}"],
    # POP3 only (SRV), IMAP decidedly not offered
    "pop.test": [
        "_pop3s._tcp SRV 0 1 995 mail",
        "_imaps._tcp SRV 0 0 0 .",
        "_imap._tcp SRV 0 0 0 .",
        "_submissions._tcp SRV 0 1 465 mail",
        "mail A {mail}",
    ],
    # nothing at all
    "nothing.test": ["www A {dead}"],
    # a provider that documents only cleartext (hosts that guessing would not find)
    "cleartext.test": ["autoconfig A {web}", "legacy A {mail}"],
    # the mail lab's own domain: SRV records, used for the login tests
    "example.test": [
        "_imaps._tcp SRV 0 1 993 mail",
        "_submission._tcp SRV 0 1 587 mail",
        "mail A {mail}",
    ],
}
GOOD_MAIL_DOMAINS = [
    "ac.test",
    "wk.test",
    "isp.test",
    "mxd.test",
    "mxprovider.test",
    "srv.test",
    "ad.test",
    "guess.test",
    "disagree.test",
    "liar.test",
    "redirect.test",
    "httponly.test",
    "badcertdoc.test",
    "pop.test",
    "cleartext.test",
]
WEB_NAMES = [
    ISPDB_HOST,
    "autoconfig.ac.test",
    "wk.test",
    "autodiscover.ad.test",
    "autoconfig.disagree.test",
    "autoconfig.liar.test",
    "autoconfig.redirect.test",
    "autoconfig.badcertmail.test",
    "autoconfig.cleartext.test",
]
BAD_CERT_WEB_NAMES = ["autoconfig.badcertdoc.test"]
AC = "/mail/config-v1.1.xml"


def documents():
    """(scheme, host, path) -> Document; scheme "*" answers on HTTPS and HTTP."""
    return {
        ("https", "autoconfig.ac.test", AC): Document(standard("mail.ac.test", "mail.ac.test", "ac.test")),
        ("https", "wk.test", "/.well-known/autoconfig" + AC): Document(
            standard("mail.wk.test", "mail.wk.test", "wk.test", "%EMAILLOCALPART%")
        ),
        ("https", ISPDB_HOST, "/v1.1/isp.test"): Document(standard("mail.isp.test", "mail.isp.test", "isp.test")),
        ("https", ISPDB_HOST, "/v1.1/mxprovider.test"): Document(
            standard("mail.mxprovider.test", "mail.mxprovider.test", "mxprovider.test")
        ),
        ("https", "autodiscover.ad.test", "/autodiscover/autodiscover.xml"): Document(
            pox([("IMAP", "mail.ad.test", 993, "on"), ("SMTP", "mail.ad.test", 465, "on")]).encode()
        ),
        ("https", "autoconfig.disagree.test", AC): Document(
            autoconfig(
                [
                    ("incomingServer", "imap", "mail.disagree.test", 143, "STARTTLS", "%EMAILADDRESS%"),
                    ("outgoingServer", "smtp", "mail.disagree.test", 587, "STARTTLS", "%EMAILADDRESS%"),
                ],
                "disagree.test",
            )
        ),
        ("https", "autoconfig.liar.test", AC): Document(standard("old.liar.test", "old.liar.test", "liar.test")),
        ("https", "autoconfig.redirect.test", AC): Document(
            b"moved\n", "text/plain", 302, {"Location": "https://wk.test/shared/redirect.test.xml"}
        ),
        ("https", "wk.test", "/shared/redirect.test.xml"): Document(
            standard("mail.redirect.test", "mail.redirect.test", "redirect.test")
        ),
        ("http", "autoconfig.httponly.test", AC): Document(
            standard("mail.httponly.test", "mail.httponly.test", "httponly.test")
        ),
        ("https", "autoconfig.badcertdoc.test", AC): Document(
            standard("mail.badcertdoc.test", "mail.badcertdoc.test", "badcertdoc.test")
        ),
        ("https", "autoconfig.badcertmail.test", AC): Document(
            standard("mail.badcertmail.test", "mail.badcertmail.test", "badcertmail.test")
        ),
        ("https", "autoconfig.cleartext.test", AC): Document(
            autoconfig(
                [
                    ("incomingServer", "imap", "legacy.cleartext.test", 143, "plain", "%EMAILADDRESS%"),
                    ("outgoingServer", "smtp", "legacy.cleartext.test", 25, "plain", "%EMAILADDRESS%"),
                ],
                "cleartext.test",
            )
        ),
    }


@contextlib.contextmanager
def start_lab(port_offset):
    """(mail lab, discovery lab), both started; stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="mailops-discovery-"))
    root.chmod(0o755)
    tls = root / "mail" / "tls"
    tls.mkdir(parents=True)
    for path in (root / "mail", tls):
        path.chmod(0o755)
    ca_cert, ca_key = make_ca("mailops.clients discovery lab CA")
    (tls / "ca.crt").write_bytes(ca_cert)
    (tls / "ca.key").touch(mode=0o600)
    (tls / "ca.key").write_bytes(ca_key)
    names = [f"*.{domain}" for domain in GOOD_MAIL_DOMAINS] + ["mail.example.test", "localhost"]
    mail = MailLab(root / "mail", port_offset=port_offset, server_cert=issue_cert(ca_cert, ca_key, names))
    lab = DiscoveryLab(root / "dns", mail.describe(), ZONES, web_names=WEB_NAMES, bad_cert_names=BAD_CERT_WEB_NAMES)
    lab.documents.update(documents())
    try:
        mail.start()
        lab.start()
        yield mail, lab
    finally:
        lab.stop()
        mail.stop()
        if not os.environ.get("MAILOPS_KEEP_LAB"):
            shutil.rmtree(root, ignore_errors=True)

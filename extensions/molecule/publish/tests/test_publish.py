# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a user of mailops.clients.publish would check on the web host:
the documents (owner, mode, content), nginx's file, nginx running without systemd and serving them, the Autodiscover
responder's files where the scenario's public variables put them, its daemon and an Outlook POST through nginx."""

from __future__ import annotations

import os
import plistlib
import xml.etree.ElementTree as ET

ROOT = "/var/www/mailops-publish/example.test"


def test_documents_owner_mode_and_content(client):
    for path in (f"{ROOT}/mail/config-v1.1.xml", f"{ROOT}/.well-known/autoconfig/mail/config-v1.1.xml"):
        document = client.file(path)
        assert (document.user, document.mode) == ("root", 0o644)
        provider = ET.fromstring(document.content).find("emailProvider")  # noqa: S314 (the role's output)
        assert [s.findtext("hostname") for s in provider if s.tag.endswith("Server")] == ["mail.example.test"] * 2
    profile = plistlib.loads(client.file(f"{ROOT}/mail/example.test.mobileconfig").content)
    assert "EmailAddress" not in profile["PayloadContent"][0]


def test_nginx_configuration_and_process(client):
    conf = client.file("/etc/nginx/conf.d/mailops-publish-example.test.conf")
    assert (conf.user, conf.mode) == ("root", 0o644)
    assert client.run("nginx -t").rc == 0
    assert client.run("pgrep -F /run/nginx.pid nginx").rc == 0


# An HTTPS request from inside the web host, as a client on the network would make it: to 127.0.0.1 (host
# networking) but with TLS verified for the published name against the scenario's certificate, and that name in Host.
FETCH = (
    "import socket, ssl, sys; port, name, method, path, body = sys.argv[1:6]; "
    "ctx = ssl.create_default_context(cafile='/etc/ssl/mailops-publish/web.crt'); "
    "s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(port)), timeout=10), server_hostname=name); "
    "data = body.encode(); "
    "s.sendall(('%s %s HTTP/1.0\\r\\nHost: %s\\r\\nContent-Type: text/xml\\r\\nContent-Length: %d\\r\\n\\r\\n' "
    "% (method, path, name, len(data))).encode() + data); "
    "chunks = iter(lambda: s.recv(65536), b''); sys.stdout.write(b''.join(chunks).decode())"
)


def https(client, name: str, method: str, path: str, body: str = "") -> tuple[str, dict, str]:
    """(status line, headers, body) of one request to the role's nginx."""
    port = str(8443 + int(os.environ.get("MAILOPS_MOLECULE_PORT_OFFSET", "300")))
    raw = client.check_output("python3 -c %s %s %s %s %s %s", FETCH, port, name, method, path, body)
    head, _blank, content = raw.replace("\r\n", "\n").partition("\n\n")
    status, *lines = head.split("\n")
    fields = (line.partition(":") for line in lines)
    return status, {name.lower(): value.strip() for name, _colon, value in fields}, content


def test_served_over_https(client):
    for name, path in (
        ("autoconfig.example.test", "/mail/config-v1.1.xml"),
        ("example.test", "/.well-known/autoconfig/mail/config-v1.1.xml"),
    ):
        status, headers, content = https(client, name, "GET", path)
        assert status.split()[1] == "200", (name, path)
        assert headers["content-type"].startswith("application/xml")
        assert "<hostname>mail.example.test</hostname>" in content


AUTODISCOVER = "/opt/mailops-autodiscover"  # the scenario's mailops_publish_autodiscover_*_dir


def test_autodiscover_responder_files_and_daemon(client):
    settings = client.file(f"{AUTODISCOVER}/etc/domains.json")
    assert (settings.user, settings.group, settings.mode) == ("root", "mailops-autodiscover", 0o640)
    assert "example.test" in settings.content_string
    app = client.file(f"{AUTODISCOVER}/app/autodiscover.py")
    assert (app.user, app.mode) == ("root", 0o644)
    assert client.file(f"{AUTODISCOVER}/log").user == "mailops-autodiscover"
    pid = client.file(f"{AUTODISCOVER}/run/gunicorn.pid").content_string.strip()
    assert client.check_output("ps -o user= -p %s", pid).strip() == "mailops-autodiscover"


def test_autodiscover_post_through_nginx(client):
    body = (
        '<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/'
        'outlook/requestschema/2006"><Request><EMailAddress>alice@example.test</EMailAddress><AcceptableResponseSchema>'
        "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>"
        "</Request></Autodiscover>"
    )
    name = "autodiscover.example.test"
    status, headers, content = https(client, name, "POST", "/Autodiscover/Autodiscover.xml", body)
    assert status.split()[1] == "200"
    ns = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"
    protocols = ET.fromstring(content).iter(f"{ns}Protocol")  # noqa: S314 (the role's responder)
    assert [(p.findtext(f"{ns}Type"), p.findtext(f"{ns}Server"), p.findtext(f"{ns}LoginName")) for p in protocols] == [
        ("IMAP", "mail.example.test", "alice@example.test"),
        ("SMTP", "mail.example.test", "alice@example.test"),
    ]
    status, _headers, content = https(client, name, "POST", "/autodiscover/autodiscover.xml", "<a")
    assert status.split()[1] == "400"
    assert "<a" not in content

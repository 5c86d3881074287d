# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""UNTESTED (written without running Molecule). What a user of mailops.clients.publish would check on the web host:
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


def test_served_over_https(client):
    port = 8443 + int(os.environ.get("MAILOPS_MOLECULE_PORT_OFFSET", "300"))
    out = client.check_output(
        'python3 -c "import ssl, urllib.request; c = ssl._create_unverified_context(); '
        "r = urllib.request.Request('https://127.0.0.1:%s/mail/config-v1.1.xml', "
        "headers={'Host': 'autoconfig.example.test'}); print(urllib.request.urlopen(r, context=c).headers"
        "['Content-Type'])\"",
        port,
    )
    assert out.startswith("application/xml")


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
    port = 8443 + int(os.environ.get("MAILOPS_MOLECULE_PORT_OFFSET", "300"))
    body = (
        '<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/'
        'outlook/requestschema/2006"><Request><EMailAddress>alice@example.test</EMailAddress><AcceptableResponseSchema>'
        "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>"
        "</Request></Autodiscover>"
    )
    out = client.check_output(
        'python3 -c "import ssl, sys, urllib.request; c = ssl._create_unverified_context(); '
        "r = urllib.request.Request('https://127.0.0.1:%s/Autodiscover/Autodiscover.xml', data=sys.argv[1].encode(), "
        "headers={'Host': 'autodiscover.example.test', 'Content-Type': 'text/xml'}); "
        'sys.stdout.write(urllib.request.urlopen(r, context=c).read().decode())" %s',
        port,
        body,
    )
    ns = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"
    protocols = ET.fromstring(out).iter(f"{ns}Protocol")  # noqa: S314 (the role's responder)
    assert [(p.findtext(f"{ns}Type"), p.findtext(f"{ns}Server")) for p in protocols][:1] == [
        ("IMAP", "mail.example.test")
    ]

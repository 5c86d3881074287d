# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Autodiscover (POX) responder of the publish role: its WSGI application, then the real thing.

The real thing: roles/publish/tasks/autodiscover.yml run by ansible-playbook (include_role tasks_from) installs the
responder and starts it under the Debian gunicorn as a daemon (no systemd here) as a throwaway system user, with
its paths in a test directory and its port on loopback; a real nginx (test-owned configuration, unprivileged port)
includes the role's location template and proxies to it. Requests are sent as Outlook sends them and the answers
are read with ElementTree and with the collection's own POX reader (plugin_utils._discovery).
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ansible_collections.mailops.clients.plugins.plugin_utils import _discovery as d
from ansible_collections.mailops.clients.plugins.plugin_utils import _outlook, _publish
from ansible_recap import recap

REPO = Path(__file__).resolve().parents[4]
APP = REPO / "roles" / "publish" / "files" / "autodiscover.py"
NS_REQ = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
NS_RESP = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
NS_OUT = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
OUTLOOK_HEADERS = {
    "Content-Type": "text/xml; charset=utf-8",
    "User-Agent": "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)",
}


def srv(protocol, host, port, security="tls", auth="password"):
    return {"protocol": protocol, "host": host, "port": port, "security": security, "auth": auth}


# the verified settings the responder publishes: two domains, both login forms, a STARTTLS submission server
PLAN = {
    "example.test": {
        "username": "email",
        "display_name": "Example Mail",
        "incoming": [srv("imap", "mail.example.test", 993), srv("pop3", "mail.example.test", 995)],
        "outgoing": [srv("smtp", "mail.example.test", 465), srv("smtp", "smtp.example.test", 587, "starttls")],
        "autodiscover_host": "autodiscover.example.test",
    },
    "local.test": {
        "username": "local_part",
        "display_name": "Local",
        "incoming": [srv("imap", "imap.local.test", 143, "starttls")],
        "outgoing": [srv("smtp", "smtp.local.test", 587, "starttls")],
        "autodiscover_host": None,
    },
}


def outlook_request(email: str) -> bytes:
    """The request body as Outlook writes it (Microsoft Learn, POX Autodiscover request example)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\r\n'
        f'<Autodiscover xmlns="{NS_REQ}">\r\n'
        "  <Request>\r\n"
        f"    <EMailAddress>{email}</EMailAddress>\r\n"
        f"    <AcceptableResponseSchema>{NS_OUT}</AcceptableResponseSchema>\r\n"
        "  </Request>\r\n"
        "</Autodiscover>\r\n"
    ).encode()


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
    b'<Autodiscover xmlns="' + NS_REQ.encode() + b'"><Request><EMailAddress>&lol2;@example.test</EMailAddress>'
    b"<AcceptableResponseSchema>" + NS_OUT.encode() + b"</AcceptableResponseSchema></Request></Autodiscover>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE a SYSTEM "file:///etc/passwd"><Autodiscover xmlns="' + NS_REQ.encode() + b'"/>'
)


def expected_protocols(email: str, plan: dict) -> list:
    """The Protocol elements the verified settings call for, as (tag, text) lists in document order."""
    login = email if plan["username"] == "email" else email.split("@")[0]
    rows = []
    for s in plan["incoming"] + plan["outgoing"]:
        row = [
            ("Type", s["protocol"].upper()),
            ("Server", s["host"]),
            ("Port", str(s["port"])),
            ("DomainRequired", "off"),
            ("LoginName", login),
            ("SPA", "off"),
            ("SSL", "on"),
            ("Encryption", {"tls": "SSL", "starttls": "TLS"}[s["security"]]),
            ("AuthRequired", "on"),
        ]
        if s["protocol"] == "smtp":
            row.append(("UsePOPAuth", "on"))
        rows.append(row)
    return rows


def check_pox(body: bytes, email: str, plan: dict) -> None:
    """The POX response structure (Autodiscover/Response/Account/Protocol in the 2006a namespace) and values."""
    root = ET.fromstring(body)  # noqa: S314 (the responder's answer, checked by the test)
    assert root.tag == f"{{{NS_RESP}}}Autodiscover"
    [response] = list(root)
    assert response.tag == f"{{{NS_OUT}}}Response"
    [account] = list(response)
    assert account.tag == f"{{{NS_OUT}}}Account"
    assert account.findtext(f"{{{NS_OUT}}}AccountType") == "email"
    assert account.findtext(f"{{{NS_OUT}}}Action") == "settings"
    protocols = account.findall(f"{{{NS_OUT}}}Protocol")
    got = [[(child.tag.split("}")[1], child.text) for child in proto] for proto in protocols]
    assert got == expected_protocols(email, plan)
    # and as the collection's discovery reads a POX answer: the verified servers, in their order
    candidates, redirect = d.parse_autodiscover(body, email)
    assert redirect is None
    assert [(c.protocol, c.host, c.port, c.security) for c in candidates] == [
        (s["protocol"], s["host"], s["port"], s["security"]) for s in plan["incoming"] + plan["outgoing"]
    ]
    assert {c.username for c in candidates} == {plan["username"]}


# --------------------------------------------------------------------------------------------------
# The WSGI application itself (no server): every answer, fast


@pytest.fixture(scope="module")
def app():
    spec = importlib.util.spec_from_file_location("mailops_autodiscover_app", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "domains.json"
    path.write_text(json.dumps(PLAN))
    monkeypatch.setenv("MAILOPS_AUTODISCOVER_CONFIG", str(path))
    return path


def call(app, body=b"", method="POST", path="/autodiscover/autodiscover.xml", content_type="text/xml", length=None):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)) if length is None else length,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
    }
    answer = {}

    def start_response(status, headers):
        answer["status"], answer["headers"] = status, dict(headers)

    data = b"".join(app.application(environ, start_response))
    return int(answer["status"].split()[0]), answer["headers"], data


@pytest.mark.parametrize(
    ("email", "domain"), [("alice@example.test", "example.test"), ("bob@LOCAL.test", "local.test")]
)
def test_app_answers_the_verified_settings(app, config, email, domain):
    status, headers, body = call(app, outlook_request(email), path="/Autodiscover/Autodiscover.xml")
    assert status == 200
    assert headers["Content-Type"] == "text/xml; charset=utf-8"
    assert headers["Cache-Control"] == "private, no-store"
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n')
    check_pox(body, email, PLAN[domain])


def test_app_request_of_the_discovery_module(app, config):
    """The request the collection's discovery sends (as Thunderbird's ExchangeAutoDiscover does) is answered."""
    status, _headers, body = call(app, d.autodiscover_request("carol@example.test"), content_type="")
    assert status == 200
    check_pox(body, "carol@example.test", PLAN["example.test"])


def test_app_cleartext_ntlm_and_no_login(app, tmp_path, monkeypatch):
    plan = {
        "legacy.test": {
            "username": "email",
            "incoming": [srv("pop3", "pop.legacy.test", 110, "none", "ntlm")],
            "outgoing": [srv("smtp", "relay.legacy.test", 25, "plain", "none")],
        }
    }
    path = tmp_path / "legacy.json"
    path.write_text(json.dumps(plan))
    monkeypatch.setenv("MAILOPS_AUTODISCOVER_CONFIG", str(path))
    status, _headers, body = call(app, outlook_request("dave@legacy.test"))
    assert status == 200
    protocols = ET.fromstring(body).findall(f".//{{{NS_OUT}}}Protocol")  # noqa: S314 (our answer)
    pop, smtp = ({child.tag.split("}")[1]: child.text for child in p} for p in protocols)
    assert (pop["SPA"], pop["SSL"], pop["Encryption"], pop["AuthRequired"]) == ("on", "off", "None", "on")
    assert smtp["LoginName"] == "dave@legacy.test"  # as in the outlook role's files; AuthRequired off says unused
    assert (smtp["SPA"], smtp["SSL"], smtp["AuthRequired"], smtp["UsePOPAuth"]) == ("off", "off", "off", "off")


LEGACY_PLAN = {
    "username": "local_part",
    "display_name": "Legacy",
    "incoming": [srv("pop3", "pop.legacy.test", 110, "plain", "ntlm"), srv("imap", "imap.legacy.test", 993)],
    "outgoing": [srv("smtp", "relay.legacy.test", 25, "plain", "none")],
    "autodiscover_host": None,
}


@pytest.mark.parametrize(
    ("domain", "entry"), [*PLAN.items(), ("legacy.test", LEGACY_PLAN)], ids=["email", "local_part", "legacy"]
)
def test_app_answers_what_the_outlook_role_writes(app, tmp_path, monkeypatch, domain, entry):
    """Parity: every Protocol element the responder serves for a domain equals, element for element and in
    order, the one in the Autodiscover XML file the outlook role renders (plugin_utils._outlook) for an account
    with the same verified settings, as planned by the publish role (plugin_utils._publish.plan_accounts)."""
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({domain: entry}))
    monkeypatch.setenv("MAILOPS_AUTODISCOVER_CONFIG", str(path))
    status, _headers, body = call(app, outlook_request(f"{_publish.SAMPLE_LOCAL_PART}@{domain}"))
    assert status == 200

    def protocols(document):
        found = ET.fromstring(document).findall(f".//{{{NS_OUT}}}Protocol")  # noqa: S314 (our own documents)
        rows = [[(child.tag.split("}")[1], child.text) for child in proto] for proto in found]
        return {(dict(row)["Type"], dict(row)["Server"], dict(row)["Port"]): row for row in rows}

    served = protocols(body)
    rendered = {}
    for account in _publish.plan_accounts(domain, entry):
        rendered.update(protocols(_outlook.autodiscover_xml([account])))
    assert served == rendered
    assert len(served) == len(entry["incoming"]) + len(entry["outgoing"])


SECRETISH = "zq-unique-marker-7"


@pytest.mark.parametrize(
    ("kwargs", "status", "text"),
    [
        ({"method": "GET", "body": b""}, 405, b"only POST is answered here\n"),
        ({"path": "/" + SECRETISH, "body": b""}, 404, b"no such resource\n"),
        ({"body": b"not xml " + SECRETISH.encode()}, 400, b"the request is not well-formed XML\n"),
        ({"body": b"<Autodiscover><" + SECRETISH.encode()}, 400, b"the request is not well-formed XML\n"),
        ({"body": BILLION_LAUGHS}, 400, b"a DOCTYPE or entity declaration is not accepted\n"),
        ({"body": EXTERNAL_ENTITY}, 400, b"a DOCTYPE or entity declaration is not accepted\n"),
        (
            {"body": outlook_request(SECRETISH).replace(NS_REQ.encode(), b"urn:" + SECRETISH.encode())},
            400,
            b"not an Outlook Autodiscover request (requestschema 2006, EMailAddress)\n",
        ),
        (
            {
                "body": outlook_request("a@example.test").replace(
                    b"outlook/responseschema", b"mobilesync/responseschema"
                )
            },
            400,
            b"only the response schema outlook/responseschema/2006a is offered\n",
        ),
        ({"body": outlook_request(f"{SECRETISH} x@example.test")}, 400, b"the e-mail address is not valid\n"),
        (
            {"body": outlook_request(f"{SECRETISH}@unknown.test")},
            404,
            b"no settings are published for this e-mail domain\n",
        ),
        ({"body": b"x" * 20000}, 413, b"the request is larger than an Autodiscover request can be\n"),
        ({"body": b"<a/>", "length": "-1"}, 400, b"the request has no valid Content-Length\n"),
        ({"body": outlook_request("a@example.test"), "content_type": "application/json"}, 415, None),
    ],
)
def test_app_refuses_without_echo(app, config, kwargs, status, text):
    got_status, headers, body = call(app, **kwargs)
    assert got_status == status
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    if text is not None:
        assert body == text
    assert SECRETISH.encode() not in body
    if status == 405:
        assert headers["Allow"] == "POST"


def test_app_reads_a_changed_plan_and_survives_a_broken_one(app, config):
    status, _headers, _body = call(app, outlook_request("a@new.test"))
    assert status == 404
    plan = dict(PLAN, **{"new.test": PLAN["local.test"]})
    config.write_text(json.dumps(plan))
    os.utime(config, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    status, _headers, body = call(app, outlook_request("a@new.test"))
    assert status == 200
    check_pox(body, "a@new.test", PLAN["local.test"])
    config.write_text("{broken")
    os.utime(config, ns=(time.time_ns() + 2 * 10**9, time.time_ns() + 2 * 10**9))
    status, _headers, body = call(app, outlook_request("a@new.test"))
    assert (status, body) == (500, b"the settings cannot be read; see the server's log\n")


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ([], "the file must hold a JSON object of mail domain to its settings"),
        ({"a b": {}}, "'a b': not a valid domain name"),
        ({"a.test": {"username": "upn", "incoming": []}}, "a.test.username: expected email or local_part"),
        ({"a.test": {"incoming": [], "outgoing": []}}, "a.test: no incoming and no outgoing server"),
        (
            {"a.test": {"incoming": [srv("smtp", "m.a.test", 25)]}},
            "a.test.incoming[0].protocol: expected one of imap, pop3",
        ),
        (
            {"a.test": {"outgoing": [srv("smtp", "m.a.test", 0)]}},
            "a.test.outgoing[0].port: not a port number (1 to 65535)",
        ),
    ],
)
def test_check_config(app, tmp_path, plan, message):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(plan))
    proc = subprocess.run(
        ["/usr/bin/python3", str(APP), "--check", str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    assert (proc.returncode, proc.stderr) == (1, f"autodiscover: {message}\n")


# --------------------------------------------------------------------------------------------------
# The real thing: the role's tasks, gunicorn, nginx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout:g}s")


PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: The responder, as the publish role installs and starts it
      ansible.builtin.include_role:
        name: mailops.clients.publish
        tasks_from: autodiscover
    - name: The nginx location block the web server includes
      ansible.builtin.template:
        src: {template}
        dest: "{{{{ nginx_dir }}}}/autodiscover-location.conf"
        mode: "0644"
"""

NGINX_CONF = """\
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
    access_log {root}/nginx-access.log;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{port};
        server_name autodiscover.example.test;
        include {root}/autodiscover-location.conf;
        location / {{ return 404; }}
    }}
}}
"""

USER = "mailops-adtest"


@pytest.fixture(scope="module")
def published(ansible_env):
    """The responder installed by the role's tasks (daemon mode) and nginx in front; yields a dict of facts."""
    for tool in ("/usr/bin/gunicorn", "/usr/sbin/nginx"):
        if not os.access(tool, os.X_OK):
            pytest.fail(f"{tool} is missing: run tools/install-system-deps.sh (Debian packages gunicorn, nginx)")
    root = Path(tempfile.mkdtemp(prefix="mailops-autodiscover-"))
    root.chmod(0o755)
    listen_port, nginx_port = _free_port(), _free_port()
    extra = {
        "__mailops_publish_domains": PLAN,
        "mailops_publish_autodiscover_listen": f"127.0.0.1:{listen_port}",
        "mailops_publish_autodiscover_workers": 1,
        "mailops_publish_autodiscover_user": USER,
        "mailops_publish_autodiscover_service_manager": "auto",
        "mailops_publish_autodiscover_app_dir": str(root / "app"),
        "mailops_publish_autodiscover_config_dir": str(root / "etc"),
        "mailops_publish_autodiscover_log_dir": str(root / "log"),
        "mailops_publish_autodiscover_run_dir": str(root / "run"),
        "nginx_dir": str(root),
    }
    (root / "play.yml").write_text(
        PLAYBOOK.format(template=REPO / "roles/publish/templates/autodiscover-location.conf.j2")
    )
    (root / "vars.json").write_text(json.dumps(extra))

    def play(*args):
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local"]
        cmd += [str(root / "play.yml"), "-e", f"@{root / 'vars.json'}", *args]
        return subprocess.run(cmd, env=ansible_env, capture_output=True, text=True, timeout=300, check=False)

    nginx = None
    try:
        first = play()
        assert first.returncode == 0, first.stdout + first.stderr
        (root / "nginx.conf").write_text(NGINX_CONF.format(root=root, port=nginx_port))
        check = subprocess.run(
            ["/usr/sbin/nginx", "-t", "-c", str(root / "nginx.conf"), "-p", str(root)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert check.returncode == 0, check.stderr
        nginx = subprocess.Popen(
            ["/usr/sbin/nginx", "-c", str(root / "nginx.conf"), "-p", str(root), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(nginx_port)
        yield {"root": root, "port": nginx_port, "listen_port": listen_port, "play": play, "first": first}
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(15)
        pidfile = root / "run" / "gunicorn.pid"
        if pidfile.exists():
            subprocess.run(["pkill", "--signal", "TERM", "-F", str(pidfile), "-f", "gunicorn"], check=False, timeout=10)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if subprocess.run(["pgrep", "-u", USER], capture_output=True, check=False, timeout=10).returncode:
                    break
                time.sleep(0.2)
        subprocess.run(["userdel", USER], capture_output=True, check=False, timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def post(
    port, body, path="/Autodiscover/Autodiscover.xml", method="POST", headers=None, host="autodiscover.example.test"
):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request(method, path, body=body, headers=dict(OUTLOOK_HEADERS, Host=host, **(headers or {})))
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.mark.slow
def test_outlook_request_through_nginx(published):
    """Outlook's POST through nginx to gunicorn: the POX answer with the verified settings."""
    for email, domain in (("alice@example.test", "example.test"), ("bob@local.test", "local.test")):
        status, headers, body = post(published["port"], outlook_request(email))
        assert status == 200, body
        assert headers["Content-Type"] == "text/xml; charset=utf-8"
        check_pox(body, email, PLAN[domain])
    # Thunderbird's lower-case path too
    status, _headers, body = post(
        published["port"], outlook_request("alice@example.test"), path="/autodiscover/autodiscover.xml"
    )
    assert status == 200
    check_pox(body, "alice@example.test", PLAN["example.test"])


@pytest.mark.slow
def test_runs_as_its_own_user_without_systemd(published):
    root = published["root"]
    pid = int((root / "run" / "gunicorn.pid").read_text())
    status = Path(f"/proc/{pid}/status").read_text()
    uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
    assert int(uid) == int(subprocess.run(["id", "-u", USER], capture_output=True, text=True, check=True).stdout)
    assert oct((root / "etc" / "domains.json").stat().st_mode & 0o777) == "0o640"
    assert json.loads((root / "etc" / "domains.json").read_text()) == PLAN
    assert not (root / "etc" / "mailops-autodiscover.service").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"<Autodiscover><Request>" + SECRETISH.encode(), 400),
        (BILLION_LAUGHS, 400),
        (outlook_request(f"{SECRETISH}@unknown.test"), 404),
    ],
)
def test_broken_requests_through_nginx(published, body, status):
    got, headers, answer = post(published["port"], body)
    assert got == status
    assert headers["Content-Type"].startswith("text/plain")
    assert SECRETISH.encode() not in answer


@pytest.mark.slow
def test_oversized_and_get_through_nginx(published):
    status, _headers, body = post(published["port"], b"<a>" + b"x" * 40000 + b"</a>")
    assert status == 413
    assert b"xxxx" not in body
    status, headers, _body = post(published["port"], None, method="GET")
    assert (status, headers.get("Allow")) == (405, "POST")


@pytest.mark.slow
def test_second_run_changes_only_a_new_plan_and_it_is_served(published):
    """A second run with a new domain plan changes exactly one thing, the settings file (so the rest is idempotent:
    test_publish.py also runs the whole role twice), and the daemon answers it without a restart."""
    pid = (published["root"] / "run" / "gunicorn.pid").read_text()
    vars_path = published["root"] / "vars.json"
    extra = json.loads(vars_path.read_text())
    extra["__mailops_publish_domains"] = dict(PLAN, **{"new.test": PLAN["local.test"]})
    vars_path.write_text(json.dumps(extra))
    second = published["play"]()
    assert second.returncode == 0, second.stdout
    assert recap(second)["changed"] == 1, second.stdout
    assert json.loads((published["root"] / "etc" / "domains.json").read_text()) == extra["__mailops_publish_domains"]
    assert (published["root"] / "run" / "gunicorn.pid").read_text() == pid
    status, _headers, body = post(published["port"], outlook_request("erin@new.test"))
    assert status == 200
    check_pox(body, "erin@new.test", PLAN["local.test"])


@pytest.mark.slow
def test_a_changed_command_line_restarts_the_daemon(published):
    """Check mode leaves the daemon alone; a real run with another worker count restarts it, and it answers."""
    pidfile = published["root"] / "run" / "gunicorn.pid"
    pid = pidfile.read_text()
    vars_path = published["root"] / "vars.json"
    extra = json.loads(vars_path.read_text())
    extra["mailops_publish_autodiscover_workers"] = 2
    vars_path.write_text(json.dumps(extra))
    checked = published["play"]("--check")
    assert checked.returncode == 0, checked.stdout
    assert pidfile.read_text() == pid
    done = published["play"]()
    assert done.returncode == 0, done.stdout
    assert pidfile.read_text() != pid
    status, _headers, body = post(published["port"], outlook_request("frank@example.test"))
    assert status == 200
    check_pox(body, "frank@example.test", PLAN["example.test"])

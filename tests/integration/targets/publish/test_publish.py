# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Role mailops.clients.publish against real consumers: nginx, the discovery module, Apple's schema, Thunderbird.

The discovery lab (tools/discoverylab.py: Knot, mail relays, the mail lab's CA) resolves the lab domain
example.test; ``autoconfig.example.test`` and ``example.test`` point at a real nginx the test starts from its own
configuration root, listening on the lab block's address .10 port 443 and on 127.0.0.1 at a free port.
ansible-playbook runs in a private mount namespace whose /etc/resolv.conf names Knot, so the verify role probes
mail.example.test through the lab's relays and nothing leaves loopback. The role's Autodiscover responder runs as
gunicorn daemon (no systemd here) as a throwaway user, its paths under the test's root and its port on 127.0.0.1;
ansible-playbook runs from a directory that user cannot enter (pytest's tmp_path, mode 0700), as an operator's
home would be. The module's teardown stops the daemon by its pid file.
"""

from __future__ import annotations

import json
import os
import plistlib
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ansible_recap import recap

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "mail_settings_info"))
sys.path.insert(0, str(HERE.parents[2] / "unit" / "plugins" / "plugin_utils"))
from ansible_collections.mailops.clients.plugins.plugin_utils._cms import extract_content  # noqa: E402
from apple_schema import assert_valid  # noqa: E402
from discovery_domains import ISPDB_URL, start_lab  # noqa: E402
from maillab import issue_cert  # noqa: E402

# Each ansible-playbook run of the role (verify, then publish) takes over a minute on a busy two-core machine;
# the tests with four runs need more than the default 300 s there (it is the limit of a stuck test, not a goal).
pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(900)]

NGINX = shutil.which("nginx", path="/usr/sbin:/usr/bin")
GUNICORN = "/usr/bin/gunicorn"
USER = "mailops-adpub"  # the responder's user (not the role's default: a real one may exist)
DOMAIN = "example.test"
NAMES = [
    f"{label}{domain}" for domain in ("example.test", "gone.test") for label in ("autoconfig.", "", "autodiscover.")
]
AC = "/mail/config-v1.1.xml"
WK = "/.well-known/autoconfig/mail/config-v1.1.xml"
SERVERS = {
    "lab": {
        "incoming": {"protocol": "imap", "host": "mail.example.test", "security": "tls"},
        "outgoing": {"host": "mail.example.test", "port": 587, "security": "starttls"},
    },
    "old": {
        "incoming": {"protocol": "imap", "host": "old.example.test", "security": "tls"},
        "outgoing": {"host": "old.example.test", "security": "tls"},
    },
}
PLAY = """
- name: Verify the accounts
  hosts: all
  gather_facts: false
  roles:
    - role: mailops.clients.verify
- name: Publish
  hosts: all
  gather_facts: false
  roles:
    - role: mailops.clients.publish
"""


class Nginx:
    """A real nginx from a test-owned configuration root (the role writes conf.d/ and the document root)."""

    def __init__(self, root: Path, listens: list[str]):
        self.root = root
        self.listens = listens
        self.conf = root / "nginx.conf"
        self.pid = root / "nginx.pid"
        for sub in ("conf.d", "www", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(
            f"""worker_processes 1;
pid {self.pid};
error_log {root / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    access_log {root / "access.log"};
    client_body_temp_path {root / "tmp" / "body"};
    proxy_temp_path {root / "tmp" / "proxy"};
    fastcgi_temp_path {root / "tmp" / "fastcgi"};
    uwsgi_temp_path {root / "tmp" / "uwsgi"};
    scgi_temp_path {root / "tmp" / "scgi"};
    include {root / "conf.d"}/*.conf;
}}
"""
        )

    def stop(self):
        if self.pid.exists():
            try:
                os.kill(int(self.pid.read_text().strip()), signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                return
            deadline = time.monotonic() + 10
            while self.pid.exists() and time.monotonic() < deadline:
                time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_responder(root: Path) -> None:
    """Stop the responder the role started (TERM to the pid in its pid file) and wait until its processes are gone."""
    pidfile = root / "autodiscover" / "run" / "gunicorn.pid"
    if pidfile.exists():
        subprocess.run(["pkill", "--signal", "TERM", "-F", str(pidfile), "-f", "gunicorn"], check=False, timeout=10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if subprocess.run(["pgrep", "-u", USER], capture_output=True, check=False, timeout=10).returncode:
            break
        time.sleep(0.2)


@pytest.fixture(scope="module")
def env():
    if NGINX is None or not os.access(GUNICORN, os.X_OK):
        pytest.skip("nginx or gunicorn is not installed (tools/install-system-deps.sh)")
    from conftest import _free_port_offset

    root = Path(tempfile.mkdtemp(prefix="mailops-publish-"))
    root.chmod(0o755)
    with start_lab(_free_port_offset()) as (mail, lab):
        address = lab.address(10)
        lab.update(
            DOMAIN,
            [
                ("add", f"{name}.", 60, "A", address)
                for name in ("autoconfig.example.test", "autodiscover.example.test", DOMAIN)
            ],
        )
        ca = Path(mail.ca_path).read_bytes()
        ca_key = Path(mail.describe()["ca_key_path"]).read_bytes()
        cert, key = issue_cert(ca, ca_key, NAMES)
        (root / "tls").mkdir()
        (root / "tls" / "web.crt").write_bytes(cert)
        (root / "tls" / "web.key").touch(mode=0o600)
        (root / "tls" / "web.key").write_bytes(key)
        port = _free_port()
        nginx = Nginx(root / "nginx", [f"{address}:443", f"127.0.0.1:{port}"])
        resolv = root / "resolv.conf"
        resolv.write_text(f"nameserver {lab.dns_address}\noptions timeout:2 attempts:1\n")
        facts = {"mail": mail, "lab": lab, "root": root, "nginx": nginx, "port": port, "resolv": resolv}
        facts["responder_port"] = _free_port()
        try:
            yield facts
        finally:
            nginx.stop()
            stop_responder(root)
            subprocess.run(["userdel", USER], capture_output=True, check=False, timeout=30)
            if not os.environ.get("MAILOPS_KEEP_LAB"):
                shutil.rmtree(root, ignore_errors=True)


def publish_vars(env, **extra):
    nginx = env["nginx"]
    result = {
        "mailops_servers": SERVERS,
        "mailops_accounts": [{"email": "alice@example.test", "server": "lab"}],
        "mailops_verify_options": {"ca_path": env["mail"].ca_path},
        "mailops_verify_report_dir": str(env["root"] / "reports"),
        "mailops_publish_domains": {DOMAIN: {"server": "lab", "display_name": "Example Lab Mail"}},
        "mailops_publish_tls_certificate": str(env["root"] / "tls" / "web.crt"),
        "mailops_publish_tls_key": str(env["root"] / "tls" / "web.key"),
        "mailops_publish_https_listen": nginx.listens,
        "mailops_publish_http_listen": [],
        "mailops_publish_root": str(nginx.root / "www"),
        "mailops_publish_nginx_conf_dir": str(nginx.root / "conf.d"),
        "mailops_publish_nginx_main_conf": str(nginx.conf),
        "mailops_publish_nginx_pid_file": str(nginx.pid),
        "mailops_publish_install": False,
        "mailops_publish_service_manager": "direct",
        "mailops_publish_autodiscover": True,
        "mailops_publish_autodiscover_listen": f"127.0.0.1:{env['responder_port']}",
        "mailops_publish_autodiscover_workers": 1,
        "mailops_publish_autodiscover_user": USER,
        "mailops_publish_autodiscover_service_manager": "daemon",
        "mailops_publish_autodiscover_app_dir": str(env["root"] / "autodiscover" / "app"),
        "mailops_publish_autodiscover_config_dir": str(env["root"] / "autodiscover" / "etc"),
        "mailops_publish_autodiscover_log_dir": str(env["root"] / "autodiscover" / "log"),
        "mailops_publish_autodiscover_run_dir": str(env["root"] / "autodiscover" / "run"),
        "mailops_publish_srv_records": False,
        "mailops_publish_identifier_prefix": "test.publish",
    }
    result.update(extra)
    return result


def run(ansible_env, env, tmp_path, extra_vars, check=False):
    """ansible-playbook in a mount namespace whose resolver is the lab's Knot, from tmp_path (mode 0700: the
    responder's user cannot enter it)."""
    path = tmp_path / f"play-{time.monotonic_ns()}.yml"
    path.write_text(PLAY)
    vars_file = path.with_suffix(".json")
    vars_file.write_text(json.dumps(extra_vars))
    playbook = str(Path(sys.executable).parent / "ansible-playbook")
    cmd = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        'mount --bind "$0" /etc/resolv.conf && exec "$@"',
        str(env["resolv"]),
        playbook,
        "-i",
        "localhost,",
        "-c",
        "local",
        str(path),
        "-e",
        f"@{vars_file}",
    ]
    if check:
        cmd.append("--check")
    # stdin from /dev/null, and a daemon that kept the pipes open would show as a timeout here
    return subprocess.run(
        cmd,
        env=ansible_env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def get(env, path, host="autoconfig.example.test", address="127.0.0.1", port=None, method="GET", body=None):
    """(status, headers, body) of an HTTPS request to nginx, the certificate checked against the lab CA for ``host``."""
    context = ssl.create_default_context(cafile=env["mail"].ca_path)
    head = f"{method} {path} HTTP/1.0\r\nHost: {host}\r\n"
    if body is not None:
        head += "Content-Type: text/xml; charset=utf-8\r\n"
        head += f"User-Agent: {OUTLOOK_AGENT}\r\nContent-Length: {len(body)}\r\n"
    with (
        socket.create_connection((address, port or env["port"]), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as sock,
    ):
        sock.sendall(head.encode() + b"\r\n" + (body or b""))
        data = b""
        for _chunk in range(1000):  # bounded: at most 64 MB
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _sep, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _s, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def servers_of(xml: bytes) -> list:
    provider = ET.fromstring(xml).find("emailProvider")  # noqa: S314 (served by the test's own nginx)
    return [
        (
            s.tag,
            s.get("type"),
            s.findtext("hostname"),
            s.findtext("port"),
            s.findtext("socketType"),
            s.findtext("username"),
            s.findtext("authentication"),
        )
        for s in provider
        if s.tag.endswith("Server")
    ]


OUTLOOK_AGENT = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)"
NS_REQ = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
NS_OUT = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"


def outlook_request(email: str) -> bytes:
    """The POX request as Outlook sends it (Microsoft Learn, Autodiscover request for Exchange, POX)."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\r\n<Autodiscover xmlns="{NS_REQ}">\r\n  <Request>\r\n'
        f"    <EMailAddress>{email}</EMailAddress>\r\n"
        f"    <AcceptableResponseSchema>{NS_OUT}</AcceptableResponseSchema>\r\n  </Request>\r\n</Autodiscover>\r\n"
    ).encode()


def pox_protocols(xml: bytes) -> list:
    """(Type, Server, Port, LoginName, SSL, Encryption) of each Protocol of a POX answer, read with ElementTree."""
    account = ET.fromstring(xml).find(f"{{{NS_OUT}}}Response/{{{NS_OUT}}}Account")  # noqa: S314 (the test's own nginx)
    assert account.findtext(f"{{{NS_OUT}}}Action") == "settings"
    return [
        tuple(p.findtext(f"{{{NS_OUT}}}{tag}") for tag in ("Type", "Server", "Port", "LoginName", "SSL", "Encryption"))
        for p in account.iter(f"{{{NS_OUT}}}Protocol")
    ]


EXPECTED_POX = [
    ("IMAP", "mail.example.test", "993", "alice@example.test", "on", "SSL"),
    ("SMTP", "mail.example.test", "587", "alice@example.test", "on", "TLS"),
]


EXPECTED = [
    ("incomingServer", "imap", "mail.example.test", "993", "SSL", "%EMAILADDRESS%", "password-cleartext"),
    ("outgoingServer", "smtp", "mail.example.test", "587", "STARTTLS", "%EMAILADDRESS%", "password-cleartext"),
]


def test_publish_check_run_idempotence_and_what_is_served(ansible_env, env, tmp_path):
    extra = publish_vars(env)
    www = env["nginx"].root / "www"

    check = run(ansible_env, env, tmp_path, extra, check=True)
    assert recap(check)["failed"] == 0, check.stdout + check.stderr
    assert not (www / DOMAIN).exists()

    first = run(ansible_env, env, tmp_path, extra)
    assert recap(first)["failed"] == 0, first.stdout + first.stderr
    assert recap(first)["changed"] >= 2, first.stdout
    for path, host in ((AC, "autoconfig.example.test"), (WK, "example.test")):
        status, headers, body = get(env, path + "?emailaddress=alice%40example.test", host=host)
        assert status == 200, (path, body)
        assert headers["content-type"].split(";")[0] in ("text/xml", "application/xml")
        assert servers_of(body) == EXPECTED
        assert ET.fromstring(body).find("emailProvider/displayName").text == "Example Lab Mail"  # noqa: S314
    status, headers, body = get(env, f"/mail/{DOMAIN}.mobileconfig")
    assert status == 200
    assert headers["content-type"] == "application/x-apple-aspen-config"
    profile = plistlib.loads(body)
    assert_valid(profile)
    [payload] = profile["PayloadContent"]
    assert (payload["IncomingMailServerHostName"], payload["IncomingMailServerPortNumber"]) == (
        "mail.example.test",
        993,
    )
    assert (payload["OutgoingMailServerHostName"], payload["OutgoingMailServerPortNumber"]) == (
        "mail.example.test",
        587,
    )
    assert "EmailAddress" not in payload and "IncomingPassword" not in payload
    status, headers, page = get(env, "/mail/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert f'href="{DOMAIN}.mobileconfig"' in page.decode() and b"alice" not in page
    # nothing else is served: no listing, no other file
    for path in ("/", "/mail/index.html.bak", "/.well-known/", "/mail/x.mobileconfig"):
        assert get(env, path)[0] == 404, path
    # Autodiscover: Outlook's POST through the role's nginx to the role's responder, on both names and both cases
    for host, path in (
        ("autodiscover.example.test", "/Autodiscover/Autodiscover.xml"),
        (DOMAIN, "/autodiscover/autodiscover.xml"),
    ):
        status, headers, body = get(env, path, host=host, method="POST", body=outlook_request("alice@example.test"))
        assert status == 200, (host, body)
        assert headers["content-type"] == "text/xml; charset=utf-8"
        assert pox_protocols(body) == EXPECTED_POX
    broken = b"<Autodiscover><Req"
    status, headers, body = get(env, "/autodiscover/autodiscover.xml", host=DOMAIN, method="POST", body=broken)
    assert status == 400 and headers["content-type"].startswith("text/plain"), body
    # the daemon runs as the responder's user, from the pid file the role gave it
    pid = int((env["root"] / "autodiscover" / "run" / "gunicorn.pid").read_text())
    uid = next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line[:4] == "Uid:")
    assert int(uid) == int(subprocess.run(["id", "-u", USER], capture_output=True, text=True, check=True).stdout)

    again_check = run(ansible_env, env, tmp_path, extra, check=True)
    assert recap(again_check) == {"changed": 0, "failed": 0}, again_check.stdout
    again = run(ansible_env, env, tmp_path, extra)
    assert recap(again) == {"changed": 0, "failed": 0}, again.stdout
    env["state"] = "published"


def ensure_published(ansible_env, env, tmp_path):
    """The state publish_vars(env) gives, with one run only when an earlier test did not leave it (each run costs
    half a minute on a busy machine; the tests that only read come right after the one that publishes)."""
    if env.get("state") != "published":
        done = run(ansible_env, env, tmp_path, publish_vars(env))
        assert recap(done)["failed"] == 0, done.stdout + done.stderr
        env["state"] = "published"


def discover(ansible_env, env, tmp_path) -> dict:
    """mail_settings_info for alice@example.test against the lab's DNS: its result for the address."""
    out = tmp_path / "found.json"
    play = f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Discover
      mailops.clients.mail_settings_info:
        emails: [alice@example.test]
        dns_servers: ["{env["lab"].dns_address}"]
        ispdb_url: "{ISPDB_URL}"
        ca_path: "{env["mail"].ca_path}"
        timeout: 30
      register: found
    - name: Hand over
      ansible.builtin.copy:
        content: "{{{{ found | to_json }}}}"
        dest: "{out}"
        mode: "0644"
"""
    path = tmp_path / "discover.yml"
    path.write_text(play)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(path)],
        env=ansible_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.exists(), proc.stdout + proc.stderr
    return json.loads(out.read_text())["results"][0]


def test_discovery_module_reads_back_the_published_settings(ansible_env, env, tmp_path):
    ensure_published(ansible_env, env, tmp_path)
    result = discover(ansible_env, env, tmp_path)
    # both published URLs were read over verified HTTPS and named exactly the published servers, which verified
    for source, url in (
        ("autoconfig", f"https://autoconfig.{DOMAIN}{AC}"),
        ("wellknown", f"https://{DOMAIN}{WK}"),
    ):
        assert result["sources"][source]["status"] == "found", result["sources"]
        assert any(u.startswith(url) for u in result["sources"][source]["urls"]), result["sources"][source]
        named = sorted(
            (c["direction"], c["protocol"], c["host"], c["port"], c["security"], c["auth"], c["trusted"], c["verified"])
            for c in result["candidates"]
            if source in c["sources"]
        )
        assert named == [
            ("incoming", "imap", "mail.example.test", 993, "tls", "password", True, True),
            ("outgoing", "smtp", "mail.example.test", 587, "starttls", "password", True, True),
        ], (source, result["candidates"])
    assert result["username_form"] == "email"
    assert result["server"]["incoming"]["host"] == "mail.example.test"


def test_thunderbird_finds_the_published_settings_and_logs_in(ansible_env, env, tmp_path):
    """Thunderbird's account hub path: parallelAutoDiscovery finds the published document over HTTPS, the
    placeholders are filled in, and its ConfigVerifier logs in to the lab's Dovecot with those settings."""
    import thunderbird_peer as tb

    if tb.THUNDERBIRD is None or shutil.which("certutil") is None:
        pytest.skip("thunderbird and certutil are not installed (tools/install-system-deps.sh)")
    ensure_published(ansible_env, env, tmp_path)
    access_log = env["nginx"].root / "access.log"
    access_log.write_text("")
    password = env["mail"].users["alice@example.test"]
    with tb.thunderbird(tmp_path, env["lab"].dns_address, ISPDB_URL, env["mail"].ca_path) as client:
        found = tb.discover(client, DOMAIN, "alice@example.test")
        login = client.execute_async_script(LOGIN, script_args=["alice@example.test", password], script_timeout=90000)
        wrong = client.execute_async_script(LOGIN, script_args=["alice@example.test", "wrong"], script_timeout=90000)
    config = found["found"]
    assert config is not None, found
    assert (config["incoming"]["type"], config["incoming"]["host"], config["incoming"]["port"]) == (
        "imap",
        "mail.example.test",
        993,
    ), found
    assert config["incoming"]["socket"] == 3 and config["outgoing"]["socket"] == 2, found  # SSL, STARTTLS
    assert (config["outgoing"]["host"], config["outgoing"]["port"]) == ("mail.example.test", 587), found
    # from the published document, fetched over HTTPS from our nginx
    assert login["subSource"] == "xml-from-isp-https", login
    assert "GET /mail/config-v1.1.xml?emailaddress=alice%40example.test" in access_log.read_text()
    assert login["ok"] is True, login
    assert login["username"] == "alice@example.test", login  # %EMAILADDRESS% filled in
    assert wrong["ok"] is False, wrong  # the login check can fail


# Thunderbird's own login check of a found configuration, as its account hub does it: FindConfig, then
# AccountConfig.replaceVariables, then ConfigVerifier.verifyConfig (comm-central
# mail/components/accountcreation/ConfigVerifier.sys.mjs).
LOGIN = """
const [email, password] = arguments;
const resolve = arguments[arguments.length - 1];
const { FindConfig } = ChromeUtils.importESModule("resource:///modules/accountcreation/FindConfig.sys.mjs");
const { AccountConfig } = ChromeUtils.importESModule("resource:///modules/accountcreation/AccountConfig.sys.mjs");
const { ConfigVerifier } = ChromeUtils.importESModule("resource:///modules/accountcreation/ConfigVerifier.sys.mjs");
(async () => {
  const out = {ok: false};
  try {
    const signal = new AbortController().signal;
    const gen = FindConfig.parallelAutoDiscovery(email.split("@")[1], email, signal);
    let step = await gen.next();
    while (!step.done) { step = await gen.next({acceptRedirect: false}); }
    const config = step.value.copy();
    out.subSource = config.subSource;
    AccountConfig.replaceVariables(config, "Alice", email, password);
    out.username = config.incoming.username;
    const verifier = new ConfigVerifier(null, signal);
    try {
      await verifier.verifyConfig(config, false);
      out.ok = true;
    } finally { verifier.cleanup(); }
  } catch (e) { out.error = String(e); }
  resolve(out);
})();
"""


def test_signed_refused_and_unpublished(ansible_env, env, tmp_path):
    """Signed profiles stay as they are while current; a domain whose server does not verify keeps its documents and
    fails the run by name; a domain no longer listed is unpublished (its name then gets 404, not another domain).
    Last in the module: it leaves the lab's state changed (a test after it calls ensure_published)."""
    env["state"] = "changed"
    ca = Path(env["mail"].ca_path).read_bytes()
    ca_key = Path(env["mail"].describe()["ca_key_path"]).read_bytes()
    cert, key = issue_cert(ca, ca_key, ["profiles.example.test"])
    signing = {"certificate": cert.decode(), "private_key": key.decode()}
    both = {DOMAIN: {"server": "lab"}, "gone.test": {"server": "lab", "username": "local_part"}}
    extra = publish_vars(env, mailops_publish_domains=both, mailops_publish_signing=signing)
    www = env["nginx"].root / "www"

    first = run(ansible_env, env, tmp_path, extra)
    assert recap(first)["failed"] == 0, first.stdout + first.stderr
    assert key.decode().splitlines()[1] not in first.stdout + first.stderr
    status, headers, body = get(env, "/mail/gone.test.mobileconfig", host="autoconfig.gone.test")
    assert status == 200 and body[:1] == b"\x30"  # DER SignedData
    assert_valid(plistlib.loads(extract_content(body)))
    status, _headers, body = get(env, AC, host="autoconfig.gone.test")
    assert status == 200 and [s[5] for s in servers_of(body)] == ["%EMAILLOCALPART%"] * 2
    signed = (www / DOMAIN / "mail" / f"{DOMAIN}.mobileconfig").read_bytes()
    again = run(ansible_env, env, tmp_path, extra)
    assert recap(again) == {"changed": 0, "failed": 0}, again.stdout
    assert (www / DOMAIN / "mail" / f"{DOMAIN}.mobileconfig").read_bytes() == signed  # not signed again

    before = {p: p.read_bytes() for p in (www / DOMAIN).rglob("*") if p.is_file()}
    # example.test now names a server nobody verified; gone.test is no longer listed
    moved = publish_vars(env, mailops_publish_domains={DOMAIN: {"server": "old"}}, mailops_publish_signing=signing)
    refused = run(ansible_env, env, tmp_path, moved)
    assert recap(refused)["failed"] == 1, refused.stdout
    assert "example.test: not published (its last verified documents stay as they are)" in refused.stdout
    assert "imap://old.example.test:993/tls was not verified" in refused.stdout
    assert {p: p.read_bytes() for p in (www / DOMAIN).rglob("*") if p.is_file()} == before
    assert servers_of(get(env, AC)[2]) == EXPECTED
    assert not (www / "gone.test").exists()
    assert not (env["nginx"].root / "conf.d" / "mailops-publish-gone.test.conf").exists()
    assert get(env, AC, host="autoconfig.gone.test")[0] == 404
    # the responder too: the refused domain keeps its last verified answer, the unpublished one has none
    status, _headers, body = get(
        env,
        "/autodiscover/autodiscover.xml",
        host="autodiscover.example.test",
        method="POST",
        body=outlook_request("alice@example.test"),
    )
    assert status == 200 and pox_protocols(body) == EXPECTED_POX, body
    status = get(
        env,
        "/autodiscover/autodiscover.xml",
        host="autodiscover.example.test",
        method="POST",
        body=outlook_request("alice@gone.test"),
    )[0]
    assert status == 404

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The discovery lab: a real DNS server (Knot), an HTTPS/HTTP document server and mail ports on loopback.

Shared by the discovery tests and the publishing tests. Everything listens on one private /24 inside
127.0.0.0/8 that no other lab run uses (Linux routes the whole block to ``lo``), so standard ports (53, 80,
443, 993, 143, 995, 110, 465, 587, 25) are available without a network namespace and without touching any
address outside loopback:

- ``.1`` Knot DNS on port 53 (UDP and TCP), authoritative for the lab zones, RFC 2136 updates signed with
  the lab's TSIG key (``DiscoveryLab.tsig``);
- ``.2`` the web server: HTTPS on 443 with a certificate from the mail lab's CA chosen by SNI, plain HTTP
  on 80; documents by (host, path) from ``DiscoveryLab.documents``; every request is recorded;
- ``.3`` and further mail addresses: TCP relays from the standard mail ports to a real Dovecot/Postfix
  (``tools/maillab.py``) so the real servers answer there, TLS included (the relay never touches TLS);
- ``.9`` nothing listens (a refused connection, for documents that name a dead server).

Needs root (port 53/443 binds, Knot, the mail lab) and the Debian package ``knot``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import selectors
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MAIL_PORTS = {"imap": 143, "imaps": 993, "pop3": 110, "pop3s": 995, "smtp": 25, "submission": 587, "submissions": 465}
TSIG_NAME = "mailops-lab-update"


class DiscoveryLabError(RuntimeError):
    """The lab could not start; the message says why and where the logs are."""


@dataclass
class Document:
    """One HTTP answer: status, content type and body (bytes)."""

    body: bytes
    content_type: str = "text/xml"
    status: int = 200
    headers: dict = field(default_factory=dict)


def _free_block() -> int:
    """A third octet N such that 127.53.N.1:53 and 127.53.N.2:443 can be bound (not used by another run)."""
    start = os.getpid() % 200 + 20
    for step in range(200):
        block = (start + step) % 250 + 2
        probes = []
        try:
            for last, port in ((1, 53), (2, 443)):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                probes.append(sock)
                sock.bind((f"127.53.{block}.{last}", port))
            return block
        except OSError:
            continue
        finally:
            for sock in probes:
                sock.close()
    raise DiscoveryLabError("no free 127.53.N.0/24 block for the discovery lab")


# --------------------------------------------------------------------------------------------------
# Web server


class _Handler(BaseHTTPRequestHandler):
    server_version = "mailops-discoverylab"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass

    def _answer(self):
        lab = self.server.lab
        length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
        body = self.rfile.read(length) if length else b""
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        path = self.path.split("?", 1)[0]
        record = {
            "scheme": self.server.scheme,
            "method": self.command,
            "host": host,
            "path": self.path,
            "authorization": self.headers.get("Authorization"),
            "content_type": self.headers.get("Content-Type"),
            "body": body.decode("utf-8", "replace"),
        }
        with lab._lock:
            lab.requests.append(record)
        document = lab.documents.get((self.server.scheme, host, path)) or lab.documents.get(("*", host, path))
        if document is None:
            document = Document(b"not found\n", "text/plain", 404)
        self.send_response(document.status)
        self.send_header("Content-Type", document.content_type)
        self.send_header("Content-Length", str(len(document.body)))
        for name, value in document.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(document.body)

    do_GET = _answer  # noqa: N815 - http.server's naming
    do_POST = _answer  # noqa: N815


class _WebServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, lab, scheme, context=None):
        self.lab = lab
        self.scheme = scheme
        self.context = context
        super().__init__(address, _Handler)
        self.socket.settimeout(None)

    def get_request(self):
        sock, address = super().get_request()
        sock.settimeout(10)
        if self.context is not None:
            try:
                sock = self.context.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError):
                sock.close()
                raise
        return sock, address

    def handle_error(self, request, client_address):  # a client that hung up is not a lab error
        pass


# --------------------------------------------------------------------------------------------------
# TCP relays in front of the real mail servers


class _Relay(threading.Thread):
    """Accept on (address, port) and pipe every connection to ``target``, bytes unchanged."""

    def __init__(self, listen, target):
        super().__init__(name=f"relay-{listen[0]}:{listen[1]}", daemon=True)
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(listen)
        self.sock.listen(64)
        self.stopping = threading.Event()

    def run(self):
        self.sock.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                client, _unused = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client):
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        deadline = time.monotonic() + 120  # no lab session lasts longer
        try:
            while time.monotonic() < deadline and not self.stopping.is_set():
                for key, _mask in selector.select(0.5):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            selector.close()
            client.close()
            upstream.close()

    def stop(self):
        self.stopping.set()
        self.sock.close()


# --------------------------------------------------------------------------------------------------
# The lab


class DiscoveryLab:
    """Knot DNS + web server + mail relays on 127.53.N.0/24.

    ``zones`` maps a zone name to zone-file lines (relative to the zone origin, ``$ORIGIN`` set); SOA and NS
    are added. ``mail`` is a described mail lab (``MailLab.describe()``): its ports are relayed from the
    standard ports of every mail address; None starts no relays (a lab for DNS, and plain HTTP documents).
    ``web_names`` are the HTTPS host names that get a certificate from the mail lab's CA; ``bad_cert_names`` get
    a self-signed one (a document host whose certificate does not verify). ``readonly_zones`` accept no update
    (no ACL names the lab's key there).
    """

    def __init__(self, root, mail, zones, web_names=(), bad_cert_names=(), mail_addresses=1, readonly_zones=()):
        self.root = Path(root).resolve()
        self.mail = mail
        self.zones = dict(zones)
        self.web_names = list(web_names)
        self.bad_cert_names = list(bad_cert_names)
        self.block = None
        self.documents = {}
        self.requests = []
        self.tsig = {"name": TSIG_NAME, "algorithm": "hmac-sha256", "secret": ""}
        self.mail_address_count = int(mail_addresses)
        self.readonly_zones = set(readonly_zones)
        self._lock = threading.Lock()
        self._knot = None
        self._servers = []
        self._relays = []

    # -- addresses ----------------------------------------------------------------------------
    def address(self, last: int) -> str:
        return f"127.53.{self.block}.{last}"

    @property
    def dns_address(self) -> str:
        return self.address(1)

    @property
    def web_address(self) -> str:
        return self.address(2)

    def mail_address(self, index: int = 0) -> str:
        return self.address(3 + index)

    @property
    def dead_address(self) -> str:
        return self.address(9)

    def describe(self) -> dict:
        return {
            "dns_server": self.dns_address,
            "web_address": self.web_address,
            "mail_addresses": [self.mail_address(i) for i in range(self.mail_address_count)],
            "dead_address": self.dead_address,
            "zones": sorted(self.zones),
            "tsig": self.tsig,
            "root": str(self.root),
            "logs": [str(self.root / "knot.log")],
        }

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, timeout: float = 15.0) -> DiscoveryLab:
        if os.geteuid() != 0:
            raise DiscoveryLabError("the discovery lab must run as root (ports 53 and 443, Knot)")
        if shutil.which("knotd", path="/usr/sbin:/usr/bin:/sbin:/bin") is None:
            raise DiscoveryLabError("knotd is not installed: run 'make system-deps' (Debian package knot)")
        self.block = _free_block()
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self._start_knot(timeout)
            self._start_web()
            self._start_relays()
        except BaseException:
            self.stop()
            raise
        (self.root / "discoverylab.json").write_text(json.dumps(self.describe(), indent=2) + "\n")
        return self

    def stop(self) -> None:
        for relay in self._relays:
            relay.stop()
        self._relays = []
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []
        if self._knot is not None:
            self._knot.terminate()
            try:
                self._knot.wait(10)
            except subprocess.TimeoutExpired:
                self._knot.kill()
                self._knot.wait(5)
            self._knot = None

    # -- DNS ----------------------------------------------------------------------------------
    def _zone_text(self, name: str, lines) -> str:
        head = [
            f"$ORIGIN {name}.",
            "$TTL 60",
            f"@ SOA ns.{name}. hostmaster.{name}. 1 60 60 600 60",
            f"@ NS ns.{name}.",
            f"ns A {self.dns_address}",
        ]
        return "\n".join(head + [line.format(**self.placeholders()) for line in lines]) + "\n"

    def placeholders(self) -> dict:
        """What zone lines may use: {dns}, {web}, {mail}, {mail2}, ..., {dead}."""
        values = {"dns": self.dns_address, "web": self.web_address, "dead": self.dead_address}
        for index in range(self.mail_address_count):
            values["mail" if index == 0 else f"mail{index + 1}"] = self.mail_address(index)
        return values

    def _start_knot(self, timeout):
        secret = base64.b64encode(os.urandom(32)).decode("ascii")
        self.tsig["secret"] = secret
        zones_dir = self.root / "zones"
        zones_dir.mkdir(exist_ok=True)
        for name, lines in self.zones.items():
            (zones_dir / f"{name}.zone").write_text(self._zone_text(name, lines))
        zone_entries = "".join(
            f"  - domain: {name}\n" + ("" if name in self.readonly_zones else "    acl: lab-update\n")
            for name in sorted(self.zones)
        )
        conf = f"""# Generated by tools/discoverylab.py. Do not edit.
server:
  rundir: "{self.root / "run"}"
  listen: {self.dns_address}@53
log:
  - target: "{self.root / "knot.log"}"
    any: info
database:
  storage: "{self.root / "db"}"
control:
  listen: "{self.root / "run" / "knot.sock"}"
key:
  - id: {TSIG_NAME}
    algorithm: hmac-sha256
    secret: {secret}
acl:
  - id: lab-update
    key: {TSIG_NAME}
    action: update
template:
  - id: default
    storage: "{zones_dir}"
    file: "%s.zone"
    zonefile-sync: -1
zone:
{zone_entries}"""
        (self.root / "run").mkdir(exist_ok=True)
        (self.root / "db").mkdir(exist_ok=True)
        conf_path = self.root / "knot.conf"
        conf_path.write_text(conf)
        check = subprocess.run(
            ["knotc", "-c", str(conf_path), "conf-check"], capture_output=True, text=True, timeout=30, check=False
        )
        if check.returncode != 0:
            raise DiscoveryLabError(f"knot.conf does not check: {check.stdout}{check.stderr}")
        log = (self.root / "knotd.out").open("wb")
        self._knot = subprocess.Popen(
            ["knotd", "-c", str(conf_path)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + timeout
        first = sorted(self.zones)[0] if self.zones else None
        while time.monotonic() < deadline:
            if self._knot.poll() is not None:
                raise DiscoveryLabError(f"knotd exited ({self._knot.returncode}); see {self.root / 'knot.log'}")
            if first is None or self._answers_soa(first):
                return
            time.sleep(0.1)
        raise DiscoveryLabError(f"knotd did not answer within {timeout:g}s; see {self.root / 'knot.log'}")

    def _answers_soa(self, zone: str) -> bool:
        import dns.message
        import dns.query
        import dns.rcode

        try:
            reply = dns.query.udp(dns.message.make_query(zone, "SOA"), self.dns_address, timeout=0.5)
        except (OSError, dns.exception.DNSException):
            return False
        return reply.rcode() == dns.rcode.NOERROR and bool(reply.answer)

    def update(self, zone: str, changes) -> None:
        """Send one RFC 2136 update signed with the lab's TSIG key; ``changes`` are (op, name, ttl, type, rdata)."""
        import dns.query
        import dns.rcode
        import dns.tsigkeyring
        import dns.update

        keyring = dns.tsigkeyring.from_text({TSIG_NAME: ("hmac-sha256", self.tsig["secret"])})
        update = dns.update.UpdateMessage(zone, keyring=keyring, keyname=TSIG_NAME)
        for op, name, ttl, rtype, rdata in changes:
            if op == "add":
                update.add(name, ttl, rtype, rdata)
            elif op == "replace":
                update.replace(name, ttl, rtype, rdata)
            else:
                update.delete(name, rtype) if rdata is None else update.delete(name, rtype, rdata)
        reply = dns.query.tcp(update, self.dns_address, timeout=5)
        if reply.rcode() != dns.rcode.NOERROR:
            raise DiscoveryLabError(f"update of {zone} refused: {dns.rcode.to_text(reply.rcode())}")

    # -- web ----------------------------------------------------------------------------------
    def _contexts(self):
        if self.mail is None:  # a DNS-only lab (the SRV publishing tests): no certificates, no relays
            if self.web_names or self.bad_cert_names:
                raise DiscoveryLabError("web_names need a mail lab (its CA signs the certificates)")
            return {}
        from maillab import issue_cert

        ca_cert = Path(self.mail["ca_path"]).read_bytes()
        ca_key = Path(self.mail["ca_key_path"]).read_bytes()
        tls = self.root / "tls"
        tls.mkdir(exist_ok=True)
        contexts = {}
        for name in self.web_names + self.bad_cert_names:
            signed = name not in self.bad_cert_names
            cert, key = issue_cert(ca_cert if signed else None, ca_key if signed else None, [name])
            (tls / f"{name}.crt").write_bytes(cert)
            key_path = tls / f"{name}.key"
            key_path.touch(mode=0o600)
            key_path.write_bytes(key)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls / f"{name}.crt", key_path)
            contexts[name] = context
        return contexts

    def _start_web(self):
        contexts = self._contexts()
        default = next(iter(contexts.values()), None)
        if default is not None:

            def choose(sock, server_name, _context):
                chosen = contexts.get((server_name or "").lower())
                if chosen is not None:
                    sock.context = chosen

            default = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            first = next(iter(contexts))
            default.load_cert_chain(self.root / "tls" / f"{first}.crt", self.root / "tls" / f"{first}.key")
            default.sni_callback = choose
            https = _WebServer((self.web_address, 443), self, "https", default)
            self._servers.append(https)
        self._servers.append(_WebServer((self.web_address, 80), self, "http"))
        for server in self._servers:
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    # -- mail relays --------------------------------------------------------------------------
    def _start_relays(self):
        if self.mail is None:
            return
        ports = self.mail["ports"]
        host = self.mail["host"]
        for index in range(self.mail_address_count):
            for service, standard in MAIL_PORTS.items():
                relay = _Relay((self.mail_address(index), standard), (host, ports[service]))
                relay.start()
                self._relays.append(relay)


@contextlib.contextmanager
def running(mail, zones, **kwargs):
    """A started DiscoveryLab in a fresh directory, stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="mailops-discoverylab-"))
    lab = DiscoveryLab(root, mail, zones, **kwargs)
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()
        shutil.rmtree(root, ignore_errors=True)

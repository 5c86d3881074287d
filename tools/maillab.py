# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The mail lab: real Dovecot and Postfix on 127.0.0.1 high ports with a per-run CA.

Used by the tests (pytest fixture ``mail_lab``), ``make lab-up``/``make lab-down``, ``make demo``,
the benchmarks and the Molecule mailhost container. Everything lives below one directory; the
machine's own /etc/dovecot and /etc/postfix are never read or changed. Needs root (Postfix cannot
run unprivileged) and the Debian packages dovecot-imapd, dovecot-pop3d, dovecot-lmtpd, postfix.

    maillab.py up --dir build/lab [--port-offset N] [--users N]   # prints and writes lab.json
    maillab.py down --dir build/lab
    maillab.py status --dir build/lab
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

LAB_HOST = "127.0.0.1"
LAB_HOSTNAME = "mail.example.test"
LAB_DOMAIN = "example.test"
BASE_PORTS = {
    "imap": 10143,
    "imaps": 10993,
    "pop3": 10110,
    "pop3s": 10995,
    "smtp": 10025,
    "submission": 10587,
    "submissions": 10465,
}
FIXED_USERS = {
    "alice@example.test": "alice-lab-pw-1",
    "bob@example.test": "bob-lab-pw-2",
    "carol@example.test": "carol-lab-pw-3",
}
# The mailboxes belong to nobody:nogroup so no account has to be created on the machine.
MAIL_UID = 65534
MAIL_GID = 65534
OAUTH2_AZP = "mailops-lab"


class LabError(RuntimeError):
    """The lab could not be started or stopped; the message says why and where the logs are."""


# --------------------------------------------------------------------------------------------
# Certificates


def _crypto():
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise LabError(
            "the mail lab needs the Python 'cryptography' package (pip install cryptography, "
            "or apt-get install python3-cryptography)"
        ) from exc
    return x509, hashes, serialization, ec, NameOID, ExtendedKeyUsageOID


def _key_pem(key) -> bytes:
    serialization = _crypto()[2]
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_ca(common_name: str = "mailops.clients lab CA") -> tuple[bytes, bytes]:
    """A fresh self-signed CA: (certificate PEM, key PEM)."""
    x509, hashes, serialization, ec, NameOID = _crypto()[:5]
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def issue_cert(
    ca_cert_pem: bytes | None,
    ca_key_pem: bytes | None,
    dns_names: list[str],
    ip_addresses: list[str] | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    common_name: str | None = None,
) -> tuple[bytes, bytes]:
    """A server certificate: (certificate PEM, key PEM).

    Signed by the given CA, or self-signed when ``ca_cert_pem`` is None. Tests use this for the
    broken cases (expired, not yet valid, another host, another CA, self-signed).
    """
    import ipaddress

    x509, hashes, serialization, ec, NameOID, ExtendedKeyUsageOID = _crypto()
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name or dns_names[0])])
    if ca_cert_pem is None:
        issuer_name, signing_key = subject, key
    else:
        ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
        issuer_name = ca_cert.subject
        signing_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    sans = [x509.DNSName(name) for name in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses or []]
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - datetime.timedelta(minutes=5))
        .not_valid_after(not_after or now + datetime.timedelta(days=397))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    cert = builder.sign(signing_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


# --------------------------------------------------------------------------------------------
# OAuth2 tokens the lab's Dovecot validates locally (JWT, HS256)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(secret: bytes, email: str, lifetime: int = 3600, now: float | None = None) -> str:
    """An HS256 JWT for ``email`` that the lab's oauth2 passdb accepts while it has not expired."""
    issued = int(now if now is not None else time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {
        "sub": email,
        "email": email,
        "azp": OAUTH2_AZP,
        "iat": issued - 5,
        "nbf": issued - 5,
        "exp": issued + lifetime,
    }
    signing_input = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)


# --------------------------------------------------------------------------------------------
# The lab


def _run(cmd: list[str], log: Path, env: dict | None = None, timeout: float = 60) -> None:
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env, timeout=timeout, check=False
        )
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise LabError(f"{' '.join(cmd)} exited {proc.returncode}; log {log}:\n{tail}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class MailLab:
    """Dovecot (IMAP, POP3, LMTP, SASL for Postfix) and Postfix (smtp, submission, submissions).

    ``services`` may be reduced to ``("dovecot",)`` and ``server_cert`` may be a (cert PEM, key PEM)
    pair, so tests can run a second, deliberately broken Dovecot (expired certificate, ...).
    """

    def __init__(
        self,
        root: Path | str,
        port_offset: int = 0,
        extra_users: int = 0,
        services: tuple[str, ...] = ("dovecot", "postfix"),
        server_cert: tuple[bytes, bytes] | None = None,
        extra_dovecot_config: str = "",
    ) -> None:
        self.root = Path(root).resolve()
        self.port_offset = int(port_offset)
        self.extra_users = int(extra_users)
        self.services = tuple(services)
        self._server_cert = server_cert
        self._extra_dovecot_config = extra_dovecot_config
        self.host = LAB_HOST
        self.hostname = LAB_HOSTNAME
        self.domain = LAB_DOMAIN
        self.ports = {name: port + self.port_offset for name, port in BASE_PORTS.items()}
        self.users = dict(FIXED_USERS)
        for index in range(1, self.extra_users + 1):
            self.users[f"user{index:04d}@{LAB_DOMAIN}"] = f"pw-user{index:04d}"
        self.tls_dir = self.root / "tls"
        self.ca_path = str(self.tls_dir / "ca.crt")
        self.ca_key_path = str(self.tls_dir / "ca.key")
        self.cert_path = str(self.tls_dir / "server.crt")
        self.key_path = str(self.tls_dir / "server.key")
        self.log_dir = self.root / "log"
        self.dovecot_dir = self.root / "dovecot"
        self.dovecot_conf = self.dovecot_dir / "dovecot.conf"
        self.dovecot_run = self.dovecot_dir / "run"
        self.postfix_dir = self.root / "postfix"
        self.postfix_queue = self.postfix_dir / "queue"
        self.mail_dir = self.root / "mail"
        self._oauth2_secret_path = self.dovecot_dir / "oauth2.secret"

    # -- public helpers ------------------------------------------------------------------------
    def oauth2_token(self, email: str, lifetime: int = 3600) -> str:
        """A bearer token for XOAUTH2/OAUTHBEARER that the lab's Dovecot validates locally."""
        return make_jwt(self._oauth2_secret_path.read_bytes(), email, lifetime=lifetime)

    def maildir(self, email: str) -> Path:
        local, domain = email.split("@", 1)
        return self.mail_dir / domain / local / "Maildir"

    def describe(self) -> dict:
        return {
            "host": self.host,
            "hostname": self.hostname,
            "domain": self.domain,
            "ports": self.ports,
            "ca_path": self.ca_path,
            "ca_key_path": self.ca_key_path,
            "users": self.users,
            "root": str(self.root),
            "logs": [str(self.log_dir / "dovecot.log"), str(self.log_dir / "postfix.log")],
        }

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> MailLab:
        if os.geteuid() != 0:
            raise LabError("the mail lab must run as root (Postfix cannot run unprivileged)")
        for binary in ("dovecot", "postfix"):
            if binary in self.services and shutil.which(binary, path="/usr/sbin:/usr/bin:/sbin:/bin") is None:
                raise LabError(f"{binary} is not installed: run 'make system-deps' (Debian packages)")
        self.stop()  # a previous run in the same directory may have been killed
        self._check_ports_free()
        self._prepare_dirs()
        self._write_tls()
        self._write_dovecot()
        if "postfix" in self.services:
            self._write_postfix()
        try:
            if "dovecot" in self.services:
                self._start_dovecot()
            if "postfix" in self.services:
                self._start_postfix()
            self._wait_for_ports(timeout)
        except BaseException:
            self.stop()
            raise
        (self.root / "lab.json").write_text(json.dumps(self.describe(), indent=2) + "\n")
        return self

    def stop(self) -> None:
        """Stop both daemons and wait until no lab process is left."""
        master_pid = _read_pid(self.postfix_queue / "pid" / "master.pid")
        if master_pid and _pid_alive(master_pid) and (self.postfix_dir / "main.cf").exists():
            subprocess.run(
                ["postfix", "-c", str(self.postfix_dir), "stop"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=30,
                check=False,
            )
        dovecot_pid = _read_pid(self.dovecot_run / "master.pid")
        for pid in (master_pid, dovecot_pid):
            if pid and _pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for pid in (master_pid, dovecot_pid):
            while pid and _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if pid and _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        self._kill_strays()

    def _kill_strays(self) -> None:
        """Children that outlived their master (a killed test run) still carry our paths."""
        marker = str(self.root)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline and ("dovecot" in cmdline or "postfix" in cmdline):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(entry.name), signal.SIGKILL)

    # -- configuration ------------------------------------------------------------------------
    def _check_reachable(self) -> None:
        for parent in self.root.parents:
            if parent.exists() and not parent.stat().st_mode & 0o001:
                raise LabError(
                    f"{parent} is not searchable by other users (mode {parent.stat().st_mode & 0o777:o}); "
                    "Postfix and Dovecot drop privileges and could not reach the lab: choose a directory whose "
                    "parents all have o+x (e.g. one made by mktemp -d and chmod 755)"
                )

    def _prepare_dirs(self) -> None:
        self._check_reachable()
        self.root.mkdir(parents=True, exist_ok=True)
        # Postfix and Dovecot's unprivileged processes must traverse the lab directory.
        self.root.chmod(0o755)
        for path in (self.tls_dir, self.log_dir, self.dovecot_dir, self.dovecot_run, self.postfix_dir):
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o755)
        (self.dovecot_dir / "state").mkdir(exist_ok=True)
        self.mail_dir.mkdir(exist_ok=True)
        os.chown(self.mail_dir, MAIL_UID, MAIL_GID)
        self.mail_dir.chmod(0o700)

    def _write_tls(self) -> None:
        if not Path(self.ca_path).exists():
            ca_cert, ca_key = make_ca()
            _write(self.ca_key_path, ca_key, 0o600)
            _write(self.ca_path, ca_cert, 0o644)
        if self._server_cert is not None:
            cert, key = self._server_cert
        else:
            cert, key = issue_cert(
                Path(self.ca_path).read_bytes(),
                Path(self.ca_key_path).read_bytes(),
                [LAB_HOSTNAME, "localhost"],
                ["127.0.0.1"],
            )
        _write(self.cert_path, cert, 0o644)
        _write(self.key_path, key, 0o600)

    def _write_dovecot(self) -> None:
        users = "".join(f"{email}:{{PLAIN}}{password}::::::\n" for email, password in self.users.items())
        # The auth process runs as the dovecot user: it must read the passwd-file and oauth2 keys.
        dovecot_gid = _gid("dovecot")
        _write(self.dovecot_dir / "users", users.encode(), 0o640, gid=dovecot_gid)
        if not self._oauth2_secret_path.exists():
            _write(self._oauth2_secret_path, base64.b64encode(os.urandom(32)), 0o600)
        secret = self._oauth2_secret_path.read_bytes()
        # Dovecot looks keys up as <prefix><azp>/<alg>/<kid>; HMAC keys are stored base64-encoded.
        key_file = self.dovecot_dir / "oauth2-keys" / OAUTH2_AZP / "HS256" / "default"
        key_file.parent.mkdir(parents=True, exist_ok=True)
        for directory in (key_file.parent.parent.parent, key_file.parent.parent, key_file.parent):
            os.chown(directory, 0, dovecot_gid)
            directory.chmod(0o750)
        _write(key_file, base64.b64encode(secret), 0o640, gid=dovecot_gid)
        _write(
            self.dovecot_dir / "oauth2.conf.ext",
            (
                "introspection_mode = local\n"
                f"local_validation_key_dict = fs:posix:prefix={self.dovecot_dir / 'oauth2-keys'}/\n"
                "username_attribute = email\n"
            ).encode(),
            0o640,
            gid=dovecot_gid,
        )
        p = self.ports
        instance = "mailops-lab-" + hashlib.sha256(str(self.root).encode()).hexdigest()[:10]
        conf = f"""# Generated by tools/maillab.py: the mailops.clients lab. Do not edit.
base_dir = {self.dovecot_run}
state_dir = {self.dovecot_dir / "state"}
instance_name = {instance}
log_path = {self.log_dir / "dovecot.log"}
info_log_path = {self.log_dir / "dovecot.log"}
listen = {LAB_HOST}
protocols = imap pop3 lmtp
default_internal_user = dovecot
default_login_user = dovenull
ssl = yes
ssl_cert = <{self.cert_path}
ssl_key = <{self.key_path}
ssl_dh = </usr/share/dovecot/dh.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login cram-md5 oauthbearer xoauth2
mail_location = maildir:{self.mail_dir}/%d/%n/Maildir
mail_uid = {MAIL_UID}
mail_gid = {MAIL_GID}
first_valid_uid = 1
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.dovecot_dir / "users"}
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {self.dovecot_dir / "oauth2.conf.ext"}
}}
userdb {{
  driver = static
  args = home={self.mail_dir}/%d/%n allow_all_users=yes
}}
service imap-login {{
  inet_listener imap {{
    port = {p["imap"]}
  }}
  inet_listener imaps {{
    port = {p["imaps"]}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {p["pop3"]}
  }}
  inet_listener pop3s {{
    port = {p["pop3s"]}
    ssl = yes
  }}
}}
service lmtp {{
  unix_listener lmtp-postfix {{
    mode = 0666
  }}
}}
service auth {{
  unix_listener auth-postfix {{
    mode = 0666
  }}
}}
protocol lmtp {{
  auth_username_format = %Lu
}}
{self._extra_dovecot_config}
"""
        _write(self.dovecot_conf, conf.encode(), 0o644)

    def _write_postfix(self) -> None:
        p = self.ports
        self.postfix_queue.mkdir(exist_ok=True)
        (self.postfix_dir / "data").mkdir(exist_ok=True)
        os.chown(self.postfix_dir / "data", _uid("postfix"), _gid("postfix"))
        mailboxes = "".join(f"{email} OK\n" for email in self.users)
        _write(self.postfix_dir / "vmailbox", mailboxes.encode(), 0o644)
        main_cf = f"""# Generated by tools/maillab.py: the mailops.clients lab. Do not edit.
compatibility_level = 3.6
queue_directory = {self.postfix_queue}
data_directory = {self.postfix_dir / "data"}
maillog_file = {self.log_dir / "postfix.log"}
maillog_file_prefixes = {self.log_dir}
myhostname = {LAB_HOSTNAME}
mydomain = {LAB_DOMAIN}
myorigin = $mydomain
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
# Nothing may leave the lab: only the lab domain is delivered (LMTP into Dovecot).
local_transport = error:5.1.1 local delivery is disabled in the mail lab
default_transport = error:5.7.1 the mail lab never relays
relay_transport = error:5.7.1 the mail lab never relays
virtual_mailbox_domains = {LAB_DOMAIN}
virtual_mailbox_maps = texthash:{self.postfix_dir / "vmailbox"}
virtual_transport = lmtp:unix:{self.dovecot_run / "lmtp-postfix"}
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = reject_unlisted_recipient
smtpd_tls_cert_file = {self.cert_path}
smtpd_tls_key_file = {self.key_path}
smtpd_tls_security_level = none
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_protocols = >=TLSv1.2
smtpd_sasl_type = dovecot
smtpd_sasl_path = {self.dovecot_run / "auth-postfix"}
smtpd_sasl_auth_enable = no
smtpd_banner = $myhostname ESMTP mailops.clients lab
"""
        submission = (
            "-o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=yes "
            "-o smtpd_client_restrictions=permit_sasl_authenticated,reject "
            "-o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
        )
        master_cf = f"""# Generated by tools/maillab.py. Nothing is chrooted: the lab lives in one private directory.
{LAB_HOST}:{p["smtp"]} inet n - n - - smtpd
{LAB_HOST}:{p["submission"]} inet n - n - - smtpd -o smtpd_tls_security_level=encrypt {submission}
{LAB_HOST}:{p["submissions"]} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes {submission}
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""
        _write(self.postfix_dir / "main.cf", main_cf.encode(), 0o644)
        _write(self.postfix_dir / "master.cf", master_cf.encode(), 0o644)

    # -- processes ----------------------------------------------------------------------------
    def _start_dovecot(self) -> None:
        log = self.log_dir / "dovecot-start.log"
        # Dovecot keeps inherited stdout/stderr open: _run hands it a file, never a pipe.
        _run(["dovecot", "-c", str(self.dovecot_conf)], log)

    def _start_postfix(self) -> None:
        log = self.log_dir / "postfix-start.log"
        env = dict(os.environ, MAIL_CONFIG=str(self.postfix_dir))
        _run(["postfix", "-c", str(self.postfix_dir), "check"], log, env=env)
        _run(["postfix", "-c", str(self.postfix_dir), "start"], log, env=env)

    def _wanted_ports(self) -> list[str]:
        wanted = []
        if "dovecot" in self.services:
            wanted += ["imap", "imaps", "pop3", "pop3s"]
        if "postfix" in self.services:
            wanted += ["smtp", "submission", "submissions"]
        return wanted

    def _check_ports_free(self) -> None:
        """Refuse to start beside another server: the clients would talk to it instead of to us."""
        for name in self._wanted_ports():
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                # Like the daemons: connections of an earlier lab in TIME_WAIT do not block the port.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((LAB_HOST, self.ports[name]))
                except OSError as exc:
                    raise LabError(
                        f"port {self.ports[name]} ({name}) on {LAB_HOST} is already in use ({exc.strerror}): "
                        "stop the other lab (maillab.py down --dir DIR) or server, or choose another --port-offset"
                    ) from exc

    def _wait_for_ports(self, timeout: float) -> None:
        wanted = self._wanted_ports()
        deadline = time.monotonic() + timeout
        for name in wanted:
            while True:
                try:
                    with socket.create_connection((LAB_HOST, self.ports[name]), timeout=1):
                        break
                except OSError as exc:
                    if time.monotonic() > deadline:
                        raise LabError(
                            f"{name} port {self.ports[name]} did not open within {timeout:g}s ({exc}); "
                            f"see logs in {self.log_dir}"
                        ) from exc
                    time.sleep(0.05)


def _write(path: Path | str, data: bytes, mode: int, gid: int | None = None) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    if gid is not None:
        os.chown(tmp, 0, gid)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _uid(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_uid


def _gid(group: str) -> int:
    import grp

    return grp.getgrnam(group).gr_gid


# --------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--dir", default="build/lab", help="lab directory (default: build/lab)")
    parser.add_argument("--port-offset", type=int, default=0, help="added to every port (default: 0)")
    parser.add_argument("--users", type=int, default=0, help="extra users user0001.. (default: 0)")
    args = parser.parse_args(argv)
    lab = MailLab(args.dir, port_offset=args.port_offset, extra_users=args.users)
    try:
        if args.action == "up":
            started = time.monotonic()
            lab.start()
            print(json.dumps(lab.describe(), indent=2))
            print(
                f"mail lab up in {time.monotonic() - started:.1f}s; stop it with: maillab.py down --dir {args.dir}",
                file=sys.stderr,
            )
        elif args.action == "down":
            lab.stop()
            print(f"mail lab in {args.dir} stopped", file=sys.stderr)
        else:
            info_path = Path(args.dir) / "lab.json"
            if not info_path.exists():
                print(f"no lab in {args.dir}", file=sys.stderr)
                return 1
            info = json.loads(info_path.read_text())
            lab = MailLab(args.dir, port_offset=0)
            lab.ports = info["ports"]
            closed = []
            for name, port in info["ports"].items():
                try:
                    socket.create_connection((LAB_HOST, port), timeout=1).close()
                except OSError:
                    closed.append(f"{name}:{port}")
            print("all ports open" if not closed else "closed: " + ", ".join(closed))
            return 1 if closed else 0
    except LabError as exc:
        print(f"maillab: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The mail lab itself: what a contributor relies on when a module test fails."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from maillab import LabError, MailLab

pytestmark = pytest.mark.lab

REPO_ROOT = Path(__file__).resolve().parents[3]


def _context(lab) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=lab.ca_path)


def _wait_for_subject(lab, user: str, subject: str, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with imaplib.IMAP4_SSL(lab.host, lab.ports["imaps"], ssl_context=_context(lab)) as imap:
            imap.login(user, lab.users[user])
            imap.select("INBOX")
            status, data = imap.search(None, "SUBJECT", f'"{subject}"')
            if status == "OK" and data[0].split():
                return True
        time.sleep(0.2)
    return False


def test_openssl_verifies_imaps_certificate_against_lab_ca(mail_lab):
    result = subprocess.run(
        [
            "openssl",
            "s_client",
            "-connect",
            f"{mail_lab.host}:{mail_lab.ports['imaps']}",
            "-CAfile",
            mail_lab.ca_path,
            "-servername",
            mail_lab.hostname,
            "-verify_return_error",
            "-verify_hostname",
            mail_lab.hostname,
            "-ign_eof",
        ],
        input="a1 LOGOUT\r\n",
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert "Verify return code: 0 (ok)" in result.stdout
    assert "* OK" in result.stdout
    assert "* BYE" in result.stdout


@pytest.mark.parametrize("hostname", ["mail.example.test", "localhost"])
def test_certificate_names_the_lab_hosts(mail_lab, hostname):
    context = _context(mail_lab)
    with imaplib.IMAP4_SSL(mail_lab.host, mail_lab.ports["imaps"], ssl_context=context) as imap:
        cert = imap.sock.getpeercert()
    names = {value for kind, value in cert["subjectAltName"]}
    assert hostname in names
    assert "127.0.0.1" in names


def test_imap_starttls_login_and_capabilities_change(mail_lab):
    user = "alice@example.test"
    with imaplib.IMAP4(mail_lab.host, mail_lab.ports["imap"], timeout=10) as imap:
        assert "STARTTLS" in imap.capabilities
        imap.starttls(ssl_context=_context(mail_lab))
        assert "STARTTLS" not in imap.capabilities
        assert imap.login(user, mail_lab.users[user])[0] == "OK"


def test_imap_wrong_password_is_refused(mail_lab):
    with (
        imaplib.IMAP4_SSL(mail_lab.host, mail_lab.ports["imaps"], ssl_context=_context(mail_lab)) as imap,
        pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"),
    ):
        imap.login("alice@example.test", "not-the-password")


def test_pop3_stls_and_pop3s_login(mail_lab):
    user = "bob@example.test"
    pop = poplib.POP3(mail_lab.host, mail_lab.ports["pop3"], timeout=10)
    assert "STLS" in pop.capa()
    pop.stls(context=_context(mail_lab))
    pop.user(user)
    assert pop.pass_(mail_lab.users[user]).startswith(b"+OK")
    pop.quit()
    pop = poplib.POP3_SSL(mail_lab.host, mail_lab.ports["pop3s"], context=_context(mail_lab), timeout=10)
    pop.user(user)
    assert pop.pass_(mail_lab.users[user]).startswith(b"+OK")
    pop.quit()


def test_submission_offers_auth_only_after_starttls(mail_lab):
    with smtplib.SMTP(mail_lab.host, mail_lab.ports["submission"], timeout=10) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("auth")
        assert smtp.has_extn("starttls")
        smtp.starttls(context=_context(mail_lab))
        smtp.ehlo()
        assert set(smtp.esmtp_features["auth"].split()) >= {"PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER"}


@pytest.mark.parametrize("service", ["submission", "submissions"])
def test_message_sent_through_submission_arrives_in_mailbox(mail_lab, service):
    sender, rcpt = "alice@example.test", "bob@example.test"
    subject = f"lab {service} {uuid.uuid4()}"
    message = f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nhello\r\n"
    if service == "submission":
        smtp = smtplib.SMTP(mail_lab.host, mail_lab.ports[service], timeout=10)
        smtp.starttls(context=_context(mail_lab))
    else:
        smtp = smtplib.SMTP_SSL(mail_lab.host, mail_lab.ports[service], context=_context(mail_lab), timeout=10)
    with smtp:
        smtp.login(sender, mail_lab.users[sender])
        smtp.sendmail(sender, [rcpt], message)
    assert _wait_for_subject(mail_lab, rcpt, subject)


def test_plain_smtp_accepts_lab_domain_and_refuses_relay(mail_lab):
    subject = f"lab mx {uuid.uuid4()}"
    with smtplib.SMTP(mail_lab.host, mail_lab.ports["smtp"], timeout=10) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("starttls")
        smtp.sendmail("someone@elsewhere.test", ["carol@example.test"], f"Subject: {subject}\r\n\r\nx\r\n")
        with pytest.raises(smtplib.SMTPRecipientsRefused, match="Relay access denied"):
            smtp.sendmail("someone@elsewhere.test", ["victim@elsewhere.test"], "Subject: relay\r\n\r\nx\r\n")
    assert _wait_for_subject(mail_lab, "carol@example.test", subject)


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_oauth2_token_logs_in_and_wrong_user_is_refused(mail_lab, mechanism):
    token = mail_lab.oauth2_token("alice@example.test")

    def payload(user):
        if mechanism == "XOAUTH2":
            return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
        return f"n,a={user},\x01auth=Bearer {token}\x01\x01".encode()

    with imaplib.IMAP4_SSL(mail_lab.host, mail_lab.ports["imaps"], ssl_context=_context(mail_lab)) as imap:
        assert imap.authenticate(mechanism, lambda _: payload("alice@example.test"))[0] == "OK"
    with (
        imaplib.IMAP4_SSL(mail_lab.host, mail_lab.ports["imaps"], ssl_context=_context(mail_lab)) as imap,
        pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"),
    ):
        imap.authenticate(mechanism, lambda _: payload("bob@example.test"))


def test_second_lab_on_the_same_ports_is_refused(mail_lab):
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="mailops-lab-twin-"))
    root.chmod(0o755)
    twin = MailLab(root, port_offset=mail_lab.port_offset)
    with pytest.raises(LabError) as error:
        twin.start()
    port = mail_lab.ports["imap"]
    assert str(error.value) == (
        f"port {port} (imap) on 127.0.0.1 is already in use (Address already in use): stop the other lab "
        "(maillab.py down --dir DIR) or server, or choose another --port-offset"
    )
    assert _lab_processes(root) == []


def _lab_processes(root: Path) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(root) in cmdline:
                found.append(cmdline)
    return found


@pytest.mark.slow
def test_cli_refuses_a_directory_postfix_cannot_reach(tmp_path):
    # pytest's tmp_path lives below a 0700 directory: Postfix would exit 1 without a word.
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "maillab.py"), "up", "--dir", str(tmp_path / "lab")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    blocked = next(p for p in [tmp_path, *tmp_path.parents] if not p.stat().st_mode & 0o001)
    assert result.stderr.strip() == (
        f"maillab: {blocked} is not searchable by other users (mode {blocked.stat().st_mode & 0o777:o}); "
        "Postfix and Dovecot drop privileges and could not reach the lab: choose a directory whose "
        "parents all have o+x (e.g. one made by mktemp -d and chmod 755)"
    )


@pytest.mark.slow
def test_cli_up_and_down_leave_no_process():
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="mailops-lab-cli-"))
    base.chmod(0o755)
    lab_dir = base / "lab"
    cli = [sys.executable, str(REPO_ROOT / "tools" / "maillab.py")]
    up = subprocess.run(
        [*cli, "up", "--dir", str(lab_dir), "--port-offset", "700"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert up.returncode == 0, up.stderr
    assert '"imaps": 11693' in up.stdout
    assert (lab_dir / "lab.json").exists()
    assert _lab_processes(lab_dir), "dovecot/postfix should be running"
    status = subprocess.run([*cli, "status", "--dir", str(lab_dir)], capture_output=True, text=True, check=False)
    assert status.stdout.strip() == "all ports open"
    down = subprocess.run(
        [*cli, "down", "--dir", str(lab_dir)], capture_output=True, text=True, timeout=60, check=False
    )
    assert down.returncode == 0, down.stderr
    assert _lab_processes(lab_dir) == []
    import shutil

    shutil.rmtree(base)

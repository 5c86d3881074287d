# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The apple_mail role through ansible-playbook: files on disk, modes, backups, signing, the gate, secrets.

No mail lab needed: the gate is passed with mailops_allow_unverified or a mailops_verified fact built here.
"""

from __future__ import annotations

import datetime
import json
import plistlib
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.mailops.clients.plugins.module_utils._vocabulary import endpoint_key
from ansible_collections.mailops.clients.plugins.plugin_utils._cms import extract_content
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import normalize_accounts
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "unit" / "plugins" / "plugin_utils"))
from ansible_recap import flat_output, recap
from apple_schema import assert_valid  # noqa: E402

pytestmark = pytest.mark.slow

PLAY = """
- hosts: all
  gather_facts: false
  roles:
    - role: mailops.clients.apple_mail
"""

SERVERS = {
    "example": {
        "incoming": {"protocol": "imap", "host": "mail.example.test", "security": "tls"},
        "outgoing": {"host": "mail.example.test", "security": "starttls"},
    }
}
PASSWORD = "alice-lab-pw-1"
MANIFEST = ".mailops-clients-apple_mail.json"  # what was written, beside it (test_apple_mail_lifecycle.py)


def base_vars(tmp_path, **extra):
    result = {
        "mailops_allow_unverified": True,
        "mailops_apple_mail_output_dir": str(tmp_path / "out"),
        "mailops_apple_mail_identifier_prefix": "test.example.mail",
        "mailops_servers": SERVERS,
        "mailops_accounts": [
            {
                "email": "alice@example.test",
                "server": "example",
                "user": "alice",
                "password": PASSWORD,
                "display_name": "Alice Example",
            },
            {"email": "bob@example.test", "server": "example", "user": "bob", "password": "bob-lab-pw-2"},
        ],
    }
    result.update(extra)
    return result


def profile(path):
    data = path.read_bytes()
    plain = extract_content(data) if data[:1] == b"\x30" else data
    loaded = plistlib.loads(plain)
    assert_valid(loaded)
    return loaded


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_check_run_idempotence(ansible_playbook, tmp_path):
    out = tmp_path / "out" / "localhost"
    extra = base_vars(tmp_path)

    check = ansible_playbook(PLAY, extra_vars=extra, check=True)
    assert recap(check) == {"changed": 1, "failed": 0}, check.stdout
    assert not out.exists()

    run = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(run) == {"changed": 1, "failed": 0}, run.stdout
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "alice.mobileconfig", "bob.mobileconfig"]
    alice = profile(out / "alice.mobileconfig")
    assert alice["PayloadIdentifier"] == "test.example.mail.alice"
    payload = alice["PayloadContent"][0]
    assert (
        payload["EmailAccountName"],
        payload["IncomingMailServerPortNumber"],
        payload["OutgoingMailServerPortNumber"],
        payload["OutgoingMailServerUseSSL"],
    ) == ("Alice Example", 993, 587, True)
    assert "IncomingPassword" not in payload
    assert mode(out / "alice.mobileconfig") == 0o644
    first_bytes = (out / "alice.mobileconfig").read_bytes()

    again_check = ansible_playbook(PLAY, extra_vars=extra, check=True)
    assert recap(again_check) == {"changed": 0, "failed": 0}, again_check.stdout
    again = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(again) == {"changed": 0, "failed": 0}, again.stdout
    assert (out / "alice.mobileconfig").read_bytes() == first_bytes
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "alice.mobileconfig", "bob.mobileconfig"]


def test_password_profile_mode_backup_and_no_secret_in_output(ansible_playbook, tmp_path):
    out = tmp_path / "out" / "localhost"
    extra = base_vars(tmp_path, mailops_apple_mail_account_options={"alice@example.test": {"include_password": True}})
    run = ansible_playbook(PLAY, extra_vars=extra, verbosity=4, extra_args=["--diff"])
    assert recap(run) == {"changed": 1, "failed": 0}
    assert PASSWORD not in run.stdout + run.stderr
    assert "bob-lab-pw-2" not in run.stdout + run.stderr
    assert "<string>******** (changed)</string>" in run.stdout
    assert "[WARNING]: profile alice.mobileconfig: contains passwords in clear text (alice@example.test)." in (
        flat_output(run)
    )
    assert profile(out / "alice.mobileconfig")["PayloadContent"][0]["IncomingPassword"] == PASSWORD
    assert mode(out / "alice.mobileconfig") == 0o600
    assert mode(out / "bob.mobileconfig") == 0o644
    old = (out / "alice.mobileconfig").read_bytes()

    extra["mailops_accounts"][0]["display_name"] = "Alice Renamed"
    changed = ansible_playbook(PLAY, extra_vars=extra, verbosity=4, extra_args=["--diff"])
    assert recap(changed) == {"changed": 1, "failed": 0}
    assert PASSWORD not in changed.stdout + changed.stderr
    assert "-\t\t\t<string>Alice Example</string>\n+\t\t\t<string>Alice Renamed</string>" in changed.stdout
    backups = sorted(p for p in out.iterdir() if p.name.startswith("alice.mobileconfig."))
    assert len(backups) == 1
    assert backups[0].read_bytes() == old
    assert mode(backups[0]) == 0o600
    assert profile(out / "alice.mobileconfig")["PayloadContent"][0]["EmailAccountName"] == "Alice Renamed"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("alice.mobileconfig.")) == [
        MANIFEST,
        "alice.mobileconfig",
        "bob.mobileconfig",
    ]


def test_a_wider_mode_is_tightened_when_a_password_arrives(ansible_playbook, tmp_path):
    out = tmp_path / "out" / "localhost"
    extra = base_vars(tmp_path)
    assert recap(ansible_playbook(PLAY, extra_vars=extra))["failed"] == 0
    assert mode(out / "alice.mobileconfig") == 0o644
    extra["mailops_apple_mail_include_passwords"] = True
    assert recap(ansible_playbook(PLAY, extra_vars=extra)) == {"changed": 1, "failed": 0}
    assert mode(out / "alice.mobileconfig") == 0o600
    assert mode(out / "bob.mobileconfig") == 0o600


def _signing_material(tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "role test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signer")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=10))
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = tmp_path / "ca.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return ca_path, cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def test_signed_profiles_are_resigned_only_when_the_payload_changes(ansible_playbook, tmp_path):
    out = tmp_path / "out" / "localhost"
    ca_path, cert_pem, key_pem = _signing_material(tmp_path)
    extra = base_vars(tmp_path, mailops_apple_mail_signing_certificate=cert_pem, mailops_apple_mail_signing_key=key_pem)
    run = ansible_playbook(PLAY, extra_vars=extra, verbosity=4)
    assert recap(run) == {"changed": 1, "failed": 0}
    assert "PRIVATE KEY" not in run.stdout + run.stderr
    assert "[WARNING]: the signing certificate expires on" in flat_output(run)
    signed = (out / "alice.mobileconfig").read_bytes()
    verify = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            str(out / "alice.mobileconfig"),
            "-CAfile",
            str(ca_path),
            "-purpose",
            "any",
            "-out",
            str(tmp_path / "plain"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
    assert_valid(plistlib.loads((tmp_path / "plain").read_bytes()))

    again = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(again) == {"changed": 0, "failed": 0}
    assert (out / "alice.mobileconfig").read_bytes() == signed

    extra["mailops_apple_mail_organization"] = "Example Org"
    changed = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(changed) == {"changed": 1, "failed": 0}
    assert profile(out / "alice.mobileconfig")["PayloadOrganization"] == "Example Org"


def test_host_copy_per_user_directory_and_owner(ansible_playbook, tmp_path):
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    extra = base_vars(
        tmp_path,
        mailops_apple_mail_output_dir=None,
        mailops_apple_mail_host_copy=True,
        mailops_apple_mail_host_become=False,
        mailops_apple_mail_host_dir=str(tmp_path / "home" / "{user}" / "profiles"),
        mailops_apple_mail_group_by="account",
    )
    for acc in extra["mailops_accounts"]:
        acc["user"] = user
    assert recap(ansible_playbook(PLAY, extra_vars=extra)) == {"changed": 1, "failed": 0}
    directory = tmp_path / "home" / user / "profiles"
    assert sorted(p.name for p in directory.iterdir()) == [
        MANIFEST,
        f"{user}-alice-example-test.mobileconfig",
        f"{user}-bob-example-test.mobileconfig",
    ]
    assert mode(directory) == 0o700
    assert profile(directory / f"{user}-bob-example-test.mobileconfig")["PayloadIdentifier"] == (
        f"test.example.mail.{user}.bob-example-test"
    )
    assert recap(ansible_playbook(PLAY, extra_vars=extra)) == {"changed": 0, "failed": 0}


def test_gate_blocks_unverified_accounts(ansible_playbook, tmp_path):
    extra = base_vars(tmp_path, mailops_allow_unverified=False)
    run = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(run)["failed"] == 1
    assert (
        "apple_mail: refusing to render 2 accounts on localhost whose settings did not verify "
        "(alice@example.test, bob@example.test)"
    ) in run.stdout + run.stderr
    assert not (tmp_path / "out").exists()


def test_gate_passes_verified_accounts(ansible_playbook, tmp_path):
    accounts = normalize_accounts(base_vars(tmp_path)["mailops_accounts"], SERVERS, "localhost")
    keys = {endpoint_key(a[d]) for a in accounts for d in ("incoming", "outgoing")}
    verified = {"endpoints": {k: {"verdict": "ok", "findings": []} for k in keys}, "accounts": {}}
    play = PLAY.replace(
        "  roles:",
        "  pre_tasks:\n    - name: Verified\n      ansible.builtin.set_fact:\n"
        "        mailops_verified: " + json.dumps(verified) + "\n  roles:",
    )
    extra = base_vars(tmp_path, mailops_allow_unverified=False)
    run = ansible_playbook(play, extra_vars=extra)
    assert recap(run) == {"changed": 1, "failed": 0}, run.stdout
    assert "whose settings did not verify (" not in run.stdout + run.stderr
    assert (tmp_path / "out" / "localhost" / "bob.mobileconfig").exists()


def test_oauth2_account_is_refused_or_skipped(ansible_playbook, tmp_path):
    servers = dict(
        SERVERS,
        cloud={
            "incoming": {"protocol": "imap", "host": "imap.cloud.test", "security": "tls", "auth": "oauth2"},
            "outgoing": {"host": "smtp.cloud.test", "security": "tls", "auth": "oauth2"},
        },
    )
    accounts = [
        *base_vars(tmp_path)["mailops_accounts"],
        {
            "email": "carol@cloud.test",
            "server": "cloud",
            "user": "carol",
            "oauth2": {"issuer": "login.cloud.test", "scope": "mail"},
        },
    ]
    extra = base_vars(tmp_path, mailops_servers=servers, mailops_accounts=accounts)
    run = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(run)["failed"] == 1
    assert (
        "account carol@cloud.test: incoming auth oauth2 cannot be rendered: Apple's com.apple.mail.managed "
        "payload has no OAuth 2.0 authentication value."
    ) in run.stdout
    assert not (tmp_path / "out" / "localhost").exists()

    extra["mailops_apple_mail_unsupported"] = "skip"
    skipped = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(skipped) == {"changed": 1, "failed": 0}
    assert "[WARNING]: account carol@cloud.test: left out of the Apple profiles" in flat_output(skipped)
    assert sorted(p.name for p in (tmp_path / "out" / "localhost").iterdir()) == [
        MANIFEST,
        "alice.mobileconfig",
        "bob.mobileconfig",
    ]

    extra["mailops_apple_mail_unsupported"] = "fail"
    extra["mailops_apple_mail_exclude"] = ["carol@cloud.test"]
    excluded = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(excluded) == {"changed": 0, "failed": 0}


def test_argument_spec_rejects_bad_values(ansible_playbook, tmp_path):
    run = ansible_playbook(PLAY, extra_vars=base_vars(tmp_path, mailops_apple_mail_group_by="host"))
    assert recap(run)["failed"] == 1
    assert "value of mailops_apple_mail_group_by must be one of: user, account, got: host" in run.stdout
    nowhere = ansible_playbook(PLAY, extra_vars=base_vars(tmp_path, mailops_apple_mail_output_dir=None))
    assert recap(nowhere)["failed"] == 1
    assert "mailops.clients.apple_mail needs somewhere to write" in nowhere.stdout

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad inventory input to mailops.clients.verify: each case fails before any probe, with its message.

Keys, types, choices, required fields and the semantic checks (known server, port range, insecure combinations,
email syntax, duplicates) are all the inventory filter's, with the collection's messages: never Ansible's argument
spec dump. No mail lab needed.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow

PLAY = """
- name: Verify
  hosts: localhost
  gather_facts: false
  roles:
    - role: mailops.clients.verify
"""

SERVERS = {
    "example": {
        "incoming": {"protocol": "imap", "host": "mail.example.test"},
        "outgoing": {"host": "mail.example.test"},
    },
    "plain": {
        "incoming": {"protocol": "imap", "host": "mail.example.test", "security": "none"},
        "outgoing": {"host": "mail.example.test", "port": 25, "security": "none", "auth": "none"},
    },
}
INLINE = {"outgoing": {"host": "mail.example.test"}}
WHERE = "host localhost, account a@example.test (mailops_accounts[0]), field"


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        pytest.param(
            [{"email": "a@example.test", "server": "exmaple"}],
            f"{WHERE} server: unknown server 'exmaple'; known servers: example, plain. Fix: set server to one of "
            "the known names or define it in mailops_servers.",
            id="unknown-server",
        ),
        pytest.param(
            [
                {
                    "email": "a@example.test",
                    "incoming": {"protocol": "imap", "host": "h.example.test", "port": 99999},
                    **INLINE,
                }
            ],
            f"{WHERE} incoming.port: port 99999 is out of range 1-65535. Fix: set incoming.port to an integer from 1 "
            "to 65535.",
            id="port-out-of-range",
        ),
        pytest.param(
            [{"email": "a@example.test", "server": "plain"}],
            f"{WHERE} mailops_servers.plain.incoming.security: security none with auth password sends the "
            "credentials unencrypted to mail.example.test:143. Fix: use security tls or starttls, or set "
            "allow_insecure: true on the server (or the account, for inline settings) if you accept that risk.",
            id="insecure",
        ),
        pytest.param(
            [{"email": "a@example.test", "server": "example", "password": 1234}],
            f"{WHERE} password: expected a string, got a value (a number). Fix: set password to a string (quote it "
            "in YAML).",
            id="numeric-password",
        ),
        pytest.param(
            [{"email": "alice.example.test", "server": "example"}],
            "host localhost, account alice.example.test (mailops_accounts[0]), field email: invalid email address "
            "'alice.example.test'. Fix: write a full address like alice@example.com (no spaces, no display name).",
            id="invalid-email",
        ),
        pytest.param(
            [{"email": "a@example.test", "server": "example"}, {"email": "a@example.test", "server": "example"}],
            "host localhost, account a@example.test (mailops_accounts[1]), field email: duplicate account: same "
            "email and incoming server as mailops_accounts[0]. Fix: remove one of mailops_accounts[0] and "
            "mailops_accounts[1].",
            id="duplicate",
        ),
        pytest.param(
            [
                {"email": "a@example.test", "server": "example"},
                {
                    "email": "a@example.test",
                    "incoming": {"protocol": "imap", "host": "mail.example.test", "security": "starttls"},
                    **INLINE,
                },
            ],
            "host localhost, account a@example.test (mailops_accounts[1]), field incoming.port: IMAP login "
            "a@example.test on mail.example.test is already defined by mailops_accounts[0] with port 993/tls (this "
            "one: 143/starttls); Thunderbird identifies IMAP servers by user and host and cannot hold both. Fix: "
            "keep one of the two accounts, or give them different usernames or host names.",
            id="thunderbird-same-user-host",
        ),
        pytest.param(
            [{"email": "a@example.test", "incoming": {"protocol": "imap", "host": "h", "security": "ssl"}, **INLINE}],
            f"{WHERE} incoming.security: unknown security 'ssl'. Fix: use one of: tls, starttls, none.",
            id="unknown-choice",
        ),
        pytest.param(
            [{"email": "a@example.test", "incoming": {"protocol": "imap", "host": "h", "port": "imaps"}, **INLINE}],
            f"{WHERE} incoming.port: port must be an integer, got 'imaps'. Fix: set incoming.port to an integer "
            "from 1 to 65535.",
            id="wrong-type",
        ),
        pytest.param(
            [{"server": "example"}],
            "host localhost, account mailops_accounts[0], field email: missing email. Fix: set email to the "
            "account's address.",
            id="missing-field",
        ),
        pytest.param(
            [{"email": "a@example.test", "server": "example", "displayname": "A"}],
            f"{WHERE} displayname: unknown key 'displayname' (did you mean display_name?). Fix: rename it to "
            "display_name, or remove it (known keys: email, server, incoming, outgoing, allow_insecure, timeout, "
            "display_name, username, user, password, oauth2, pop3, check_interval_minutes, signature, reply_to, "
            "roundtrip, state, previous_email).",
            id="key-typo",
        ),
        pytest.param(
            [{"email": "a@example.test", "sever": "example"}],
            f"{WHERE} sever: unknown key 'sever' (did you mean server?). Fix: rename it to server, or remove it",
            id="key-typo-server",
        ),
    ],
)
def test_bad_input_is_refused_with_its_message(ansible_playbook, accounts, message):
    result = ansible_playbook(
        PLAY, extra_vars={"mailops_servers": SERVERS, "mailops_accounts": accounts, "mailops_verify_report_dir": ""}
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    # ansible-core < 2.19 names a type in its argument spec errors as <class 'str'>, 2.19 as str
    assert message in re.sub(r"<class '(\w+)'>", r"\1", output), output
    assert "Probe IMAP endpoints" not in result.stdout
    assert "argument_spec_data" not in output  # no dump of the role's specification

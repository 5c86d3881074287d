# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared argument spec, default ports and option validation."""

from __future__ import annotations

import pytest
from ansible_collections.mailops.clients.plugins.module_utils import _sasl
from ansible_collections.mailops.clients.plugins.module_utils._connection import (
    AUTH_MECHANISM_CHOICES,
    DEFAULT_PORTS,
    Credentials,
    connection_argument_spec,
    default_port,
    validate,
)
from ansible_collections.mailops.clients.plugins.module_utils._errors import OptionError


@pytest.mark.parametrize(
    ("protocol", "security", "port"),
    [
        ("imap", "tls", 993),
        ("imap", "starttls", 143),
        ("imap", "none", 143),
        ("pop3", "tls", 995),
        ("pop3", "starttls", 110),
        ("pop3", "none", 110),
        ("smtp", "tls", 465),
        ("smtp", "starttls", 587),
        ("smtp", "none", 25),
    ],
)
def test_default_ports(protocol, security, port):
    assert default_port(protocol, security) == port
    assert validate({"host": "mail.example.test", "security": security}, protocol).port == port


def test_default_port_table_is_complete():
    assert len(DEFAULT_PORTS) == 9


def test_secret_options_are_no_log_everywhere():
    spec = connection_argument_spec("imap")
    assert spec["password"]["no_log"] is True
    assert spec["oauth2_token"]["no_log"] is True
    assert spec["accounts"]["options"]["password"]["no_log"] is True
    assert spec["accounts"]["options"]["oauth2_token"]["no_log"] is True


@pytest.mark.parametrize(
    ("protocol", "checks", "extra", "missing"),
    [
        (
            "imap",
            True,
            {"fail_on", "accounts", "concurrency", "cert_expiry_warn_days", "allow_insecure"},
            {"helo_name", "protocol"},
        ),
        ("smtp", True, {"helo_name", "fail_on", "allow_insecure"}, {"protocol"}),
        ("smtp", False, {"helo_name"}, {"fail_on", "accounts", "concurrency", "allow_insecure"}),
        ("mailbox", False, {"protocol"}, {"helo_name", "fail_on", "accounts"}),
    ],
)
def test_argument_spec_variants(protocol, checks, extra, missing):
    spec = connection_argument_spec(protocol, checks=checks)
    assert extra <= set(spec)
    assert not missing & set(spec)
    assert spec["security"] == {"type": "str", "default": "tls", "choices": ["tls", "starttls", "none"]}
    assert spec["tls_min_version"]["default"] == "TLSv1.2"
    assert spec["timeout"] == {"type": "float", "default": 10.0}
    if checks:
        assert spec["allow_insecure"] == {"type": "bool", "default": False}


def test_validate_builds_settings_with_defaults():
    settings = validate({"host": " mail.example.test "}, "imap")
    assert settings.host == "mail.example.test"
    assert (settings.port, settings.security, settings.timeout, settings.tls_min_version) == (
        993,
        "tls",
        10.0,
        "TLSv1.2",
    )
    assert settings.sni == "mail.example.test"
    assert settings.allow_insecure is False
    assert validate({"host": "h", "security": "none", "allow_insecure": True}, "imap").allow_insecure is True
    assert settings.label == "imap://mail.example.test:993/tls"
    assert settings.credentials is None
    assert settings.endpoint() == {
        "protocol": "imap",
        "host": "mail.example.test",
        "port": 993,
        "security": "tls",
        "server_name": "mail.example.test",
    }


def test_validate_keeps_credentials_out_of_repr():
    settings = validate({"host": "h", "username": "alice", "password": "s3cret-pw"}, "pop3")
    assert settings.credentials == Credentials(username="alice", password="s3cret-pw", mechanism="auto")
    assert "s3cret-pw" not in repr(settings)
    assert settings.credentials.secrets == ("s3cret-pw",)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"host": ""}, "host must not be empty"),
        ({"host": "h", "port": 0}, "port must be between 1 and 65535, got 0"),
        ({"host": "h", "port": 70000}, "port must be between 1 and 65535, got 70000"),
        ({"host": "h", "timeout": 0}, "timeout must be more than 0 and at most 3600 seconds, got 0"),
        ({"host": "h", "timeout": -1.5}, "timeout must be more than 0 and at most 3600 seconds, got -1.5"),
        ({"host": "h", "ca_path": "/nonexistent/ca.pem"}, "ca_path /nonexistent/ca.pem does not exist"),
        (
            {"host": "h", "server_name": "mail example.test"},
            "server_name must be a host name or an address, got 'mail example.test'",
        ),
        ({"host": "h", "cert_expiry_warn_days": -1}, "cert_expiry_warn_days must not be negative, got -1"),
        ({"host": "h", "concurrency": 0}, "concurrency must be between 1 and 64, got 0"),
        ({"host": "h", "concurrency": 65}, "concurrency must be between 1 and 64, got 65"),
        (
            {"host": "h", "username": "u", "password": "p", "oauth2_token": "t"},
            "options: password and oauth2_token are mutually exclusive",
        ),
        ({"host": "h", "password": "p"}, "options: username is required with password or oauth2_token"),
        ({"host": "h", "username": "u"}, "options: username 'u' needs a password or an oauth2_token"),
        (
            {"host": "h", "username": "u", "password": "p", "auth_mechanism": "XOAUTH2"},
            "options: auth_mechanism XOAUTH2 needs oauth2_token, not a password",
        ),
        (
            {"host": "h", "username": "u", "oauth2_token": "t", "auth_mechanism": "CRAM-MD5"},
            "options: auth_mechanism CRAM-MD5 needs a password, not an oauth2_token",
        ),
        (
            {"host": "h", "username": "u", "password": "a\r\nb"},
            "options: password must not contain CR, LF or NUL characters",
        ),
        (
            {"host": "h", "username": "u", "password": "p", "accounts": [{"username": "v", "password": "q"}]},
            "username/password/oauth2_token and accounts are mutually exclusive",
        ),
        ({"host": "h", "accounts": [{"username": "", "password": "q"}]}, "accounts[0]: username is required"),
        (
            {"host": "h", "accounts": [{"username": "v"}]},
            "accounts[0]: username 'v' needs a password or an oauth2_token",
        ),
        (
            {"host": "h", "accounts": [{"username": "v", "password": "q"}, {"username": "v", "password": "r"}]},
            "accounts[1]: username 'v' is listed twice",
        ),
    ],
)
def test_validate_rejects_inconsistent_options(params, message):
    with pytest.raises(OptionError, match=f"^{__import__('re').escape(message)}$"):
        validate(params, "imap")


@pytest.mark.parametrize("helo", ["", "two words", " "])
def test_validate_rejects_bad_helo_name(helo):
    with pytest.raises(OptionError, match="^helo_name must be a host name or an address literal without spaces"):
        validate({"host": "h", "helo_name": helo}, "smtp")


def test_helo_name_is_ignored_for_imap():
    assert validate({"host": "h", "helo_name": "two words"}, "imap").helo_name is None


def test_accounts_become_credentials_in_order():
    settings = validate(
        {
            "host": "h",
            "accounts": [{"username": "a", "password": "1"}, {"username": "b", "oauth2_token": "tok"}],
        },
        "imap",
    )
    assert [c.username for c in settings.accounts] == ["a", "b"]
    assert settings.accounts[1].oauth2_token == "tok"


def test_the_doc_fragment_is_yaml_and_documents_exactly_the_shared_options():
    import yaml
    from ansible_collections.mailops.clients.plugins.doc_fragments._connection import ModuleDocFragment

    options = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = connection_argument_spec("imap")
    assert set(options) == set(spec)
    for name, entry in spec.items():
        assert options[name]["type"] == entry["type"], name
        assert options[name].get("default") == entry.get("default"), name
        assert options[name].get("choices") == entry.get("choices"), name


def test_auth_mechanism_choices_are_auto_and_the_sasl_mechanisms():
    assert AUTH_MECHANISM_CHOICES[0] == "auto"
    assert sorted(AUTH_MECHANISM_CHOICES[1:]) == sorted(_sasl.MECHANISMS)

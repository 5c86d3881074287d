# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SASL encoders: exact bytes on the wire (RFC 4616, RFC 2195, RFC 7628, XOAUTH2)."""

from __future__ import annotations

import base64

import pytest
from ansible_collections.mailops.clients.plugins.module_utils import _sasl


def test_plain_initial_response_is_nul_separated_with_empty_authzid():
    mech = _sasl.create("PLAIN", "alice@example.test", "pässword")
    assert mech.initial_response() == b"\0alice@example.test\0p\xc3\xa4ssword"
    assert base64.b64encode(mech.initial_response()) == b"AGFsaWNlQGV4YW1wbGUudGVzdABww6Rzc3dvcmQ="


def test_plain_sends_initial_response_once_when_server_asks_with_empty_challenge():
    mech = _sasl.create("PLAIN", "u", "p")
    assert mech.respond(b"") == b"\0u\0p"
    with pytest.raises(_sasl.SaslError, match="^PLAIN got a second challenge$"):
        mech.respond(b"")


@pytest.mark.parametrize(
    ("challenges", "responses"),
    [
        ([b"Username:", b"Password:"], [b"bob", b"secret"]),
        ([b"User Name\0", b"Password\0"], [b"bob", b"secret"]),
        ([b"", b""], [b"bob", b"secret"]),  # servers that send empty prompts
    ],
)
def test_login_answers_user_then_password(challenges, responses):
    mech = _sasl.create("LOGIN", "bob", "secret")
    assert mech.initial_response() is None
    assert [mech.respond(c) for c in challenges] == responses
    with pytest.raises(_sasl.SaslError, match="^LOGIN got a third challenge$"):
        mech.respond(b"Password:")


def test_login_answers_password_when_first_prompt_asks_for_it():
    mech = _sasl.create("LOGIN", "bob", "secret")
    assert mech.respond(b"Password:") == b"secret"


def test_cram_md5_matches_rfc_2195_example():
    # RFC 2195 section 2: user tim, secret tanstaaftanstaaf.
    mech = _sasl.create("CRAM-MD5", "tim", "tanstaaftanstaaf")
    challenge = b"<1896.697170952@postoffice.reston.mci.net>"
    assert mech.respond(challenge) == b"tim b913a602c7eda7a495b4e6e7334d3890"


def test_cram_md5_refuses_empty_or_second_challenge():
    mech = _sasl.create("CRAM-MD5", "tim", "x")
    with pytest.raises(_sasl.SaslError, match="^CRAM-MD5 needs exactly one non-empty challenge$"):
        mech.respond(b"")


def test_xoauth2_initial_response_format():
    mech = _sasl.create("XOAUTH2", "someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")
    assert mech.initial_response() == (
        b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
    )


def test_xoauth2_error_challenge_is_decoded_and_acknowledged_with_empty_response():
    mech = _sasl.create("XOAUTH2", "u", "t")
    assert mech.respond(b'{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}') == b""
    assert mech.server_error() == {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}


def test_oauthbearer_matches_rfc_7628_example():
    # RFC 7628 section 4.1 (host and port included).
    mech = _sasl.create(
        "OAUTHBEARER",
        "user@example.com",
        "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
        host="server.example.com",
        port=143,
    )
    assert mech.initial_response() == (
        b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
        b"auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
    )


def test_oauthbearer_error_acknowledged_with_single_ctrl_a():
    mech = _sasl.create("OAUTHBEARER", "u", "t")
    assert mech.respond(b'{"status":"invalid_token"}') == b"\x01"
    assert mech.server_error() == {"status": "invalid_token"}
    with pytest.raises(_sasl.SaslError, match="^OAUTHBEARER got a second error challenge$"):
        mech.respond(b"{}")


def test_oauth_error_challenge_that_is_not_json_is_kept_raw():
    mech = _sasl.create("XOAUTH2", "u", "t")
    mech.respond(b"not json")
    assert mech.server_error() == {"raw": "not json"}


@pytest.mark.parametrize(
    ("value", "escaped"),
    [("plain", "plain"), ("a,b", "a=2Cb"), ("a=b", "a=3Db"), ("=,", "=3D=2C")],
)
def test_gs2_escape(value, escaped):
    assert _sasl.gs2_escape(value) == escaped


def test_unknown_mechanism_is_refused():
    with pytest.raises(_sasl.SaslError, match="^unsupported SASL mechanism GSSAPI$"):
        _sasl.create("GSSAPI", "u", "p")


@pytest.mark.parametrize(
    ("requested", "offered", "password", "token", "encrypted", "expected"),
    [
        ("auto", ["PLAIN", "LOGIN", "CRAM-MD5"], True, False, True, ("PLAIN", None)),
        ("auto", ["LOGIN", "CRAM-MD5"], True, False, True, ("LOGIN", None)),
        ("auto", ["PLAIN", "CRAM-MD5"], True, False, False, ("CRAM-MD5", None)),
        ("auto", ["plain"], True, False, False, ("PLAIN", None)),
        ("auto", ["PLAIN", "XOAUTH2", "OAUTHBEARER"], False, True, True, ("OAUTHBEARER", None)),
        ("auto", ["PLAIN", "XOAUTH2"], False, True, True, ("XOAUTH2", None)),
        ("auto", ["PLAIN"], False, True, True, (None, "no_common")),
        ("auto", ["GSSAPI"], True, False, True, (None, "no_common")),
        ("auto", [], True, False, True, (None, "no_common")),
        ("CRAM-MD5", ["PLAIN", "CRAM-MD5"], True, False, True, ("CRAM-MD5", None)),
        ("CRAM-MD5", ["PLAIN"], True, False, True, (None, "not_offered")),
        ("XOAUTH2", ["OAUTHBEARER"], False, True, True, (None, "not_offered")),
    ],
)
def test_choose_mechanism(requested, offered, password, token, encrypted, expected):
    assert _sasl.choose_mechanism(requested, offered, password, token, encrypted) == expected

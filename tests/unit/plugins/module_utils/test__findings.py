# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Finding catalogue, verdicts, fail_on and the failure message."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from ansible_collections.mailops.clients.plugins.module_utils._findings import (
    CATALOGUE,
    Finding,
    excerpt,
    failure_message,
    make_finding,
    reaches_fail_on,
    verdict,
)
from ansible_collections.mailops.clients.plugins.module_utils._vocabulary import SEVERITIES

DOCS = Path(__file__).resolve().parents[4] / "docs" / "findings.md"
STAGES = {
    "connect", "banner", "starttls", "tls", "capabilities", "auth", "logout", "send", "deliver", "cleanup", "module",
    "discovery",
}  # fmt: skip
# Every placeholder a template may use: the engine always supplies host, port, timeout, protocol, stage.
KNOWN_FIELDS = {
    "host", "port", "timeout", "protocol", "stage", "reason", "address", "version", "expected", "actual", "reply",
    "what", "limit", "command", "minimum", "not_after", "not_before", "days", "enforcement", "server_name", "names",
    "subject", "issuer", "threshold", "offered", "evidence", "context", "mechanism", "credential", "usable",
    "username", "failed", "total", "codes", "wait", "tls_port", "starttls_port", "advice", "opt_in",
    # discovery (mail_settings_info): what a source said and which server it named
    "source", "url", "how", "where", "endpoint", "direction", "choices", "name", "domain", "tried", "pending",
    "budget", "recipient", "found_user", "found_at", "deleted", "latency",
}  # fmt: skip


def template_fields(template):
    """Names of the ``{field}`` placeholders of a template."""
    return {name for _unused, name, _unused, _unused in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_catalogue_entry_is_well_formed(code):
    entry = CATALOGUE[code]
    assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", code)
    assert entry.severity in SEVERITIES
    assert entry.stage in STAGES
    assert template_fields(entry.message) | template_fields(entry.fix) <= KNOWN_FIELDS
    assert entry.fix.endswith(".")


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_code_is_documented_with_its_severity_and_stage(code):
    text = DOCS.read_text(encoding="utf-8")
    row = re.search(rf"^\| `{code}` \| (\w+) \| (\w+) \|", text, re.MULTILINE)
    assert row, f"{code} missing from docs/findings.md"
    assert row.groups() == (CATALOGUE[code].severity, CATALOGUE[code].stage)


def test_docs_list_no_code_that_does_not_exist():
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", DOCS.read_text(encoding="utf-8"), re.MULTILINE))
    assert documented == set(CATALOGUE)


def test_make_finding_fills_templates_and_keeps_defaults():
    finding = make_finding("connection_refused", host="mail.example.test", port=993, address="127.0.0.1")
    assert finding == Finding(
        code="connection_refused",
        severity="error",
        stage="connect",
        message="mail.example.test port 993 refused the connection (127.0.0.1)",
        fix=CATALOGUE["connection_refused"].fix,
    )


def test_make_finding_overrides_severity_and_stage_and_fills_stage_placeholder():
    finding = make_finding("connection_closed", severity="warning", stage="logout")
    assert (finding.severity, finding.stage) == ("warning", "logout")
    assert finding.message == "the server closed the connection during the logout stage"


def test_make_finding_names_a_missing_parameter():
    with pytest.raises(KeyError, match="finding template needs parameter 'address'"):
        make_finding("connection_refused", host="h", port=1)


def _f(severity):
    return make_finding("logout_failed", severity=severity, reason="x")


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        ([], "ok"),
        (["info"], "ok"),
        (["info", "warning"], "warning"),
        (["warning", "error", "info"], "error"),
        (["error"], "error"),
    ],
)
def test_verdict_is_worst_severity_and_info_never_counts(severities, expected):
    findings = [_f(s) for s in severities]
    assert verdict(findings) == expected
    assert verdict([f.as_dict() for f in findings]) == expected


def test_with_severity_keeps_the_catalogue_text():
    finding = make_finding("connection_closed", stage="logout")
    lowered = finding.with_severity("warning")
    assert lowered == Finding("connection_closed", "warning", "logout", finding.message, finding.fix)
    assert finding.severity == "error"
    timeout = make_finding("command_timeout", command="QUIT", timeout=5, protocol="IMAP")
    moved = timeout.with_severity("warning", "logout")
    assert (moved.severity, moved.stage) == ("warning", "logout")
    assert moved.message == "no complete answer to QUIT within 5s"


@pytest.mark.parametrize(
    ("result_verdict", "fail_on", "fails"),
    [
        ("ok", "error", False),
        ("warning", "error", False),
        ("error", "error", True),
        ("ok", "warning", False),
        ("warning", "warning", True),
        ("error", "warning", True),
        ("error", "never", False),
        ("warning", "never", False),
    ],
)
def test_reaches_fail_on(result_verdict, fail_on, fails):
    assert reaches_fail_on(result_verdict, fail_on) is fails


def test_failure_message_lists_error_findings_and_account_errors():
    findings = [
        make_finding("cert_expiring_soon", not_after="2030-01-01T00:00:00Z", days=3, threshold=30).as_dict(),
        make_finding("auth_failed", username="bob", mechanism="PLAIN", reply="NO [AUTHENTICATIONFAILED]").as_dict(),
    ]
    accounts = [
        {"username": "carol", "findings": [make_finding("auth_failed", username="carol", mechanism="PLAIN",
                                                        reply="NO").as_dict()]},
        {"username": "dave", "findings": []},
    ]  # fmt: skip
    assert failure_message("imap://mail.example.test:993/tls", findings, "error", accounts) == (
        "imap://mail.example.test:993/tls did not pass (fail_on=error, error findings): "
        "auth_failed: authentication of 'bob' with PLAIN failed: 'NO [AUTHENTICATIONFAILED]'; "
        "carol: auth_failed: authentication of 'carol' with PLAIN failed: 'NO'"
    )
    assert failure_message("x", findings[:1], "warning") == (
        "x did not pass (fail_on=warning, warning or error findings): cert_expiring_soon: the server certificate "
        "expires on 2030-01-01T00:00:00Z, in 3 days (warning threshold 30 days)"
    )


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("NO bad password s3cret", ["s3cret"], "NO bad password <hidden>"),
        (b"\x00\x01abc", [], "\ufffd\ufffdabc"),
        ("x" * 130, [], "x" * 120 + "..."),
        ("tab\there", [], "tab\ufffdhere"),
    ],
)
def test_excerpt_hides_secrets_control_characters_and_length(text, secrets, expected):
    assert excerpt(text, secrets) == expected


def test_findings_the_verify_role_builds_itself_are_catalogued():
    assert make_finding(
        "module_failed", reason="Unsupported parameters for (imap_server_info) module: foo"
    ).as_dict() == {
        "code": "module_failed",
        "severity": "error",
        "stage": "module",
        "message": "Unsupported parameters for (imap_server_info) module: foo",
        "fix": "Read the message: a module option (mailops_verify_options, the server definition) was refused, or "
        "the probe host could not run the module (its Python, the collection on it, the connection to it).",
    }
    assert make_finding("login_not_reported").message == "the module reported no login result for this account"


def test_every_finding_code_written_in_the_collection_is_in_the_catalogue():
    # finding dicts written out by hand ("code": "...") and codes passed to the engine's finding helpers
    pattern = re.compile(
        r"\"code\": \"([a-z0-9_]+)\"|make_finding\(\s*\"([a-z0-9_]+)\"|\badd\(\s*\"([a-z0-9_]+)\""
        r"|error\(\s*\w+,\s*\"([a-z0-9_]+)\""
    )
    plugins = DOCS.parents[1] / "plugins"
    used = {
        code
        for path in plugins.rglob("*.py")
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
        for code in match.groups()
        if code
    }
    assert {"module_failed", "login_not_reported", "auth_failed"} <= used
    assert used - set(CATALOGUE) == set()

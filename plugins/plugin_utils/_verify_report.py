# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""CI reports of the verify role: a JSON document and JUnit XML, both deterministic.

Deterministic means: same verdicts and findings → byte-identical files, so a second run reports
``changed: false``. Timings, check times and the cache state are facts only, never in the reports; the one
exception is the round trip (``mailops_verify_roundtrip``), whose delivery latency and Message-ID are reported.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from ansible_collections.mailops.clients.plugins.plugin_utils._verified import verdict_lines

REPORT_FORMAT = "mailops.clients.verify/1"
# what the reports keep of an account's round trip (never the cache state)
ROUNDTRIP_KEYS = ("status", "reason", "latency_ms", "message_id", "deleted", "delivered_elsewhere", "codes")


def report(merged: Mapping, partial_hosts=None) -> dict:
    """The JSON report: summary, endpoints (sorted by key), accounts (sorted by host, id) and the hosts that failed
    before verification (``hosts``, each with its message). ``partial_hosts``: the run covered only these hosts
    (``--limit``); the report says so in ``partial``."""
    verified = merged["verified"]
    summary = {k: v for k, v in merged["summary"].items() if k not in ("probed", "cached")}
    eps = []
    for key, ep in sorted(verified["endpoints"].items()):
        eps.append(
            {
                "key": key,
                "protocol": ep["protocol"],
                "host": ep["host"],
                "port": ep["port"],
                "security": ep["security"],
                "verdict": ep["verdict"],
                "accounts": ep["accounts"],
                "credentials_checked": ep["credentials_checked"],
                "findings": ep["findings"],
            }
        )
    accounts = []
    for host in sorted(verified["accounts"]):
        for account_id, acc in sorted(verified["accounts"][host].items()):
            accounts.append(
                {
                    "host": host,
                    "id": account_id,
                    "email": acc["email"],
                    "verdict": acc["verdict"],
                    "reasons": acc["reasons"],
                    "incoming": acc["incoming"],
                    "outgoing": acc["outgoing"],
                    "credentials": acc["credentials"],
                    "not_checked": acc["not_checked"],
                    "findings": acc["findings"],
                }
            )
            if acc.get("roundtrip"):
                # the round trip (mailops_verify_roundtrip): a measurement, so the report changes with the latency
                accounts[-1]["roundtrip"] = {k: acc["roundtrip"].get(k) for k in ROUNDTRIP_KEYS}
    hosts = [
        {"host": host, "verdict": "error", "message": message}
        for host, message in sorted((merged.get("dropped") or {}).items())
    ]
    data = {"format": REPORT_FORMAT, "summary": summary, "endpoints": eps, "accounts": accounts, "hosts": hosts}
    if partial_hosts is not None:
        data["partial"] = {"hosts": sorted(str(h) for h in partial_hosts)}
    return data


def report_json(merged: Mapping, partial_hosts=None) -> str:
    return json.dumps(report(merged, partial_hosts), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _finding_text(finding: Mapping) -> str:
    parts = [f"[{finding.get('severity')}] {finding.get('code')}"]
    if finding.get("endpoint"):
        parts.append(f"at {finding['endpoint']}")
    if finding.get("stage"):
        parts.append(f"(stage {finding['stage']})")
    text = " ".join(parts) + f": {finding.get('message')}"
    if finding.get("fix"):
        text += f"\n    fix: {finding['fix']}"
    if finding.get("suggestion"):
        text += f"\n    did you mean: {finding['suggestion']}"
    return text


def _case(suite: ET.Element, classname: str, name: str, verdict: str, findings, reasons=None) -> tuple[int, int]:
    case = ET.SubElement(suite, "testcase", {"classname": classname, "name": name})
    errors = [f for f in findings if f.get("severity") == "error"]
    others = [f for f in findings if f.get("severity") != "error"]
    failed = verdict == "error"
    if failed:
        # the error findings' codes, then any reason of the verdict that is no error finding (e.g. a warning
        # endpoint where the account's own login was not checked)
        codes = ", ".join(dict.fromkeys([*(str(f.get("code")) for f in errors), *(reasons or [])]))
        codes = codes or "verification failed"
        failure = ET.SubElement(case, "failure", {"message": codes, "type": "mailops.verify"})
        failure.text = "\n".join(_finding_text(f) for f in errors) or f"verdict error: {codes}"
    if others:
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(_finding_text(f) for f in others)
    return 1, int(failed)


def _roundtrip_properties(case: ET.Element, roundtrip: Mapping) -> None:
    """The round trip's status and delivery latency as properties of the account's testcase."""
    props = ET.Element("properties")
    for key in ("status", "latency_ms", "message_id"):
        if roundtrip.get(key) is not None:
            ET.SubElement(props, "property", {"name": f"roundtrip.{key}", "value": str(roundtrip[key])})
    case.insert(0, props)


def report_junit(merged: Mapping, partial_hosts=None) -> str:
    """JUnit XML: suite ``endpoints`` (one testcase per endpoint key) and suite ``accounts`` (one per
    host/account); an error verdict is a ``<failure>`` whose text lists the error findings, warnings and
    info go to ``<system-out>``. Hosts that failed before verification are failed testcases of a suite
    ``hosts``; a partial run names its hosts in the property ``partial.hosts`` of every suite."""
    data = report(merged, partial_hosts)
    root = ET.Element("testsuites", {"name": "mailops.clients.verify"})
    totals = [0, 0]
    suite = ET.SubElement(root, "testsuite", {"name": "endpoints"})
    counts = [0, 0]
    for ep in data["endpoints"]:
        tests, failures = _case(suite, f"mailops.verify.{ep['protocol']}", ep["key"], ep["verdict"], ep["findings"])
        counts[0] += tests
        counts[1] += failures
    suite.set("tests", str(counts[0]))
    suite.set("failures", str(counts[1]))
    suite.set("errors", "0")
    totals = [counts[0], counts[1]]
    suite = ET.SubElement(root, "testsuite", {"name": "accounts"})
    counts = [0, 0]
    for acc in data["accounts"]:
        # the account's verdict and reasons come from _verified.account_result, like the gate's decision
        tests, failures = _case(
            suite, f"mailops.verify.account.{acc['host']}", acc["id"], acc["verdict"], acc["findings"], acc["reasons"]
        )
        counts[0] += tests
        counts[1] += failures
        if acc.get("roundtrip"):
            _roundtrip_properties(suite[-1], acc["roundtrip"])
    suite.set("tests", str(counts[0]))
    suite.set("failures", str(counts[1]))
    suite.set("errors", "0")
    totals = [totals[0] + counts[0], totals[1] + counts[1]]
    if data["hosts"]:
        suite = ET.SubElement(root, "testsuite", {"name": "hosts"})
        for item in data["hosts"]:
            case = ET.SubElement(suite, "testcase", {"classname": "mailops.verify.host", "name": item["host"]})
            failure = ET.SubElement(
                case, "failure", {"message": "failed before verification", "type": "mailops.verify"}
            )
            failure.text = item["message"]
        suite.set("tests", str(len(data["hosts"])))
        suite.set("failures", str(len(data["hosts"])))
        suite.set("errors", "0")
        totals = [totals[0] + len(data["hosts"]), totals[1] + len(data["hosts"])]
    if "partial" in data:
        for suite in root.iter("testsuite"):
            props = ET.Element("properties")
            ET.SubElement(props, "property", {"name": "partial.hosts", "value": ",".join(data["partial"]["hosts"])})
            suite.insert(0, props)
    root.set("tests", str(totals[0]))
    root.set("failures", str(totals[1]))
    root.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def with_outputs(merged: dict, partial_hosts=None) -> dict:
    """``merged`` with what the role prints and writes, made from it: ``lines`` (one per endpoint),
    ``report_json`` and ``report_junit``. Every step that changes a merge (probes, round trips, suggestions)
    ends here, so the lines and both reports always say the same."""
    partial = None if partial_hosts is None else list(partial_hosts)
    merged["lines"] = verdict_lines(merged["verified"])
    merged["report_json"] = report_json(merged, partial)
    merged["report_junit"] = report_junit(merged, partial)
    return merged

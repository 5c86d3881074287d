# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""P1 probe cost: one full probe (connect, TLS, capabilities, login, logout) by the collection's engine vs the
raw floor (ssl + imaplib/smtplib with the same kind of verified context) vs the peers people use
(monitoring-plugins check_imap/check_smtp, swaks), interleaved in one run against the lab.
"""

from __future__ import annotations

import imaplib
import shutil
import smtplib

from benchmarks import _stats
from benchmarks._harness import interleave as run_interleaved
from benchmarks._harness import log, run_measured, tracemalloc_peak_kib, verified_context

PLUGINS = "/usr/lib/nagios/plugins"
HELO = "bench.example.test"


def _engine():
    from ansible_collections.mailops.clients.plugins.module_utils._connection import validate
    from ansible_collections.mailops.clients.plugins.module_utils._probe import run_checks

    return validate, run_checks


def imap_variants(lab, username, password):
    validate, run_checks = _engine()
    host, port, ca_path = lab.host, lab.ports["imaps"], lab.ca_path
    shared = verified_context(ca_path)

    def ours():
        params = {"host": host, "port": port, "security": "tls", "ca_path": ca_path}
        params.update({"username": username, "password": password})
        result = run_checks(validate(params, "imap"))
        if result["verdict"] != "ok" or not result["login"]["succeeded"]:
            raise RuntimeError(f"engine probe failed: {result['findings']}")

    def floor(context=None):
        client = imaplib.IMAP4_SSL(host, port, ssl_context=context or verified_context(ca_path), timeout=10)
        client.login(username, password)
        client.logout()

    variants = {"ours (engine, in-process)": ours, "raw floor (ssl + imaplib)": floor}
    variants["raw floor, one shared SSLContext"] = lambda: floor(shared)
    check_imap = shutil.which("check_imap", path=PLUGINS)
    if check_imap:
        send = f"a1 LOGIN {username} {password}\\r\\na2 LOGOUT\\r\\n"
        cmd = [check_imap, "-H", host, "-p", str(port), "-S", "-E", "-s", send, "-e", "a1 OK", "-t", "10"]
        variants["check_imap -S (login via send/expect)"] = _peer(cmd)
    return variants, {"ours": "ours (engine, in-process)", "floor": "raw floor (ssl + imaplib)"}


def smtp_variants(lab, username, password):
    validate, run_checks = _engine()
    host, port, ca_path = lab.host, lab.ports["submission"], lab.ca_path

    def ours():
        params = {"host": host, "port": port, "security": "starttls", "ca_path": ca_path, "helo_name": HELO}
        params.update({"username": username, "password": password})
        result = run_checks(validate(params, "smtp"))
        if result["verdict"] != "ok" or not result["login"]["succeeded"]:
            raise RuntimeError(f"engine probe failed: {result['findings']}")

    def floor():
        client = smtplib.SMTP(host, port, local_hostname=HELO, timeout=10)
        client.ehlo()
        client.starttls(context=verified_context(ca_path))
        client.ehlo()
        client.login(username, password)
        client.quit()

    variants = {"ours (engine, in-process)": ours, "raw floor (ssl + smtplib)": floor}
    check_smtp = shutil.which("check_smtp", path=PLUGINS)
    if check_smtp:
        cmd = [check_smtp, "-H", host, "-p", str(port), "-S", "-A", "LOGIN", "-U", username, "-P", password]
        variants["check_smtp -S -A LOGIN"] = _peer(cmd + ["-t", "10"])
    swaks = shutil.which("swaks")
    if swaks:
        cmd = [swaks, "--server", host, "--port", str(port), "-tls", "--tls-verify", "--tls-ca-path", ca_path]
        cmd += ["--auth", "PLAIN", "--auth-user", username, "--auth-password", password, "--quit-after", "AUTH"]
        cmd += ["--helo", HELO, "--from", username, "--to", username, "--silent", "2", "--timeout", "10"]
        variants["swaks -tls --tls-verify --auth PLAIN"] = _peer(cmd)
    return variants, {"ours": "ours (engine, in-process)", "floor": "raw floor (ssl + smtplib)"}


class _peer:
    """A peer command as a variant: fails loudly when the check does not pass; remembers its peak RSS."""

    def __init__(self, cmd):
        self.cmd = cmd

    def max_rss_kib(self, repeat=3):
        """Peak RSS under GNU time, in a separate untimed pass (the timed runs have no wrapper)."""
        return max(run_measured(self.cmd, sample_interval=0, timeout=60)["max_rss_kib"] or 0 for _i in range(repeat))

    def __call__(self):
        result = run_measured(self.cmd, sample_interval=0, timeout=60, rss=False)
        if result["rc"] != 0:
            raise RuntimeError(
                f"{self.cmd[0]} exited {result['rc']}: {result['stdout'][-500:]}{result['stderr'][-500:]}"
            )


NOTES = {
    "ours (engine, in-process)": "verified chain + host name, certificate parsed and checked, capabilities after "
    "TLS, SASL mechanism choice, findings",
    "raw floor (ssl + imaplib)": "verified context built per probe (as one module call does)",
    "raw floor, one shared SSLContext": "context built once: the CA file is not re-read (informational)",
    "check_imap -S (login via send/expect)": "C; no chain or host-name verification; password on the command line; "
    "process start included",
    "raw floor (ssl + smtplib)": "EHLO, STARTTLS with a verified context, EHLO, AUTH, QUIT",
    "check_smtp -S -A LOGIN": "C; STARTTLS without chain verification; AUTH LOGIN only; process start included",
    "swaks -tls --tls-verify --auth PLAIN": "Perl; verified chain; process start included",
}


def run(lab, probes):
    """P1 for IMAPS and SMTP submission (STARTTLS + AUTH): ``probes`` interleaved rounds per variant."""
    username, password = "alice@example.test", lab.users["alice@example.test"]
    groups = {}
    for group, factory in (
        ("IMAPS (implicit TLS) login", imap_variants),
        ("SMTP submission STARTTLS + AUTH", smtp_variants),
    ):
        variants, roles = factory(lab, username, password)
        log(f"P1 {group}: {len(variants)} variants x {probes} probes, interleaved")
        times = run_interleaved(variants, probes, warmup=3)
        rows = []
        floor_median = _stats.median(times[roles["floor"]])
        for name, samples in times.items():
            func = variants[name]
            if isinstance(func, _peer):
                memory = {"kind": "max RSS of the process (GNU time)", "kib": func.max_rss_kib()}
            else:
                memory = {"kind": "tracemalloc peak over 5 probes", "kib": tracemalloc_peak_kib(func)}
            median = _stats.median(samples)
            rows.append(
                {
                    "variant": name,
                    "role": next((role for role, label in roles.items() if label == name), "peer"),
                    "probes": len(samples),
                    "median_s": median,
                    "p90_s": _stats.quantile(samples, 0.9),
                    "ratio_to_floor": _stats.ratio(median, floor_median),
                    "memory": memory,
                    "note": NOTES.get(name, ""),
                }
            )
        ours = next(r for r in rows if r["role"] == "ours")
        groups[group] = {"rows": rows, "ratio": ours["ratio_to_floor"]}
        log(f"P1 {group}: ours/floor = {_stats.format_ratio(ours['ratio_to_floor'])}")
    imap = groups["IMAPS (implicit TLS) login"]["ratio"]
    return {
        "probes": probes,
        "groups": groups,
        "target": {"what": "P1 IMAPS ours / raw floor", "kind": "max", "value": 1.2, "measured": imap},
    }

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the benchmarks (make bench / make bench-quick) and write RESULTS.md and results.json.

    .venv/bin/python -m benchmarks.run            # from the checkout root, as root (the lab needs it)

Sizes come from environment variables (see benchmarks/README.md); BENCH_ONLY="p1 p3" runs a subset and, with
an existing results.json in BENCH_OUT, keeps the other sections from it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import _stats, p1_probe, p2_sweep, p3_fleet, p4_discovery
from benchmarks._harness import REPO, lab_running, log, machine

ANALYSIS_MARK = "<!-- analysis: everything below this line is kept when RESULTS.md is regenerated -->"


def _ints(name, default):
    return [int(x) for x in os.environ.get(name, default).split()]


def config():
    return {
        "only": os.environ.get("BENCH_ONLY", "p1 p2 p3 p4").split(),
        "out": Path(os.environ.get("BENCH_OUT", REPO / "benchmarks")),
        "p1_probes": int(os.environ.get("BENCH_P1_PROBES", "200")),
        "p2_sizes": _ints("BENCH_P2_SIZES", "200 1000"),
        "p2_loop_sizes": _ints("BENCH_P2_LOOP_SIZES", "100"),
        "p2_protocols": os.environ.get("BENCH_P2_PROTOCOLS", "imap pop3 smtp").split(),
        "p2_repeat": int(os.environ.get("BENCH_P2_REPEAT", "2")),
        "concurrency": int(os.environ.get("BENCH_CONCURRENCY", "8")),
        "p3_sizes": _ints("BENCH_P3_SIZES", "50 200"),
        "p3_forks": _ints("BENCH_P3_FORKS", "5 20"),
        "p3_repeat": int(os.environ.get("BENCH_P3_REPEAT", "1")),
        "p3_extra": int(os.environ.get("BENCH_P3_EXTRA", "1000")) or None,
        "p3_budget": int(os.environ.get("BENCH_P3_BUDGET", "1500")),
        "p4_rounds": int(os.environ.get("BENCH_P4_ROUNDS", "5")),
        "p4_addresses": int(os.environ.get("BENCH_P4_ADDRESSES", "200")),
    }


PEER_PACKAGES = (
    "monitoring-plugins-basic",
    "monitoring-plugins-standard",
    "swaks",
    "libnet-ssleay-perl",
    "libio-socket-ssl-perl",
)


def main():
    # make/CI stop us with SIGTERM: leave through the finally blocks, which stop the lab
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    cfg = config()
    out = cfg["out"]
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "results.json"
    results = json.loads(json_path.read_text()) if json_path.exists() else {}
    results.setdefault("sections", {})
    # The peers P1 compares against; without them (no root) those rows say "not installed".
    # swaks needs Net::SSLeay and IO::Socket::SSL for STARTTLS (Debian only recommends them).
    subprocess.run([str(REPO / "tools" / "install-system-deps.sh"), *PEER_PACKAGES], check=False)
    users = max(cfg["p2_sizes"] + cfg["p2_loop_sizes"]) if "p2" in cfg["only"] else 0
    info = machine()
    started = time.monotonic()
    # P4 starts its own labs (the discovery lab in front of a mail lab with the test domains' certificate)
    needs_lab = any(name in cfg["only"] for name in ("p1", "p2", "p3"))
    with (
        tempfile.TemporaryDirectory(prefix="mailops-bench-") as tmp,
        lab_running(users) if needs_lab else contextlib.nullcontext() as lab,
    ):
        workdir = Path(tmp)
        workdir.chmod(0o755)
        if "p1" in cfg["only"]:
            section_start = time.monotonic()
            data = p1_probe.run(lab, cfg["p1_probes"])
            results["sections"]["p1"] = {"machine": info, "seconds": time.monotonic() - section_start, "data": data}
            write(results, out)
        if "p2" in cfg["only"]:
            section_start = time.monotonic()
            data = p2_sweep.run(
                lab,
                workdir,
                cfg["p2_protocols"],
                cfg["p2_sizes"],
                cfg["p2_loop_sizes"],
                cfg["p2_repeat"],
                cfg["concurrency"],
            )
            results["sections"]["p2"] = {"machine": info, "seconds": time.monotonic() - section_start, "data": data}
            write(results, out)
        if "p3" in cfg["only"]:
            section_start = time.monotonic()
            data = p3_fleet.run(
                lab,
                workdir,
                cfg["p3_sizes"],
                cfg["p3_forks"],
                cfg["p3_repeat"],
                extra_size=cfg["p3_extra"],
                budget_s=cfg["p3_budget"],
            )
            results["sections"]["p3"] = {"machine": info, "seconds": time.monotonic() - section_start, "data": data}
            write(results, out)
    if "p4" in cfg["only"]:
        section_start = time.monotonic()
        p4_machine = machine()  # the date and load when P4 starts, after the other sections
        data = p4_discovery.run(cfg["p4_rounds"], cfg["p4_addresses"])
        results["sections"]["p4"] = {"machine": p4_machine, "seconds": time.monotonic() - section_start, "data": data}
        write(results, out)
    log(f"done in {time.monotonic() - started:.0f}s: {out / 'RESULTS.md'}, {json_path}")
    missed = [t for t in all_targets(results) if _stats.target_met(t["measured"], t["value"], t["kind"]) is False]
    for target in missed:
        log(f"target missed: {target['what']}: {_stats.format_ratio(target['measured'])} (target {target['value']})")
    return 0


# --- the report --------------------------------------------------------------------------------------
def all_targets(results):
    sections = results.get("sections", {})
    targets = []
    if "p1" in sections:
        targets.append(sections["p1"]["data"]["target"])
    for name in ("p2", "p3", "p4"):
        if name in sections:
            targets += sections[name]["data"]["targets"]
    return targets


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _unused in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _mem(kib):
    return _stats.format_mib(kib)


def _machine(info):
    return (
        f"{info['date']}; {info['cores']} cores ({info['cpu']}), {info['memory_gib']} GiB RAM; {info['os']}, "
        f"kernel {info['kernel']}; Python {info['python']}, {info['openssl']}, ansible-core {info['ansible_core']}; "
        f"Dovecot {info['dovecot']}, Postfix {info['postfix']}; monitoring-plugins {info['monitoring_plugins']}, "
        f"swaks {info['swaks']}; load average at start {info['load_average_at_start']} (a shared machine)"
    )


def report(results):
    sections = results.get("sections", {})
    lines = [
        "# Benchmark results",
        "",
        "Generated by `make bench` (benchmarks/run.py) from `results.json`; the methods are in README.md. Every "
        "figure is a median of runs interleaved with its baseline in the same run (ABAB order), against the "
        "mail lab (real Dovecot and Postfix on 127.0.0.1). Ratios are ours / baseline unless said otherwise.",
        "",
        "## Targets",
        "",
    ]
    rows = []
    for target in all_targets(results):
        met = _stats.target_met(target["measured"], target["value"], target["kind"])
        sign = "≤" if target["kind"] == "max" else "≥"
        verdict = "n/a" if met is None else ("met" if met else "**missed**")
        rows.append([target["what"], f"{sign} {target['value']:g}×", _stats.format_ratio(target["measured"]), verdict])
    lines += [_table(["what", "target", "measured", ""], rows), ""]
    if "p1" in sections:
        lines += _report_p1(sections["p1"])
    if "p2" in sections:
        lines += _report_p2(sections["p2"])
    if "p3" in sections:
        lines += _report_p3(sections["p3"])
    if "p4" in sections:
        lines += _report_p4(sections["p4"])
    return "\n".join(lines) + "\n"


def _report_p1(section):
    data = section["data"]
    lines = [
        "## P1 probe cost",
        "",
        f"Machine: {_machine(section['machine'])}.",
        "",
        f"{data['probes']} probes per variant, interleaved (3 warm-up rounds not counted). One probe = connect, "
        "TLS, capabilities, login, logout as alice@example.test. The engine is the modules' own code "
        "(`validate()` + `run_checks()`) called in-process; peers are separate processes, so their figures "
        "include process start-up, as when a monitoring system runs them. Memory: tracemalloc peak of 5 "
        "probes for in-process variants, the process's max RSS for peers.",
        "",
    ]
    for group, body in data["groups"].items():
        rows = [
            [
                r["variant"],
                _stats.format_seconds(r["median_s"]),
                _stats.format_seconds(r["p90_s"]),
                _stats.format_ratio(r["ratio_to_floor"]),
                _mem(r["memory"]["kib"]) + (" (heap)" if "tracemalloc" in r["memory"]["kind"] else " (RSS)"),
                r["note"],
            ]
            for r in body["rows"]
        ]
        lines += [
            f"### {group}",
            "",
            _table(["variant", "median", "p90", "vs floor", "peak memory", "notes"], rows),
            "",
        ]
    return lines


def _report_p2(section):
    data = section["data"]
    lines = [
        "## P2 credential sweep",
        "",
        f"Machine: {_machine(section['machine'])}.",
        "",
        f"Concurrency {data['concurrency']} (the module default) for ours, the engine and the floor; "
        f"{data['repeat']} interleaved repetitions per size (the loop: one). `ours` is `ansible-playbook` "
        "running one task with `accounts:` (wall time of the whole command, start-up included); the floor is "
        "a Python process with a thread pool doing standard-library logins (imaplib/poplib/smtplib) with one "
        "shared verified context; the engine row is the same module code without Ansible, in its own process. "
        "Memory: max RSS of the largest process / peak summed RSS of the process tree.",
        "",
    ]
    for protocol, body in data["protocols"].items():
        rows = []
        for size, entry in sorted(body["sizes"].items(), key=lambda kv: int(kv[0])):
            floor = entry["floor"]["median_s"]
            for key in ("ours", "engine", "floor"):
                item = entry[key]
                rows.append(
                    [
                        item["variant"],
                        size,
                        _stats.format_seconds(item["median_s"]),
                        _stats.format_seconds(item["per_account_s"]),
                        _stats.format_ratio(_stats.ratio(item["median_s"], floor)),
                        f"{_mem(item['max_rss_kib'])} / {_mem(item['tree_rss_kib'])}",
                    ]
                )
            rows.append(
                [
                    f"Ansible loop, one task per account ({entry['loop_basis']})",
                    size,
                    _stats.format_seconds(entry["loop_s"]),
                    _stats.format_seconds(entry["loop_s"] / int(size)),
                    _stats.format_ratio(_stats.ratio(entry["loop_s"], floor)),
                    "",
                ]
            )
        for size, loop in sorted(body["loop"].items(), key=lambda kv: int(kv[0])):
            rows.append(
                [
                    "Ansible loop, measured",
                    size,
                    _stats.format_seconds(loop["median_s"]),
                    _stats.format_seconds(loop["per_account_s"]),
                    "",
                    f"{_mem(loop['max_rss_kib'])} / {_mem(loop['tree_rss_kib'])}",
                ]
            )
        probe = body["probe_only"]
        rows.append(
            ["one task, endpoint only (Ansible's fixed cost)", 0, _stats.format_seconds(probe["median_s"]), "", "", ""]
        )
        lines += [
            f"### {protocol.upper()}",
            "",
            _table(["variant", "accounts", "median", "per account", "vs floor", "peak memory"], rows),
            "",
        ]
        speedups = ", ".join(
            f"{size} accounts: {_stats.format_ratio(e['speedup_vs_loop'])} faster than the loop"
            for size, e in sorted(body["sizes"].items(), key=lambda kv: int(kv[0]))
        )
        lines += [f"Speed-up of one task over the loop: {speedups}.", ""]
        if "scaling" in body:
            parts = [
                f"{kind}: {_stats.format_seconds(s['per_unit_a'])} → "
                f"{_stats.format_seconds(s['per_unit_b'])} per account, "
                f"linearity {s['linearity']:.2f} (1.00 = linear), exponent {s['exponent']:.2f}"
                for kind, s in body["scaling"].items()
            ]
            lines += ["Scaling: " + "; ".join(parts) + ".", ""]
    return lines


def _report_p3(section):
    data = section["data"]
    lines = [
        "## P3 fleet render",
        "",
        f"Machine: {_machine(section['machine'])}.",
        "",
        "Generated inventory: local-connection client hosts h0001.., 2 accounts each on one server definition "
        "pointing at the lab (IMAPS + submission STARTTLS), `mailops_clients: [thunderbird, apple_mail, "
        "outlook]`; `ansible-playbook mailops.clients.provision` (verification once per play, no credential "
        "check) into a fresh output directory each run vs a play of three `ansible.builtin.copy` tasks with "
        "static content per host (the floor). Whole-command wall time; memory is the peak summed RSS of the "
        "process tree (ansible-playbook and its forked workers, sampled every 0.25 s; a worker's RSS counts the "
        "controller pages it shares, so the sum grows with the controller's size times the forks) and the "
        f"controller process's RSS at the end of the play. {data['repeat']} run(s) per cell, ours and the floor "
        "interleaved.",
        "",
    ]
    rows = []
    for hosts, by_forks in sorted(data["sizes"].items(), key=lambda kv: int(kv[0])):
        for forks, entry in sorted(by_forks.items(), key=lambda kv: int(kv[0])):
            ours, floor = entry["ours"], entry["floor"]
            rows.append(
                [
                    hosts,
                    forks,
                    _stats.format_seconds(ours["median_s"]),
                    _stats.format_seconds(floor["median_s"]),
                    _stats.format_seconds(ours["per_host_s"]),
                    _stats.format_seconds(floor["per_host_s"]),
                    _stats.format_ratio(entry["ratio"]),
                    f"{ours['files']} / {floor['files']}",
                    f"{_mem(ours['tree_rss_kib'])} / {_mem(floor['tree_rss_kib'])}",
                    # results of an earlier version have no rss_ratio: computed from the same figures
                    _stats.format_ratio(
                        entry.get("rss_ratio", _stats.ratio(ours["tree_rss_kib"], floor["tree_rss_kib"]))
                    ),
                    f"{_mem(ours.get('controller_rss_kib'))} / {_mem(floor.get('controller_rss_kib'))}",
                ]
            )
    header = [
        "hosts",
        "forks",
        "ours",
        "floor",
        "ours/host",
        "floor/host",
        "ratio",
        "files",
        "peak RSS ours / floor",
        "RSS ratio",
        "controller RSS ours / floor",
    ]
    lines += [_table(header, rows), ""]
    for forks, fit in data.get("fit", {}).items():
        ours, floor = fit["ours"], fit["floor"]
        lines.append(
            f"- forks {forks}, linear fit: ours {ours['fixed_s']:.1f} s + {ours['per_host_s'] * 1000:.0f} ms/host, "
            f"floor {floor['fixed_s']:.1f} s + {floor['per_host_s'] * 1000:.0f} ms/host; at 1,000 hosts ≈ "
            f"{_stats.format_seconds(ours['fixed_s'] + 1000 * ours['per_host_s'])} vs "
            f"{_stats.format_seconds(floor['fixed_s'] + 1000 * floor['per_host_s'])}"
        )
    for forks, scaling in data.get("scaling", {}).items():
        lines.append(
            f"- forks {forks}, growth between the two sizes: ours linearity {scaling['ours']['linearity']:.2f}, "
            f"floor {scaling['floor']['linearity']:.2f} (1.00 = linear; below: fixed cost spread)"
        )
    extra = data.get("extra")
    if extra:
        state = "ran" if extra.get("ran") else "skipped"
        lines.append(
            f"- {extra['hosts']} hosts at forks {extra['forks']}: estimated {extra['estimate_s']:.0f} s for ours + "
            f"floor against a budget of {extra['budget_s']} s: {state}"
        )
    lines.append("")
    largest = max(data["sizes"], key=int)
    for forks, entry in sorted(data["sizes"][largest].items(), key=lambda kv: int(kv[0])):
        if entry.get("memory_ours"):
            lines += [
                f"Where the controller of ours grew most ({largest} hosts, forks {forks}): "
                + "; ".join(f"{_task_label(t['task'])} {_mem(t['rss_growth_kib'])}" for t in entry["memory_ours"])
                + ".",
                "",
            ]
        profile = entry["profile_ours"]
        rows = [
            [
                _task_label(t["task"]),
                _stats.format_seconds(t["wall"]),
                f"{t['share'] * 100:.1f} %" if t["share"] is not None else "",
                _stats.format_seconds(t["host_time"]),
                t["runs"],
                t["starts"],
            ]
            for t in profile["tasks"]
        ]
        lines += [
            f"### Where ours spends its time: {largest} hosts, forks {forks} (bench_timer callback)",
            "",
            f"Play total {_stats.format_seconds(profile['total'])}. wall = from the task's start to the next "
            "task's start (includes the strategy's include processing); host time = summed per-host run time; "
            "starts = task objects started (include_role makes one per include batch).",
            "",
            _table(["task", "wall", "share", "host time", "host runs", "starts"], rows),
            "",
        ]
    return lines


def _report_p4(section):
    data = section["data"]
    return [
        "## P4 discovery",
        "",
        f"Machine: {_machine(section['machine'])}; load average at the end of P4 {data['load_average_at_end']}.",
        "",
        "The discovery lab (Knot DNS, the HTTPS/HTTP document server, relays to the real Dovecot/Postfix on "
        "127.53.N.0/24; tests/integration/targets/mail_settings_info/discovery_domains.py) serves the same domains "
        "to both. Ours: `_discovery_engine.discover` in-process for `alice@<domain>` with every source, every "
        "candidate probed (no login). Thunderbird 153: its own account discovery (`FindConfig` sources, then "
        "`GuessConfig` when nothing was found) through Marionette in one running Thunderbird; it probes only what "
        "it guesses, not what a document names, so on document domains it does less work. "
        f"{data['rounds']} interleaved rounds per domain (one warm-up), medians; the sharing run is ours only.",
        "",
        *p4_discovery.report(data),
        "",
    ]


def _task_label(name):
    """A task name without the role prefix twice (results of an earlier callback version had it)."""
    parts = name.split(" : ")
    if len(parts) > 2 and parts[0] == parts[1]:
        parts = parts[1:]
    return " : ".join(parts).replace("mailops.clients.", "")


def write(results, out):
    (out / "results.json").write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    md_path = out / "RESULTS.md"
    analysis = ""
    if md_path.exists():
        old = md_path.read_text(encoding="utf-8")
        if ANALYSIS_MARK in old:
            analysis = old.split(ANALYSIS_MARK, 1)[1]
    text = report(results) + "\n" + ANALYSIS_MARK + (analysis or "\n")
    md_path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    if not os.environ.get("BENCH_REPORT_ONLY"):
        sys.exit(main())
    path = Path(os.environ.get("BENCH_OUT", REPO / "benchmarks"))
    write(json.loads((path / "results.json").read_text()), path)

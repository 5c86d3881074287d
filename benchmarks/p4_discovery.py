# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""P4: discovery per domain, ours vs Thunderbird's own discovery, and per-domain sharing across many addresses.

    .venv/bin/python -m benchmarks.p4_discovery            # as root; prints a table and JSON on stdout

The discovery lab (Knot, the document server, the real Dovecot/Postfix; tests/integration/targets/
mail_settings_info/discovery_domains.py) serves the same domains to both. Ours is the engine called in-process
(``_discovery_engine.discover``: every source, every candidate probed); Thunderbird 153 runs its own
``FindConfig.parallelAutoDiscovery`` (then ``GuessConfig`` when nothing was found) through Marionette, which
probes only what it guesses, not what a document says. Rounds are interleaved (ABAB).
Sizes: BENCH_P4_ROUNDS (default 5), BENCH_P4_ADDRESSES (addresses of the sharing run, spread round-robin over
the lab domains, default 200). ``benchmarks.run`` runs it as the P4 section (BENCH_ONLY=p4).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import _stats
from benchmarks._harness import REPO, free_port_offset, interleave, log

sys.path.insert(0, str(REPO / "tests" / "integration" / "targets" / "mail_settings_info"))

from discovery_domains import ISPDB_URL, ZONES, start_lab  # noqa: E402


def _domains():
    return [z for z in ZONES if z not in ("lab.test", "mxprovider.test")]


def run(rounds, addresses):
    """Per-domain medians (ours, Thunderbird) and the sharing run; the load average at start and end."""
    import thunderbird_peer as tb
    from ansible_collections.mailops.clients.plugins.plugin_utils import _discovery_engine as engine

    results = {"rounds": rounds, "per_domain": {}, "sharing": {}, "load_average_at_start": _load()}
    with start_lab(free_port_offset()) as (mail, lab):
        options = {"timeout": 30, "dns_servers": [lab.dns_address], "ispdb_url": ISPDB_URL, "ca_path": mail.ca_path}

        def ours(emails):
            return lambda: engine.discover(emails, engine.Options(**options))

        with tb.thunderbird(Path(tempfile.mkdtemp()), lab.dns_address, ISPDB_URL, mail.ca_path) as client:
            for domain in _domains():
                email = f"alice@{domain}"
                log(f"P4 {domain}")
                times = interleave(
                    {"ours": ours([email]), "thunderbird": lambda d=domain, e=email: tb.discover(client, d, e)},
                    rounds,
                    warmup=1,
                )
                results["per_domain"][domain] = {k: _stats.median(v) for k, v in times.items()}
        domains = _domains()
        one_each = [f"alice@{d}" for d in domains]
        many = [f"user{i:03d}@{domains[i % len(domains)]}" for i in range(addresses)]
        log(f"P4 sharing: {len(one_each)} vs {len(many)} addresses")
        times = interleave({"one_each": ours(one_each), "many": ours(many)}, max(2, rounds // 2), warmup=1)
        results["sharing"] = {
            "domains": len(domains),
            "addresses_small": len(one_each),
            "addresses_large": len(many),
            "small": _stats.median(times["one_each"]),
            "large": _stats.median(times["many"]),
        }
    results["load_average_at_end"] = _load()
    sharing = results["sharing"]
    results["targets"] = [
        {
            "what": f"P4 sharing: {sharing['addresses_large']} addresses over {sharing['domains']} domains in one "
            f"task / {sharing['addresses_small']} addresses",
            "kind": "max",
            "value": 1.5,
            "measured": _stats.ratio(sharing["large"], sharing["small"]),
        }
    ]
    return results


def _load():
    return [round(x, 2) for x in os.getloadavg()]


def report(results):
    """The P4 tables as Markdown lines (RESULTS.md and this module's own output)."""
    lines = ["| domain | ours (median) | Thunderbird (median) | ours / Thunderbird |", "|---|---|---|---|"]
    for domain, t in results["per_domain"].items():
        ratio = _stats.ratio(t["ours"], t["thunderbird"])
        lines.append(f"| {domain} | {t['ours'] * 1000:.0f} ms | {t['thunderbird'] * 1000:.0f} ms | {ratio:.2f}× |")
    all_ours = _stats.median([t["ours"] for t in results["per_domain"].values()])
    all_tb = _stats.median([t["thunderbird"] for t in results["per_domain"].values()])
    lines.append(
        f"| **median over domains** | {all_ours * 1000:.0f} ms | {all_tb * 1000:.0f} ms | "
        f"{_stats.ratio(all_ours, all_tb):.2f}× |"
    )
    s = results["sharing"]
    ratio = _stats.ratio(s["large"], s["small"])
    lines.append("")
    lines.append(
        f"Sharing: {s['addresses_large']} addresses over {s['domains']} domains in one task {s['large']:.2f} s vs "
        f"{s['addresses_small']} addresses (one per domain) {s['small']:.2f} s: {_stats.format_ratio(ratio)} "
        f"(target ≤ 1.5×: {'met' if _stats.target_met(ratio, 1.5, 'max') else 'missed'})"
    )
    return lines


def main():
    rounds = int(os.environ.get("BENCH_P4_ROUNDS", "5"))
    addresses = int(os.environ.get("BENCH_P4_ADDRESSES", "200"))
    started = time.monotonic()
    results = run(rounds, addresses)
    print("\n".join(report(results)))
    print(json.dumps(results, indent=2))
    log(f"P4 done in {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""P3 fleet render: a generated inventory of local-connection client hosts with 2 accounts each;
``mailops.clients.provision`` renders Thunderbird, Apple Mail and Outlook for every host (the endpoints are
verified once per play) vs Ansible's own floor, a play writing three static files per host with
``ansible.builtin.copy``. Per-host cost and ratio at several forks, at two or more fleet sizes, and the peak
summed RSS of the process tree (ansible-playbook and its forked workers) of both, as a ratio.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from benchmarks import _stats
from benchmarks._harness import ansible_playbook, log

FLOOR_PLAY = """- name: Ansible's floor, three static files per host
  hosts: all
  gather_facts: false
  tasks:
{tasks}"""
FLOOR_TASK = """    - name: Write the {client} file
      ansible.builtin.copy:
        content: "static {client} settings of {{{{ inventory_hostname }}}}\\n"
        dest: "{{{{ bench_out }}}}/floor-{{{{ inventory_hostname }}}}-{client}.txt"
        mode: "0644"
"""
CLIENTS = ("thunderbird", "apple_mail", "outlook")


def write_inventory(workdir, lab, hosts):
    """inventory-<hosts>.yml (JSON, which is YAML): hosts h0001.. with 2 accounts each, servers at the lab."""
    group_vars = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "mailops_servers": {
            "lab": {
                "incoming": {
                    "protocol": "imap",
                    "host": lab.host,
                    "port": lab.ports["imaps"],
                    "security": "tls",
                    "auth": "password",
                },
                "outgoing": {
                    "host": lab.host,
                    "port": lab.ports["submission"],
                    "security": "starttls",
                    "auth": "password",
                },
            }
        },
        "mailops_verify_options": {"ca_path": lab.ca_path},
        "mailops_verify_report_dir": "{{ bench_out }}/reports",
        "mailops_verify_suggest": False,  # no discovery (did you mean): the lab's domains are not in the real DNS
        "mailops_clients": list(CLIENTS),
        "mailops_thunderbird_profiles_root": "{{ bench_out }}/{{ inventory_hostname }}/thunderbird/{user}",
        "mailops_thunderbird_create_profile": True,
        "mailops_thunderbird_owner": None,
        "mailops_thunderbird_become": False,
        "mailops_apple_mail_output_dir": "{{ bench_out }}/{{ inventory_hostname }}/apple_mail",
        "mailops_outlook_output_dir": "{{ bench_out }}/{{ inventory_hostname }}/outlook",
        "mailops_outlook_windows": False,
    }
    host_entries = {}
    for index in range(1, hosts + 1):
        name = f"h{index:04d}"
        accounts = []
        # one person with two addresses (two domains: a local Autodiscover file is chosen by domain)
        for number, domain in ((2 * index - 1, "example.test"), (2 * index, "example.org")):
            email = f"user{number:04d}@{domain}"
            accounts.append(
                {"email": email, "server": "lab", "display_name": f"User {number:04d}", "user": f"u{index:04d}"}
            )
        host_entries[name] = {"mailops_accounts": accounts}
    inventory = {"all": {"vars": group_vars, "children": {"clients": {"hosts": host_entries}}}}
    path = Path(workdir) / f"inventory-{hosts}.yml"
    path.write_text(json.dumps(inventory, indent=1), encoding="utf-8")
    return path


def write_floor(workdir):
    path = Path(workdir) / "floor.yml"
    path.write_text(FLOOR_PLAY.format(tasks="".join(FLOOR_TASK.format(client=c) for c in CLIENTS)), encoding="utf-8")
    return path


def _count_files(directory):
    return sum(1 for p in Path(directory).rglob("*") if p.is_file())


def _one(kind, workdir, inventory, forks, run_id):
    out = Path(workdir) / f"out-{run_id}"
    out.mkdir()
    playbook = "mailops.clients.provision" if kind == "ours" else str(Path(workdir) / "floor.yml")
    result = ansible_playbook(
        playbook,
        workdir,
        inventory=inventory,
        extra_vars={"bench_out": str(out)},
        forks=forks,
        timer=True,
        # a 1,000-host run on a loaded 2-core machine needs more than the default half hour
        timeout=int(os.environ.get("BENCH_P3_TIMEOUT", "1800")),
    )
    result["files"] = _count_files(out)
    shutil.rmtree(out, ignore_errors=True)
    for key in ("stdout", "stderr"):
        result.pop(key)
    return result


def _summary(runs, hosts):
    walls = [r["wall"] for r in runs]
    median = _stats.median(walls)
    return {
        "runs": len(runs),
        "median_s": median,
        "per_host_s": median / hosts,
        "files": runs[0]["files"],
        "max_rss_kib": max((r["max_rss_kib"] or 0) for r in runs) or None,
        "tree_rss_kib": max((r["tree_rss_kib"] or 0) for r in runs) or None,
        "cpu_s": _stats.median([r["cpu_s"] for r in runs]),
        "controller_rss_kib": max((r.get("tasks") or {}).get("controller_rss_kib") or 0 for r in runs) or None,
    }


def _memory_tasks(runs, limit=6):
    """The tasks over which the controller process grew most (last run): each forked worker shares those pages."""
    timer = runs[-1].get("tasks") or {}
    rows = sorted(timer.get("tasks") or [], key=lambda t: t.get("rss_growth_kib") or 0, reverse=True)
    return [{"task": t["task"], "rss_growth_kib": t["rss_growth_kib"]} for t in rows[:limit] if t.get("rss_growth_kib")]


def _top_tasks(runs, limit=14):
    """The slowest tasks (wall, median run) of the last run, and the share of the play they take."""
    timer = runs[-1].get("tasks") or {}
    total = timer.get("total") or 0
    rows = []
    for task in (timer.get("tasks") or [])[:limit]:
        rows.append({**task, "share": task["wall"] / total if total else None})
    return {"total": total, "tasks": rows}


def measure(lab, workdir, sizes, forks_list, repeat):
    write_floor(workdir)
    results = {"sizes": {}, "forks": list(forks_list), "repeat": repeat}
    run_id = 0
    for hosts in sizes:
        inventory = write_inventory(workdir, lab, hosts)
        for forks in forks_list:
            runs = {"ours": [], "floor": []}
            for rep in range(repeat):
                order = ("ours", "floor") if rep % 2 == 0 else ("floor", "ours")
                for kind in order:
                    run_id += 1
                    log(f"P3 {kind} {hosts} hosts forks {forks} (run {rep + 1}/{repeat})")
                    runs[kind].append(_one(kind, workdir, inventory, forks, run_id))
            ours, floor = _summary(runs["ours"], hosts), _summary(runs["floor"], hosts)
            entry = {
                "hosts": hosts,
                "forks": forks,
                "ours": ours,
                "floor": floor,
                "ratio": _stats.ratio(ours["median_s"], floor["median_s"]),
                "rss_ratio": _stats.ratio(ours["tree_rss_kib"], floor["tree_rss_kib"]),
                "profile_ours": _top_tasks(runs["ours"]),
                "memory_ours": _memory_tasks(runs["ours"]),
                "profile_floor": _top_tasks(runs["floor"], limit=5),
            }
            results["sizes"].setdefault(str(hosts), {})[str(forks)] = entry
            log(
                f"P3 {hosts} hosts forks {forks}: ours {_stats.format_seconds(ours['median_s'])} "
                f"({ours['files']} files), floor {_stats.format_seconds(floor['median_s'])} "
                f"({floor['files']} files): {_stats.format_ratio(entry['ratio'])}; peak RSS of the process tree "
                f"{_stats.format_mib(ours['tree_rss_kib'])} vs {_stats.format_mib(floor['tree_rss_kib'])}: "
                f"{_stats.format_ratio(entry['rss_ratio'])}"
            )
    return results


def fits(results):
    """Per forks: least-squares fixed cost + per-host cost for ours and the floor, across the sizes measured."""
    out = {}
    for forks in results["forks"]:
        points = {"ours": [], "floor": []}
        for entries in results["sizes"].values():
            entry = entries.get(str(forks))
            if entry:
                for kind in points:
                    points[kind].append((entry["hosts"], entry[kind]["median_s"]))
        if len(points["ours"]) >= 2:
            out[str(forks)] = {
                kind: dict(zip(("fixed_s", "per_host_s"), _stats.linear_fit(p))) for kind, p in points.items()
            }
    return out


def run(lab, workdir, sizes, forks_list, repeat, extra_size=None, budget_s=600):
    results = measure(lab, workdir, sizes, forks_list, repeat)
    results["fit"] = fits(results)
    if extra_size and results["fit"]:
        # the extra (large) size only when the fitted time of one ours + one floor run at the best forks fits
        best = min(results["fit"], key=lambda f: results["fit"][f]["ours"]["per_host_s"])
        fit = results["fit"][best]
        estimate = sum(fit[k]["fixed_s"] + fit[k]["per_host_s"] * extra_size for k in ("ours", "floor"))
        results["extra"] = {"hosts": extra_size, "forks": int(best), "estimate_s": estimate, "budget_s": budget_s}
        if estimate <= budget_s:
            extra = measure(lab, workdir, [extra_size], [int(best)], 1)
            results["sizes"].update(extra["sizes"])
            results["extra"]["ran"] = True
        else:
            results["extra"]["ran"] = False
            log(f"P3 {extra_size} hosts skipped: estimated {estimate:.0f}s > budget {budget_s}s")
    largest = str(max(int(s) for s in results["sizes"]))
    results["targets"] = []
    for forks, entry in results["sizes"][largest].items():
        results["targets"] += [
            {
                "what": f"P3 ours / copy floor, {largest} hosts, forks {forks}",
                "kind": "max",
                "value": 1.5,
                "measured": entry["ratio"],
            },
            {
                "what": f"P3 peak summed RSS of the process tree, ours / copy floor, {largest} hosts, forks {forks}",
                "kind": "max",
                "value": 1.3,
                "measured": entry.get("rss_ratio"),
            },
        ]
    small, large = min(sizes), max(sizes)
    if small != large:
        results["scaling"] = {
            forks: {
                kind: _stats.scaling(
                    small,
                    results["sizes"][str(small)][forks][kind]["median_s"],
                    large,
                    results["sizes"][str(large)][forks][kind]["median_s"],
                )
                for kind in ("ours", "floor")
            }
            for forks in results["sizes"][str(small)]
            if forks in results["sizes"][str(large)]
        }
    return results

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""P2 credential sweep: N lab accounts checked by one module task with ``accounts:`` (through ansible-playbook)
vs an Ansible loop of one task per account vs a raw concurrent floor (threads doing the protocol's own
login with the standard library at the same concurrency), for IMAP, POP3 and SMTP AUTH.

Also run as ``python -m benchmarks.p2_sweep floor|engine PROTOCOL HOST PORT CA CONCURRENCY`` with the accounts
as JSON on stdin: the floor and the in-process engine run in their own process so their peak RSS is their own.
"""

from __future__ import annotations

import imaplib
import json
import poplib
import smtplib
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks import _stats
from benchmarks._harness import REPO, ansible_playbook, log, run_measured, verified_context

HELO = "bench.example.test"
# protocol -> (lab port name, security, module)
ENDPOINTS = {
    "imap": ("imaps", "tls", "mailops.clients.imap_server_info"),
    "pop3": ("pop3s", "tls", "mailops.clients.pop3_server_info"),
    "smtp": ("submission", "starttls", "mailops.clients.smtp_server_info"),
}


# --- the floor and the engine (subprocess side) ------------------------------------------------------
def _floor_login(protocol, host, port, context):
    if protocol == "imap":

        def login(username, password):
            client = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=30)
            client.login(username, password)
            client.logout()

    elif protocol == "pop3":

        def login(username, password):
            client = poplib.POP3_SSL(host, port, context=context, timeout=30)
            client.user(username)
            client.pass_(password)
            client.quit()

    else:

        def login(username, password):
            client = smtplib.SMTP(host, port, local_hostname=HELO, timeout=30)
            client.ehlo()
            client.starttls(context=context)
            client.ehlo()
            client.login(username, password)
            client.quit()

    return login


def floor_sweep(protocol, host, port, ca_path, concurrency, accounts):
    """Threads doing bare standard-library logins, ``concurrency`` at a time, one shared verified context."""
    login = _floor_login(protocol, host, port, verified_context(ca_path))
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda account: login(*account), accounts))
    return len(accounts)


def engine_sweep(protocol, host, port, ca_path, concurrency, accounts):
    """The module's engine in-process: validate() + run_checks() with accounts (no Ansible around it)."""
    from ansible_collections.mailops.clients.plugins.module_utils._connection import validate
    from ansible_collections.mailops.clients.plugins.module_utils._probe import run_checks

    params = {"host": host, "port": port, "security": ENDPOINTS[protocol][1], "ca_path": ca_path}
    params["accounts"] = [{"username": u, "password": p} for u, p in accounts]
    params["concurrency"] = concurrency
    if protocol == "smtp":
        params["helo_name"] = HELO
    result = run_checks(validate(params, protocol))
    ok = sum(1 for account in result["accounts"] if account["verdict"] == "ok")
    if ok != len(accounts):
        raise RuntimeError(f"engine sweep: {ok}/{len(accounts)} accounts ok: {result['findings']}")
    return ok


def main(argv=None):
    mode, protocol, host, port, ca_path, concurrency = (argv or sys.argv[1:])[:6]
    accounts = json.load(sys.stdin)
    func = floor_sweep if mode == "floor" else engine_sweep
    start = time.perf_counter()
    count = func(protocol, host, int(port), ca_path, int(concurrency), accounts)
    print(json.dumps({"elapsed": time.perf_counter() - start, "accounts": count}))
    return 0


# --- the benchmark (runner side) ---------------------------------------------------------------------
def _sub(mode, protocol, lab, concurrency, accounts):
    port_name = ENDPOINTS[protocol][0]
    cmd = [sys.executable, "-m", "benchmarks.p2_sweep", mode, protocol, lab.host, str(lab.ports[port_name])]
    cmd += [lab.ca_path, str(concurrency)]
    result = run_measured(cmd, cwd=REPO, stdin_data=json.dumps(accounts).encode(), timeout=900, sample_interval=0.25)
    if result["rc"] != 0:
        raise RuntimeError(f"{mode} sweep exited {result['rc']}: {result['stderr'][-2000:]}")
    result["inner"] = json.loads(result["stdout"])["elapsed"]
    return result


def _module_args(protocol, lab):
    port_name, security, module = ENDPOINTS[protocol]
    args = {"host": lab.host, "port": lab.ports[port_name], "security": security, "ca_path": lab.ca_path}
    if protocol == "smtp":
        args["helo_name"] = HELO
    return module, args


def write_playbooks(workdir, protocol, lab, concurrency):
    """sweep.yml (one task, accounts:), loop.yml (one task per account), probe.yml (the endpoint only)."""
    module, args = _module_args(protocol, lab)
    base = "".join(f"        {key}: {json.dumps(value)}\n" for key, value in args.items())
    head = "- name: P2\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
    sweep = (
        f"{head}    - name: Check every account in one task\n      {module}:\n{base}"
        '        accounts: "{{ bench_accounts }}"\n'
        f"        concurrency: {concurrency}\n"
        # the module's own check: any warning or error (an account that fails is an error) fails the task
        "        fail_on: warning\n"
    )
    loop = (
        f"{head}    - name: Check one account per task\n      {module}:\n{base}"
        '        username: "{{ item.username }}"\n'
        '        password: "{{ item.password }}"\n'
        "        fail_on: error\n"
        '      loop: "{{ bench_accounts }}"\n'
        "      loop_control:\n"
        '        label: "{{ item.username }}"\n'
    )
    probe = f"{head}    - name: Check the endpoint only\n      {module}:\n{base}        fail_on: error\n"
    paths = {}
    for name, text in (("sweep", sweep), ("loop", loop), ("probe", probe)):
        paths[name] = Path(workdir) / f"{protocol}-{name}.yml"
        paths[name].write_text(text, encoding="utf-8")
    return paths


def _summary(label, runs, size, key="wall"):
    walls = [r[key] for r in runs]
    return {
        "variant": label,
        "accounts": size,
        "runs": len(runs),
        "median_s": _stats.median(walls),
        "per_account_s": _stats.median(walls) / size if size else None,
        "max_rss_kib": max((r["max_rss_kib"] or 0) for r in runs) or None,
        "tree_rss_kib": max((r["tree_rss_kib"] or 0) for r in runs) or None,
    }


def run_protocol(lab, workdir, protocol, sizes, loop_sizes, repeat, concurrency, loop_repeat=1):
    users = [{"username": u, "password": p} for u, p in lab.users.items() if u.startswith("user")]
    pairs = [(a["username"], a["password"]) for a in users]
    books = write_playbooks(workdir, protocol, lab, concurrency)
    largest = max(list(sizes) + list(loop_sizes))
    log(f"P2 {protocol}: warm-up (every mailbox created once) with the floor at {largest} accounts")
    _sub("floor", protocol, lab, concurrency, pairs[:largest])
    out = {"sizes": {}, "loop": {}}
    probe_runs = []
    for size in sizes:
        runs = {"ours": [], "floor": [], "engine": []}
        loop_runs = []
        loop_size = size if size in loop_sizes else None
        for rep in range(repeat):
            steps = [
                (
                    "ours",
                    lambda s=size: ansible_playbook(books["sweep"], workdir, extra_vars={"bench_accounts": users[:s]}),
                ),
                ("floor", lambda s=size: _sub("floor", protocol, lab, concurrency, pairs[:s])),
                ("engine", lambda s=size: _sub("engine", protocol, lab, concurrency, pairs[:s])),
            ]
            if rep == 0:
                steps.append(("probe", lambda: ansible_playbook(books["probe"], workdir)))
            if loop_size and rep < loop_repeat:
                steps.append(
                    (
                        "loop",
                        lambda s=size: ansible_playbook(
                            books["loop"], workdir, extra_vars={"bench_accounts": users[:s]}
                        ),
                    )
                )
            for name, step in steps if rep % 2 == 0 else steps[::-1]:
                result = step()
                (loop_runs if name == "loop" else probe_runs if name == "probe" else runs[name]).append(result)
        ours = _summary("ours: one task with accounts (ansible-playbook)", runs["ours"], size)
        floor = _summary("raw floor: threads + stdlib logins (own process)", runs["floor"], size)
        engine = _summary("engine in-process, no Ansible (own process)", runs["engine"], size)
        engine["inner_median_s"] = _stats.median([r["inner"] for r in runs["engine"]])
        floor["inner_median_s"] = _stats.median([r["inner"] for r in runs["floor"]])
        entry = {"ours": ours, "floor": floor, "engine": engine}
        entry["ratio_to_floor"] = _stats.ratio(ours["median_s"], floor["median_s"])
        entry["engine_ratio_to_floor"] = _stats.ratio(engine["median_s"], floor["median_s"])
        if loop_runs:
            out["loop"][size] = _summary("Ansible loop: one task per account", loop_runs, size)
        out["sizes"][size] = entry
        log(
            f"P2 {protocol} {size}: ours {_stats.format_seconds(ours['median_s'])}, floor "
            f"{_stats.format_seconds(floor['median_s'])} ({_stats.format_ratio(entry['ratio_to_floor'])})"
        )
    for size in loop_sizes:
        if size not in out["loop"]:
            runs = [ansible_playbook(books["loop"], workdir, extra_vars={"bench_accounts": users[:size]})]
            out["loop"][size] = _summary("Ansible loop: one task per account", runs, size)
    out["probe_only"] = _summary("one task, endpoint only (Ansible fixed cost)", probe_runs, 0)
    # loop vs ours at each sweep size: measured when the loop ran at that size, else linear from the largest loop
    biggest_loop = out["loop"][max(out["loop"])]
    for size, entry in out["sizes"].items():
        loop = out["loop"].get(size)
        loop_time = loop["median_s"] if loop else biggest_loop["per_account_s"] * size
        entry["loop_s"] = loop_time
        entry["loop_basis"] = "measured" if loop else f"extrapolated from {biggest_loop['accounts']} accounts"
        entry["speedup_vs_loop"] = _stats.ratio(loop_time, entry["ours"]["median_s"])
    small, large = min(out["sizes"]), max(out["sizes"])
    if small != large:
        out["scaling"] = {
            "ours": _stats.scaling(
                small, out["sizes"][small]["ours"]["median_s"], large, out["sizes"][large]["ours"]["median_s"]
            ),
            "floor": _stats.scaling(
                small, out["sizes"][small]["floor"]["median_s"], large, out["sizes"][large]["floor"]["median_s"]
            ),
        }
    return out


def run(lab, workdir, protocols, sizes, loop_sizes, repeat, concurrency):
    results = {"concurrency": concurrency, "repeat": repeat, "protocols": {}}
    for protocol in protocols:
        results["protocols"][protocol] = run_protocol(lab, workdir, protocol, sizes, loop_sizes, repeat, concurrency)
    largest = max(sizes)
    results["targets"] = []
    for protocol, data in results["protocols"].items():
        entry = data["sizes"][largest]
        results["targets"] += [
            {
                "what": f"P2 {protocol}: speed-up vs the Ansible loop at {largest} accounts ({entry['loop_basis']})",
                "kind": "min",
                "value": 20.0,
                "measured": entry["speedup_vs_loop"],
            },
            {
                "what": f"P2 {protocol}: ours / raw floor at {largest} accounts",
                "kind": "max",
                "value": 1.5,
                "measured": entry["ratio_to_floor"],
            },
        ]
    return results


if __name__ == "__main__":
    sys.exit(main())

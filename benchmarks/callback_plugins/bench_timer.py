# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark-only callback: per-task wall time, summed per-host time and controller memory growth, as JSON.

Enabled by the benchmarks (ANSIBLE_CALLBACK_PLUGINS=benchmarks/callback_plugins,
ANSIBLE_CALLBACKS_ENABLED=bench_timer); the output file is MAILOPS_BENCH_TIMER_OUT. Tasks are grouped
by role and name, so the copies include_role makes for each batch of hosts add up under one line.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_timer
type: aggregate
short_description: Per-task timings for the mailops.clients benchmarks
description:
  - Records, per task name, the wall time from the task's start to the next task's start, the summed
    per-host run time and how much the resident memory of the controller process grew over that span, and
    writes them as JSON to the file named by E(MAILOPS_BENCH_TIMER_OUT).
requirements:
  - enable in configuration
"""


def _rss_kib():
    """VmRSS of this process, 0 when unknown. Callbacks run in ansible-playbook's main process, whose pages every
    forked worker shares: its growth is what the summed RSS of the process tree multiplies by the forks."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tasks = {}
        self._current = None
        self._current_start = None
        self._current_rss = 0
        self._host_start = {}
        self._play_start = time.perf_counter()

    @staticmethod
    def _key(task):
        return task.get_name()  # "<role> : <name>" for role tasks

    def _entry(self, key):
        return self._tasks.setdefault(
            key, {"task": key, "wall": 0.0, "host_time": 0.0, "runs": 0, "starts": 0, "rss_growth_kib": 0}
        )

    def _close_current(self):
        if self._current is not None:
            entry = self._entry(self._current)
            entry["wall"] += time.perf_counter() - self._current_start
            entry["rss_growth_kib"] += _rss_kib() - self._current_rss
        self._current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close_current()
        self._current = self._key(task)
        self._current_start = time.perf_counter()
        self._current_rss = _rss_kib()
        self._entry(self._current)["starts"] += 1

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_runner_on_start(self, host, task):
        self._host_start[(host.get_name(), task._uuid)] = time.perf_counter()

    def _finish(self, result):
        start = self._host_start.pop((result._host.get_name(), result._task._uuid), None)
        if start is not None:
            entry = self._entry(self._key(result._task))
            entry["host_time"] += time.perf_counter() - start
            entry["runs"] += 1

    def v2_runner_on_ok(self, result):
        self._finish(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._finish(result)

    def v2_runner_on_skipped(self, result):
        self._finish(result)

    def v2_runner_on_unreachable(self, result):
        self._finish(result)

    def v2_playbook_on_stats(self, stats):
        self._close_current()
        path = os.environ.get("MAILOPS_BENCH_TIMER_OUT")
        if not path:
            return
        tasks = sorted(self._tasks.values(), key=lambda t: t["wall"], reverse=True)
        data = {"total": time.perf_counter() - self._play_start, "tasks": tasks, "controller_rss_kib": _rss_kib()}
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The renderer actions (one base, plugin_utils/_renderer_action.py) send no task arguments back to the
controller, which would keep every host's until the last host finished the task (at 1,000 hosts the largest part
of the controller's memory, benchmarks P3); a task with until/retries keeps them, because it runs again.

What the controller receives is read by a callback plugin, as any callback would see it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CALLBACK = '''
import json, os
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: taskargs
type: aggregate
short_description: record the task arguments that come back with each result
description: test helper
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "taskargs"
    CALLBACK_NEEDS_ENABLED = True

    def v2_runner_on_ok(self, result):
        fields = getattr(result, "task_fields", None) or getattr(result, "_task_fields", None) or {}
        with open(os.environ["TASKARGS_OUT"], "a", encoding="utf-8") as out:
            out.write(json.dumps({"task": result._task.get_name(), "args": sorted(fields.get("args") or {})}) + "\\n")
'''

PLAY = """
- hosts: localhost
  gather_facts: false
  vars:
    servers:
      example:
        incoming: {protocol: imap, host: mail.example.test, security: tls}
        outgoing: {host: mail.example.test, security: starttls}
    accounts: [{email: alice@example.test, server: example, user: alice}]
  tasks:
    - name: Render once
      mailops.clients.apple_mail_profiles:
        accounts: "{{ accounts | mailops.clients.mail_accounts_normalize(servers, host='h') }}"
        gate: {allow_unverified: true}
        dest_dir: "{{ out }}/once"
    - name: Render with retries
      mailops.clients.apple_mail_profiles:
        accounts: "{{ accounts | mailops.clients.mail_accounts_normalize(servers, host='h') }}"
        gate: {allow_unverified: true}
        dest_dir: "{{ out }}/retries"
      register: rendered
      until: rendered is succeeded
      retries: 2
      delay: 0
"""


def test_no_task_arguments_come_back_unless_the_task_retries(tmp_path, ansible_env):
    (tmp_path / "callbacks").mkdir()
    (tmp_path / "callbacks" / "taskargs.py").write_text(CALLBACK, encoding="utf-8")
    (tmp_path / "play.yml").write_text(PLAY, encoding="utf-8")
    record = tmp_path / "args.jsonl"
    env = dict(
        ansible_env,
        ANSIBLE_CALLBACK_PLUGINS=str(tmp_path / "callbacks"),
        ANSIBLE_CALLBACKS_ENABLED="taskargs",
        TASKARGS_OUT=str(record),
    )
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        str(tmp_path / "play.yml"),
        "-e",
        f"out={tmp_path}",
    ]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert any((tmp_path / "once").glob("*.mobileconfig")), os.listdir(tmp_path)
    seen = {row["task"]: row["args"] for row in map(json.loads, record.read_text(encoding="utf-8").splitlines())}
    assert seen["Render once"] == []
    assert seen["Render with retries"] == ["accounts", "dest_dir", "gate"]

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make build` produces a tarball that installs and runs: what a user gets from Galaxy or a file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def built_tarball(tmp_path_factory):
    output = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(output), str(REPO_ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    tarballs = list(output.glob("mailops-clients-*.tar.gz"))
    assert len(tarballs) == 1
    return tarballs[0]


def test_tarball_holds_the_collection_and_not_the_development_tree(built_tarball):
    with tarfile.open(built_tarball) as tar:
        names = set(tar.getnames())
    assert {"MANIFEST.json", "FILES.json", "README.md", "meta/runtime.yml"} <= names
    assert "plugins/modules/imap_server_info.py" in names
    top_level = {name.split("/")[0] for name in names}
    leaked = sorted(top_level & {".venv", "build", "tools", ".ci", "benchmarks", ".hypothesis", "mk", "extensions"})
    assert leaked == []


def test_installed_tarball_runs_a_module_by_fqcn(built_tarball, tmp_path, mail_lab):
    collections = tmp_path / "collections"
    install = subprocess.run(
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "--force",
            "-p",
            str(collections),
            str(built_tarball),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections)),
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    assert (collections / "ansible_collections" / "mailops" / "clients" / "MANIFEST.json").exists()

    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    env["ANSIBLE_PYTHON_INTERPRETER"] = sys.executable
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.minimal"
    env["ANSIBLE_NOCOLOR"] = "true"
    args = {
        "host": mail_lab.host,
        "port": mail_lab.ports["imaps"],
        "security": "tls",
        "ca_path": mail_lab.ca_path,
        "server_name": mail_lab.hostname,
    }
    run = subprocess.run(
        [
            str(BIN / "ansible"),
            "localhost",
            "-c",
            "local",
            "-m",
            "mailops.clients.imap_server_info",
            "-a",
            json.dumps(args),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # minimal callback: "localhost | SUCCESS => {...}"
    assert run.stdout.startswith("localhost | SUCCESS => "), run.stdout
    result = json.loads(run.stdout.split("=> ", 1)[1])
    assert result["verdict"] == "ok"
    assert result["changed"] is False
    assert result["certificate"]["chain_verified"] is True
    assert result["endpoint"]["port"] == mail_lab.ports["imaps"]

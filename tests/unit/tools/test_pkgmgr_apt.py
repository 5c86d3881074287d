# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tools/ee/pkgmgr-apt: ansible-builder's dnf-style package manager calls, answered with apt-get.

A recording apt-get stand-in on PATH; the calls are the ones ansible-builder's assemble and install-from-bindep
scripts make (``$PKGMGR install -y $PKGMGR_OPTS packages``). ``clean all`` is not run here: it empties this
machine's /var/lib/apt/lists (the image build runs it).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SHIM = Path(__file__).resolve().parents[3] / "tools" / "ee" / "pkgmgr-apt"


@pytest.fixture
def run(tmp_path):
    """Run the shim with an apt-get that records its arguments (one call per line) and exits 0."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "calls"
    fake = bin_dir / "apt-get"
    fake.write_text(f'#!/bin/sh\necho "$DEBIAN_FRONTEND $*" >> {record}\n', encoding="utf-8")
    fake.chmod(0o755)

    def call(*args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
        env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        env.pop("DEBIAN_FRONTEND", None)
        result = subprocess.run(["sh", str(SHIM), *args], env=env, capture_output=True, text=True, check=False)
        calls = record.read_text(encoding="utf-8").splitlines() if record.exists() else []
        return result, calls

    return call


@pytest.mark.parametrize(
    "args",
    [
        ["install", "-y", "ca-certificates", "openssl"],
        ["install", "-y", "--nodocs", "--setopt", "install_weak_deps=0", "ca-certificates", "openssl"],
        ["install", "-y", "--setopt=install_weak_deps=0", "--enablerepo", "epel", "ca-certificates", "openssl"],
    ],
)
def test_install_drops_dnf_options_and_installs_the_packages(run, args):
    result, calls = run(*args)
    assert result.returncode == 0, result.stderr
    assert calls == [
        "noninteractive update -qq",
        "noninteractive install -y -qq --no-install-recommends ca-certificates openssl",
    ]


def test_install_without_packages_does_nothing(run):
    result, calls = run("install", "-y")
    assert (result.returncode, calls) == (0, [])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["upgrade", "-y"], "pkgmgr-apt: unsupported command: upgrade (only 'install' and 'clean all')"),
        ([], "pkgmgr-apt: unsupported command: <none> (only 'install' and 'clean all')"),
        (["install", "--best", "openssl"], "pkgmgr-apt: unsupported install option: --best"),
    ],
)
def test_other_calls_fail_the_build_loudly(run, args, message):
    result, calls = run(*args)
    assert (result.returncode, result.stderr.strip(), calls) == (2, message, [])

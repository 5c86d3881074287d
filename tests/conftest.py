# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pytest set-up: the collection on the import path, the mail lab, and an ansible-playbook runner."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Ansible loads the collection from <path>/ansible_collections/mailops/clients; a symlink to the
# checkout is enough for imports and ansible-playbook (ansible-test needs a real copy: see Makefile).
COLLECTIONS_DIR = REPO_ROOT / "build" / "collections"
_LINK = COLLECTIONS_DIR / "ansible_collections" / "mailops" / "clients"
if not _LINK.exists():
    _LINK.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # another xdist worker won the race
        _LINK.symlink_to(REPO_ROOT, target_is_directory=True)
sys.path.insert(0, str(COLLECTIONS_DIR))
sys.path.insert(0, str(REPO_ROOT / "tools"))
# shared test helpers: tests/support (faultservers, for unit and integration tests alike); tests/integration
# (ansible_recap, homeattack, for integration tests)
sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))
sys.path.insert(0, str(REPO_ROOT / "tests" / "support"))

from maillab import MailLab  # noqa: E402  (needs tools/ on sys.path)


def _free_port_offset() -> int:
    """The first offset (100, 200, ...) whose lab ports are all free: parallel runs must not collide."""
    from maillab import BASE_PORTS

    for offset in range(100, 5000, 100):
        sockets = []
        try:
            for port in BASE_PORTS.values():
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", port + offset))
            return offset
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free port range for the mail lab between 10100 and 15000")


@pytest.fixture(scope="session")
def mail_lab():
    """A started mail lab for the whole test session, stopped (no leftover processes) at the end."""
    # pytest's tmp_path is 0700: Postfix and Dovecot's unprivileged processes must traverse the dir.
    root = Path(tempfile.mkdtemp(prefix="mailops-lab-"))
    root.chmod(0o755)
    offset = int(os.environ.get("MAILOPS_LAB_PORT_OFFSET", "0")) or _free_port_offset()
    lab = MailLab(root=root, port_offset=offset)
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()
        shutil.rmtree(root, ignore_errors=True)


class PostfixWithoutAuth(MailLab):
    """The lab's Postfix alone, its submission ports with SASL switched off (smtpd_sasl_auth_enable = no)."""

    def _write_postfix(self) -> None:
        super()._write_postfix()
        master = self.postfix_dir / "master.cf"
        text = master.read_text()
        assert "-o smtpd_sasl_auth_enable=yes" in text
        master.write_text(text.replace("-o smtpd_sasl_auth_enable=yes", "-o smtpd_sasl_auth_enable=no"))


@pytest.fixture(scope="session")
def noauth_postfix():
    """A second, real Postfix whose submission ports offer no AUTH: a login there cannot be checked."""
    root = Path(tempfile.mkdtemp(prefix="mailops-noauth-"))
    root.chmod(0o755)
    lab = PostfixWithoutAuth(root, port_offset=_free_port_offset(), services=("postfix",))
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def ansible_env():
    """Environment for ansible-playbook/ansible-doc that loads this checkout as mailops.clients."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_DIR),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_HOST_KEY_CHECKING": "false",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_NOCOLOR": "true",
            "ANSIBLE_FORCE_COLOR": "false",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    return env


@pytest.fixture
def ansible_playbook(tmp_path, ansible_env):
    """Run a playbook (YAML text) with ansible-playbook; returns the CompletedProcess.

    Usage: ``result = ansible_playbook(text, extra_vars={...}, verbosity=0, check=False)``;
    ``result.stdout`` / ``result.stderr`` hold everything Ansible printed.

    The playbook's directory gets ``group_vars/all.yml`` with ``mailops_verify_suggest: false``: a failing endpoint
    must not send the verify role's discovery to the system resolver and the domain's real URLs. A test that wants
    it sets the variable in the play (play vars win over playbook group_vars/all, inventory group_vars/all do not).
    """
    group_vars = tmp_path / "group_vars"
    group_vars.mkdir(exist_ok=True)
    if not (group_vars / "all.yml").exists():
        (group_vars / "all.yml").write_text("mailops_verify_suggest: false\n", encoding="utf-8")

    def run(
        playbook: str,
        extra_vars: dict | None = None,
        verbosity: int = 0,
        check: bool = False,
        inventory: str = "localhost,",
        extra_args: list[str] | None = None,
        timeout: int = 600,
    ):
        path = tmp_path / f"play-{len(list(tmp_path.glob('play-*.yml')))}.yml"
        path.write_text(playbook, encoding="utf-8")
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", inventory, str(path)]
        if inventory == "localhost,":
            cmd += ["-c", "local"]
        if extra_vars:
            vars_file = tmp_path / f"vars-{path.stem}.json"
            vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
            cmd += ["-e", f"@{vars_file}"]
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        if check:
            cmd.append("--check")
        cmd += extra_args or []
        return subprocess.run(cmd, env=ansible_env, capture_output=True, text=True, timeout=timeout, check=False)

    return run


@pytest.fixture
def users():
    """Throwaway local users (homeattack.Users), removed with their homes afterwards."""
    from homeattack import throwaway_users

    yield from throwaway_users()


@pytest.fixture
def decoys():
    """Root-owned decoy directories outside every home (homeattack.Decoy), removed afterwards."""
    from homeattack import decoy_factory

    yield from decoy_factory()

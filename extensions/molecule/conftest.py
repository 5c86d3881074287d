# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared by the testinfra tests of every Molecule scenario (pytest finds this file above each
scenario's tests/ directory).

Molecule's verifier runs pytest with MOLECULE_INVENTORY_FILE and MOLECULE_EPHEMERAL_DIRECTORY set; the
containers are reached with testinfra's podman backend (``podman exec``), the controller locally.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import NamedTuple

import pytest
import testinfra
import yaml

# One preference statement per line, as Thunderbird writes prefs.js and the role writes user.js and the .cfg.
_STRING = r'"(?:[^"\\]|\\.)*"'
_PREF_LINE = re.compile(
    rf"^\s*(?:user_pref|pref|defaultPref|lockPref)\(({_STRING}),\s*({_STRING}|-?\d+|true|false)\);\s*$"
)


def parse_pref_lines(text: str) -> dict:
    """Name to value of every one-line preference statement with a literal value in ``text`` (later lines win).

    Strings are decoded as JSON, which covers the escapes the role writes (quote, backslash, newline,
    \\uXXXX and surrogate pairs); true/false and integers are JSON too.
    """
    prefs = {}
    for line in text.splitlines():
        match = _PREF_LINE.match(line)
        if match:
            prefs[json.loads(match.group(1))] = json.loads(match.group(2))
    return prefs


class Stat(NamedTuple):
    kind: str  # stat's %F: "regular file", "directory", "symbolic link", ...
    user: str
    group: str
    mode: int


def stat_files(host, *paths: str) -> dict[str, Stat]:
    """Type, owner, group and permission bits of ``paths`` on a testinfra host, in one command.

    Every command in a container is a ``podman exec`` (about half a second on a busy machine), and
    testinfra's File asks for each attribute separately: one ``stat`` for many files keeps verify short.
    """
    out = host.check_output("stat -c '%%F|%%U|%%G|%%a|%%n' --" + " %s" * len(paths), *paths)
    result = {}
    for line in out.splitlines():
        kind, user, group, mode, name = line.split("|", 4)
        result[name] = Stat(kind, user, group, int(mode, 8))
    return result


def _group_hosts(group: str) -> list[str]:
    inventory = yaml.safe_load(Path(os.environ["MOLECULE_INVENTORY_FILE"]).read_text(encoding="utf-8"))
    return sorted((inventory.get(group) or {}).get("hosts") or {})


def _container(group: str):
    names = _group_hosts(group)
    assert len(names) == 1, f"expected one host in group {group}, the inventory has {names}"
    return testinfra.get_host(f"podman://{names[0]}")


@pytest.fixture(scope="session")
def ephemeral_dir() -> Path:
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])


@pytest.fixture(scope="session")
def lab(ephemeral_dir) -> dict:
    """The mailhost lab's description (ports after the offset, users, CA path), left by prepare."""
    return json.loads((ephemeral_dir / "lab" / "lab.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def lab_ca_pem(ephemeral_dir) -> str:
    return (ephemeral_dir / "lab" / "ca.crt").read_text(encoding="ascii")


@pytest.fixture(scope="session")
def prefs_of():
    """``prefs_of(text)``: the preferences of a prefs.js/user.js/.cfg text (see parse_pref_lines)."""
    return parse_pref_lines


@pytest.fixture(scope="session")
def stats():
    """``stats(host, *paths)``: {path: Stat(kind, user, group, mode)} in one command (see stat_files)."""
    return stat_files


@pytest.fixture(scope="session")
def client():
    """The client container (group ``clients``)."""
    return _container("clients")


@pytest.fixture(scope="session")
def mailhost():
    """The mailhost container (group ``mailhost``)."""
    return _container("mailhost")


@pytest.fixture(scope="session")
def controller():
    """The machine Molecule runs on: where the verify role writes its reports."""
    return testinfra.get_host("local://")

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from ansible_collections.mailops.clients.plugins.module_utils import _python_floor

ROOT = Path(__file__).resolve().parents[4]
# The modules that run on managed nodes (the *_profiles modules are documentation of action plugins).
NODE_MODULES = ["imap_server_info", "pop3_server_info", "smtp_server_info", "mail_roundtrip", "rendered_files"]


def test_below_the_floor_fails_with_a_result(monkeypatch, capsys):
    monkeypatch.setattr(_python_floor.sys, "version_info", (3, 6, 8, "final", 0))
    monkeypatch.setattr(_python_floor.sys, "executable", "/usr/libexec/platform-python")
    with pytest.raises(SystemExit) as exc:
        _python_floor.require_python()
    assert exc.value.code == 1
    assert json.loads(capsys.readouterr().out) == {
        "failed": True,
        "msg": "mailops.clients modules need Python 3.7 or later on the managed node; /usr/libexec/platform-python "
        "is Python 3.6.8: set ansible_python_interpreter to a newer Python on this host",
    }


def test_at_the_floor_passes(monkeypatch, capsys):
    monkeypatch.setattr(_python_floor.sys, "version_info", (3, 7, 0, "final", 0))
    _python_floor.require_python()
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "path", ["plugins/module_utils/_python_floor.py"] + [f"plugins/modules/{m}.py" for m in NODE_MODULES]
)
def test_parseable_below_the_floor(path):
    source = (ROOT / path).read_text(encoding="utf-8")
    tree = ast.parse(source, feature_version=(3, 6))
    futures = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    assert futures == []


@pytest.mark.parametrize("module", NODE_MODULES)
def test_floor_checked_before_other_module_utils(module):
    tree = ast.parse((ROOT / f"plugins/modules/{module}.py").read_text(encoding="utf-8"))
    ours = [
        n.module.rsplit(".", 1)[1]
        for n in tree.body
        if isinstance(n, ast.ImportFrom) and n.module.startswith("ansible_collections.mailops.clients.plugins")
    ]
    assert ours[0] == "_python_floor"
    calls = [i for i, n in enumerate(tree.body) if isinstance(n, ast.Expr) and ast.unparse(n) == "require_python()"]
    second_import = next(
        i
        for i, n in enumerate(tree.body)
        if isinstance(n, ast.ImportFrom)
        and n.module.startswith("ansible_collections.mailops.clients.plugins.module_utils")
        and n.module.rsplit(".", 1)[1] != "_python_floor"
    )
    assert calls and calls[0] < second_import

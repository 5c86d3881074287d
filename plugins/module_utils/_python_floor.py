# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The oldest Python the modules run on (managed nodes), checked before anything that needs it is imported.

The other module_utils start with ``from __future__ import annotations`` (Python 3.7, PEP 563), which an older
Python refuses at compile time: without this check a module run by an old interpreter (an enterprise Linux's
platform Python 3.6 behind ansible-core 2.16) dies with a SyntaxError traceback. Each module that runs on a node
calls ``require_python()`` before its other module_utils imports, so this file and the modules' entry files stay
parseable by Python 3.6 (no ``from __future__ import annotations`` there). The floor is also in meta/runtime.yml's
comment, tests/config.yml (ansible-test's ``python_requires``) and the README.
"""

import json
import sys

PYTHON_FLOOR = (3, 7)


def floor_message(version_info, executable):
    """The failure message for a node whose Python is older than ``PYTHON_FLOOR``."""
    return (
        "mailops.clients modules need Python {}.{} or later on the managed node; {} is Python {}.{}.{}: "
        "set ansible_python_interpreter to a newer Python on this host"
    ).format(PYTHON_FLOOR[0], PYTHON_FLOOR[1], executable or "the interpreter", *version_info[:3])


def require_python():
    """Fail the module on a Python below the floor: the JSON result on stdout and exit status 1.

    AnsibleModule.fail_json cannot be used here: it needs the module's argument spec, which lives in the
    module_utils that the old Python cannot import. This writes what fail_json would (``failed`` and ``msg``).
    """
    if tuple(sys.version_info[:2]) < PYTHON_FLOOR:
        sys.stdout.write(json.dumps({"failed": True, "msg": floor_message(sys.version_info, sys.executable)}) + "\n")
        sys.stdout.flush()
        raise SystemExit(1)

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one error boundary of the modules' ``main()``: where an exception becomes ``fail_json``.

A ``MailOpsError`` carries a message meant for the user (it names the option and the fix, never a secret). Anything
else is a bug of the collection: it is reported with its type, so that a bug report can name it, never as a
traceback.
"""

from __future__ import annotations

from contextlib import contextmanager

from ansible_collections.mailops.clients.plugins.module_utils._errors import MailOpsError


@contextmanager
def fail_json_on_exception(module, name: str, **result):
    """Run the ``with`` block; an exception in it ends module ``name`` with ``fail_json`` and ``result`` (the keys
    the module returns even when it fails). ``exit_json`` and ``fail_json`` in the block end the module as always.
    """
    try:
        yield
    except MailOpsError as exc:
        module.fail_json(msg=str(exc), **result)
    except Exception as exc:  # no traceback reaches the user; the type names the bug for a report
        module.fail_json(msg=f"internal error in {name} ({type(exc).__name__}): {exc}", **result)

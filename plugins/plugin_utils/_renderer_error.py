# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one error type of the renderers, and the one check of option names.

Pure Python, no Ansible: the rendering modules (_apple, _outlook, _thunderbird, _cms) raise `RendererError`
subclasses that say which client they belong to; the renderer actions (plugin_utils/_renderer_action.py) catch
`RendererError` alone and fail the task with its message. The message is the whole user-visible text; ``field``
(the option or account field at fault), ``account`` and ``fix`` are there for callers that want them apart.
"""

from __future__ import annotations

from collections.abc import Iterable

from ansible_collections.mailops.clients.plugins.plugin_utils._values import did_you_mean


class RendererError(ValueError):
    """Input that cannot become a client's configuration; the message names the field and the fix."""

    def __init__(self, message: str, account: str | None = None, field: str | None = None, fix: str | None = None):
        super().__init__(message)
        self.account = account
        self.field = field
        self.fix = fix


def check_names(given: Iterable, known: Iterable, error: type = RendererError, prefix: str = "") -> None:
    """Raise ``error`` naming every name of ``given`` that is not in ``known``, with near misses and the valid names.

    ``prefix`` (e.g. ``gate.``) goes before each name in the message and the field; the message reads
    ``unknown option(s) colur (did you mean colour?), size; valid options: ...``.
    """
    known = sorted(str(k) for k in known)
    unknown = sorted(str(name) for name in given if str(name) not in known)
    if unknown:
        shown = ", ".join(prefix + name + did_you_mean(name, known) for name in unknown)
        where = f" of {prefix.rstrip('.')}" if prefix else ""
        raise error(
            f"unknown option(s) {shown}; valid options{where}: {', '.join(known)}",
            field=prefix + unknown[0],
            fix=f"use one of: {', '.join(known)}",
        )

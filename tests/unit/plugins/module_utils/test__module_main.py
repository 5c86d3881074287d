# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The modules' error boundary: which exception becomes which fail_json."""

from __future__ import annotations

import pytest
from ansible_collections.mailops.clients.plugins.module_utils._errors import OptionError
from ansible_collections.mailops.clients.plugins.module_utils._module_main import fail_json_on_exception


class Failed(Exception):
    pass


class Module:
    """What the boundary uses of AnsibleModule: fail_json, which never returns."""

    def fail_json(self, **result):
        raise Failed(result)


@pytest.mark.parametrize(
    ("raised", "msg"),
    [
        (OptionError("smtp: port must be 1 to 65535, got 0"), "smtp: port must be 1 to 65535, got 0"),
        (KeyError("verdict"), "internal error in mail_roundtrip (KeyError): 'verdict'"),
    ],
)
def test_exception_fails_the_module(raised, msg):
    with pytest.raises(Failed) as failed, fail_json_on_exception(Module(), "mail_roundtrip", findings=[]):
        raise raised
    assert failed.value.args[0] == {"msg": msg, "findings": []}


def test_exit_passes_through():
    """exit_json and fail_json end a module with SystemExit: the boundary does not turn that into a failure."""
    with pytest.raises(SystemExit), fail_json_on_exception(Module(), "mail_roundtrip"):
        raise SystemExit(0)

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one shape of the collection's filters: coerce the arguments, call one pure function, map its errors.

A filter is a few lines over a pure function of plugin_utils or module_utils. What the function raises for bad
input becomes ``AnsibleFilterError`` here, with the filter's prefix and the function's message (which names the
field and the fix), never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ansible.errors import AnsibleFilterError

# The prefix of the verify role's private filters' messages.
VERIFY = "mailops.clients.verify"


@contextmanager
def filter_errors(prefix: str | None, errors=(), accounts: bool = False) -> Iterator[None]:
    """Raise ``AnsibleFilterError`` for what the pure function called in the ``with`` block raises.

    ``errors`` (an exception class or a tuple of them): the function's own errors, reported as ``<prefix>: <error>``
    (the error alone when ``prefix`` is None). ``accounts``: the filter (named by ``prefix``) takes normalized
    accounts; a KeyError, TypeError or AttributeError then means it was given something else (an account that is
    not a dictionary has no ``get``), and the message says so.
    """
    try:
        yield
    except errors as err:
        raise AnsibleFilterError(f"{prefix}: {err}" if prefix else str(err)) from None
    except (KeyError, TypeError, AttributeError) as err:
        if not accounts:
            raise
        message = f"{prefix} expects normalized accounts (mail_accounts_normalize): missing {err}"
        raise AnsibleFilterError(message) from None


def plan_settings(options=None, endpoint_options=None, cache=None, ttl=0, now=0, secret=None) -> dict:
    """The planning arguments the verify role passes to the probe and the round-trip plan, as the plans take them
    (``_verified.plan``, ``_verify_roundtrip.plan``): a template's empty value is an empty one, numbers are numbers.
    """
    return {
        "options": options or {},
        "endpoint_options": endpoint_options or {},
        "cache": cache or {},
        "ttl": int(ttl or 0),
        "now": float(now or 0),
        "secret": secret,
    }

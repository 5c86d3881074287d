# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Typed exceptions of the mail server validation engine (private module_utils).

Every exception carries where it happened (host, port, stage) and, for a failed probe stage, the
finding code from ``_findings.CATALOGUE`` that describes it.  The engine turns ``ProbeError`` into
findings; only ``OptionError`` (and anything unexpected) reaches a module's ``main()``.
"""

from __future__ import annotations


class MailOpsError(Exception):
    """Base class: a message safe to show to the user (it never contains a secret)."""

    def __init__(self, message, host=None, port=None, stage=None):
        super().__init__(message)
        self.message = message
        self.host = host
        self.port = port
        self.stage = stage

    def __str__(self):
        return self.message


class OptionError(MailOpsError):
    """The module options are inconsistent (raised before any connection is made)."""

    def __init__(self, message):
        super().__init__(message, stage="options")


class ProbeError(MailOpsError):
    """A probe stage failed; ``code`` names the finding, ``params`` fill its message template."""

    def __init__(self, code, message, host=None, port=None, stage=None, **params):
        super().__init__(message, host=host, port=port, stage=stage)
        self.code = code
        self.params = params


class ConnectFailed(ProbeError):
    """DNS resolution or TCP connect failed (connection_refused, dns_failure, connect_failed)."""


class StageTimeout(ProbeError):
    """A stage did not complete within its deadline (the probe's ``timeout``, see ``_probe``)."""


class ProtocolError(ProbeError):
    """The server said something that is not the expected protocol (garbage, too long, wrong protocol)."""


class ConnectionClosed(ProtocolError):
    """The server closed the connection in the middle of a stage."""


class TLSFailure(ProbeError):
    """STARTTLS or the TLS handshake failed."""


class AuthFailure(ProbeError):
    """Authentication was refused or could not be attempted."""

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading signed profiles with the shared DER reader (signing and idempotence are in test__apple.py)."""

from __future__ import annotations

import pytest
from ansible_collections.mailops.clients.plugins.plugin_utils._cms import CMSError, parse_signed


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x30\x80garbage", r"indefinite-length \(BER\) encoding is not supported"),
        (b"\x30\x05\x02", "DER value runs past its container"),
        (b"\x3f\x01\x00", "multi-byte DER tags are not supported"),
    ],
)
def test_a_signed_profile_that_is_not_der_is_a_cms_error(data, message):
    with pytest.raises(CMSError, match=f"^{message}$"):
        parse_signed(data)

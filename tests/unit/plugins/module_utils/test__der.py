# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one DER reader (used by _tls for certificates and by plugin_utils/_cms for signed profiles)."""

from __future__ import annotations

import pytest
from ansible_collections.mailops.clients.plugins.module_utils._der import DERError, Element, children, element, oid


@pytest.mark.parametrize(
    ("data", "pos", "expected"),
    [
        (b"\x02\x01\x05", 0, Element(0x02, 0, 2, 3)),
        (b"\x04\x00", 0, Element(0x04, 0, 2, 2)),
        (b"\x30\x81\x03\x02\x01\x05", 0, Element(0x30, 0, 3, 6)),
        (b"\x00\x30\x82\x00\x01\xff", 1, Element(0x30, 1, 5, 6)),
    ],
)
def test_element(data, pos, expected):
    assert element(data, pos) == expected


@pytest.mark.parametrize(
    ("data", "end", "message"),
    [
        (b"", None, "truncated DER"),
        (b"\x30", None, "truncated DER"),
        (b"\x1f\x01\x00", None, "multi-byte DER tags are not supported"),
        (b"\x30\x80\x00\x00", None, r"indefinite-length \(BER\) encoding is not supported"),
        (b"\x30\x85\x00\x00\x00\x00\x01\x00", None, "bad DER length"),
        (b"\x30\x82\x01", None, "bad DER length"),
        (b"\x30\x03\x02\x01", None, "DER value runs past its container"),
        (b"\x30\x01\x00\x00", 2, "DER value runs past its container"),
    ],
)
def test_element_refuses_what_is_not_der(data, end, message):
    with pytest.raises(DERError, match=f"^{message}$"):
        element(data, 0, end)


def test_children_in_order_and_bounded_by_their_container():
    data = b"\x30\x06\x02\x01\x01\x04\x01\x41"
    outer = element(data, 0)
    assert children(data, outer.start, outer.end) == [Element(0x02, 2, 4, 5), Element(0x04, 5, 7, 8)]
    with pytest.raises(DERError, match="^DER value runs past its container$"):
        children(data, outer.start, outer.end - 1)


@pytest.mark.parametrize(
    ("raw", "dotted"),
    [
        (bytes.fromhex("550403"), "2.5.4.3"),
        (bytes.fromhex("2a864886f70d010702"), "1.2.840.113549.1.7.2"),
        (bytes.fromhex("0992268993f22c640119"), "0.9.2342.19200300.100.1.25"),
    ],
)
def test_oid(raw, dotted):
    assert oid(raw) == dotted


def test_oid_refuses_empty():
    with pytest.raises(DERError, match="^empty OID$"):
        oid(b"")

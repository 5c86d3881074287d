# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small DER reader (ITU-T X.690): what the X.509 certificates of ``_tls`` and the CMS files of
``plugin_utils/_cms`` need, and nothing more.

Standard library only (``_tls`` runs on managed nodes). It reads definite lengths and low tag numbers, which
is all DER (X.690 section 10.1) and the X.509 and CMS structures here use; anything else is a
:class:`DERError`, never a guess.
"""

from __future__ import annotations

from collections import namedtuple

# One element: its tag, where its header starts, where its value starts and ends (data[offset:end] is the
# whole encoding, data[start:end] the value).
Element = namedtuple("Element", ("tag", "offset", "start", "end"))


class DERError(ValueError):
    """The bytes are not DER this reader understands; the message says what it found."""


def element(data, pos, end=None):
    """The element whose header starts at ``pos``, inside ``data[:end]``."""
    end = len(data) if end is None else end
    if pos + 2 > end:
        raise DERError("truncated DER")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DERError("multi-byte DER tags are not supported")
    length = data[pos + 1]
    start = pos + 2
    if length == 0x80:
        raise DERError("indefinite-length (BER) encoding is not supported")
    if length & 0x80:
        count = length & 0x7F
        if count > 4 or start + count > end:
            raise DERError("bad DER length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    if start + length > end:
        raise DERError("DER value runs past its container")
    return Element(tag, pos, start, start + length)


def children(data, start, end):
    """The elements one after the other in ``data[start:end]`` (the value of a SEQUENCE or SET)."""
    items = []
    pos = start
    while pos < end:
        item = element(data, pos, end)
        items.append(item)
        pos = item.end
    return items


def oid(raw):
    """The dotted form of an OBJECT IDENTIFIER's value bytes (X.690 section 8.19)."""
    if not raw:
        raise DERError("empty OID")
    parts = [raw[0] // 40, raw[0] % 40] if raw[0] < 80 else [2, raw[0] - 80]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)

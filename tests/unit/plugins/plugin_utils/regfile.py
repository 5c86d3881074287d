# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A strict parser of Windows Registry Editor Version 5.00 files, written independently of the renderer.

Strict means: anything regedit would read differently, or that our writer should never produce, is an
error - missing BOM, a byte-order other than UTF-16LE, bare CR or LF, a missing header, abbreviated roots,
unknown escape sequences inside quotes, unescaped quotes, DWORDs that are not exactly 8 hex digits,
upper-case or one-digit hex bytes, trailing garbage, values outside a key, a value set twice in one key,
and a file that does not end with CRLF. Continuation lines of hex lists (``,\\`` then two spaces) are
accepted because regedit writes them.

``parse(data) -> list[Value]`` keeps file order; ``as_dict(values)`` gives ``{key: {name: Value}}``.
A value's ``data`` is ``str`` (REG_SZ), ``int`` (REG_DWORD), ``bytes`` (REG_BINARY and ``hex(n)``) or None
(deletion, type ``delete``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADER = "Windows Registry Editor Version 5.00"
ROOTS = ("HKEY_LOCAL_MACHINE", "HKEY_CURRENT_USER", "HKEY_CLASSES_ROOT", "HKEY_USERS", "HKEY_CURRENT_CONFIG")
_HEX_BYTE = re.compile(r"^[0-9a-f]{2}$")


class RegParseError(ValueError):
    pass


@dataclass(frozen=True)
class Value:
    key: str
    name: str | None  # None: the default value (@)
    type: str  # REG_SZ, REG_DWORD, REG_BINARY, hex(N), delete
    data: object
    line: int


def _quoted(text: str, pos: int, lineno: int) -> tuple[str, int]:
    """Parse a quoted string starting at ``text[pos] == '"'``; return (value, position after the quote)."""
    if pos >= len(text) or text[pos] != '"':
        raise RegParseError(f"line {lineno}: expected '\"' at column {pos + 1}")
    out = []
    i = pos + 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 >= len(text) or text[i + 1] not in '\\"':
                raise RegParseError(f"line {lineno}: unknown escape sequence at column {i + 1}")
            out.append(text[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise RegParseError(f"line {lineno}: unterminated string")


def _hex_bytes(text: str, lineno: int) -> bytes:
    if text == "":
        return b""
    parts = text.split(",")
    for part in parts:
        if not _HEX_BYTE.match(part):
            raise RegParseError(f"line {lineno}: bad hex byte {part!r} (want two lower-case hex digits)")
    return bytes(int(p, 16) for p in parts)


def parse(data: bytes) -> list[Value]:
    if not data.startswith(b"\xff\xfe"):
        raise RegParseError("missing UTF-16LE byte-order mark FF FE")
    body = data[2:]
    if len(body) % 2:
        raise RegParseError("odd number of bytes after the BOM: not UTF-16LE")
    try:
        text = body.decode("utf-16-le", errors="strict")
    except UnicodeDecodeError as exc:
        raise RegParseError(f"not valid UTF-16LE: {exc}") from None
    if "\ufeff" in text:
        raise RegParseError("a second BOM inside the file")
    if not text.endswith("\r\n"):
        raise RegParseError("the file must end with CRLF")
    lines = text[:-2].split("\r\n")
    for number, line in enumerate(lines, 1):
        if "\r" in line or "\n" in line:
            raise RegParseError(f"line {number}: bare CR or LF")
    if not lines or lines[0] != HEADER:
        raise RegParseError(f"line 1: expected {HEADER!r}")
    values: list[Value] = []
    key = None
    names_in_key: set = set()
    i = 1
    while i < len(lines):
        line = lines[i]
        lineno = i + 1
        i += 1
        if line == "" or line.startswith(";"):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise RegParseError(f"line {lineno}: key line does not end with ']'")
            key = line[1:-1]
            if key.startswith("-"):
                raise RegParseError(f"line {lineno}: key deletion is not expected here")
            root = key.split("\\", 1)[0]
            if root not in ROOTS:
                raise RegParseError(f"line {lineno}: unknown or abbreviated root {root!r}")
            if "\\\\" in key or key.endswith("\\") or "[" in key or "]" in key:
                raise RegParseError(f"line {lineno}: malformed key path")
            names_in_key = set()
            continue
        if key is None:
            raise RegParseError(f"line {lineno}: value outside a key")
        if line.startswith("@="):
            name, pos = None, 1
        else:
            name, pos = _quoted(line, 0, lineno)
        if pos >= len(line) or line[pos] != "=":
            raise RegParseError(f"line {lineno}: expected '=' after the value name")
        rest = line[pos + 1 :]
        folded = (name or "@").lower()
        if folded in names_in_key:
            raise RegParseError(f"line {lineno}: value {name!r} set twice in [{key}]")
        names_in_key.add(folded)
        if rest == "-":
            values.append(Value(key, name, "delete", None, lineno))
        elif rest.startswith('"'):
            data, end = _quoted(line, pos + 1, lineno)
            if end != len(line):
                raise RegParseError(f"line {lineno}: text after the closing quote")
            values.append(Value(key, name, "REG_SZ", data, lineno))
        elif rest.startswith("dword:"):
            digits = rest[6:]
            if not re.fullmatch(r"[0-9a-f]{8}", digits):
                raise RegParseError(f"line {lineno}: dword needs exactly 8 lower-case hex digits, got {digits!r}")
            values.append(Value(key, name, "REG_DWORD", int(digits, 16), lineno))
        else:
            match = re.match(r"^hex(\(([0-9a-f]{1,2})\))?:", rest)
            if not match:
                raise RegParseError(f"line {lineno}: unknown value data {rest[:20]!r}")
            kind = "REG_BINARY" if match.group(1) is None else f"hex({match.group(2)})"
            hex_text = rest[match.end() :]
            while hex_text.endswith(",\\"):
                if i >= len(lines) or not lines[i].startswith("  "):
                    raise RegParseError(f"line {lineno}: continuation line missing")
                hex_text = hex_text[:-1] + lines[i][2:]
                i += 1
            values.append(Value(key, name, kind, _hex_bytes(hex_text, lineno), lineno))
    return values


def as_dict(values: list[Value]) -> dict:
    result: dict = {}
    for value in values:
        result.setdefault(value.key, {})[value.name] = value
    return result

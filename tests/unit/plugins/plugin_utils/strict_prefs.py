# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A strict parser for Mozilla preference files (prefs.js, user.js, defaults/pref/*.js), for the tests.

Written independently of the renderer, after Gecko's preference grammar (modules/libpref/parser):
statements ``pref``/``user_pref``/``sticky_pref`` ``(`` string ``,`` value ``)`` ``;``; comments ``//``,
``#`` and ``/* */``; strings in double or single quotes with the escapes ``\\"`` ``\\'`` ``\\\\`` ``\\n``
``\\r`` ``\\xHH`` ``\\uHHHH`` (surrogate pairs combined). Stricter than Gecko where it helps the tests:
raw control characters in strings, NUL, lone surrogates, integers outside 32 bits and trailing garbage are
errors (Gecko would reject or truncate most of them too).
"""

from __future__ import annotations

KINDS = ("pref", "user_pref", "sticky_pref")


class PrefsSyntaxError(ValueError):
    pass


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def error(self, what: str):
        line = self.text.count("\n", 0, self.pos) + 1
        raise PrefsSyntaxError(f"line {line}: {what}")

    def skip(self):
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\r\n":
                self.pos += 1
            elif text.startswith("//", self.pos) or char == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end + 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    self.error("unterminated /* comment")
                self.pos = end + 2
            else:
                return

    def expect(self, token: str):
        self.skip()
        if not self.text.startswith(token, self.pos):
            self.error(f"expected {token!r}")
        self.pos += len(token)

    def hex(self, count: int) -> int:
        digits = self.text[self.pos : self.pos + count]
        if len(digits) != count or any(c not in "0123456789abcdefABCDEF" for c in digits):
            self.error(f"expected {count} hex digits")
        self.pos += count
        return int(digits, 16)

    def string(self) -> str:
        self.skip()
        quote = self.text[self.pos : self.pos + 1]
        if quote not in ('"', "'"):
            self.error("expected a string")
        self.pos += 1
        out = []
        while True:
            if self.pos >= len(self.text):
                self.error("unterminated string")
            char = self.text[self.pos]
            self.pos += 1
            if char == quote:
                return "".join(out)
            if ord(char) < 0x20:
                self.error(f"raw control character U+{ord(char):04X} in a string")
            if char != "\\":
                out.append(char)
                continue
            esc = self.text[self.pos : self.pos + 1]
            self.pos += 1
            if esc in ('"', "'", "\\"):
                out.append(esc)
            elif esc == "n":
                out.append("\n")
            elif esc == "r":
                out.append("\r")
            elif esc == "x":
                code = self.hex(2)
                if code == 0:
                    self.error("\\x00 in a string")
                out.append(chr(code))
            elif esc == "u":
                code = self.hex(4)
                if 0xD800 <= code <= 0xDBFF:
                    if self.text[self.pos : self.pos + 2] != "\\u":
                        self.error("high surrogate without a low surrogate")
                    self.pos += 2
                    low = self.hex(4)
                    if not 0xDC00 <= low <= 0xDFFF:
                        self.error("high surrogate followed by a non-low surrogate")
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                elif 0xDC00 <= code <= 0xDFFF:
                    self.error("lone low surrogate")
                if code == 0:
                    self.error("\\u0000 in a string")
                out.append(chr(code))
            else:
                self.error(f"unknown escape \\{esc}")

    def value(self):
        self.skip()
        if self.text.startswith(("true", "false"), self.pos):
            word = "true" if self.text.startswith("true", self.pos) else "false"
            self.pos += len(word)
            return word == "true"
        if self.text[self.pos : self.pos + 1] in ('"', "'"):
            return self.string()
        start = self.pos
        if self.text[self.pos : self.pos + 1] in "+-":
            self.pos += 1
        while self.text[self.pos : self.pos + 1].isdigit() and self.text[self.pos].isascii():
            self.pos += 1
        digits = self.text[start : self.pos]
        if not digits.lstrip("+-"):
            self.error("expected a value")
        number = int(digits)
        if not -(2**31) <= number <= 2**31 - 1:
            self.error(f"integer {number} outside 32 bits")
        return number

    def statements(self):
        result = []
        while True:
            self.skip()
            if self.pos >= len(self.text):
                return result
            for kind in sorted(KINDS, key=len, reverse=True):
                if self.text.startswith(kind, self.pos):
                    self.pos += len(kind)
                    break
            else:
                self.error("expected pref, user_pref or sticky_pref")
            self.expect("(")
            name = self.string()
            if not name:
                self.error("empty preference name")
            self.expect(",")
            value = self.value()
            self.expect(")")
            self.expect(";")
            result.append((kind, name, value))


def parse_prefs(text: str) -> list[tuple[str, str, object]]:
    """``[(kind, name, value)]`` of every statement; raises PrefsSyntaxError on anything else."""
    return _Parser(text).statements()

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A validator for Apple configuration profiles, driven by Apple's own schema YAML.

The YAML files are verbatim copies from apple/device-management (``mdm/profiles/``, MIT licence, see
fixtures/apple-device-management/LICENSE.txt). The validator knows nothing about mail by itself: required
keys, allowed keys, types, ``rangelist`` and ``format`` all come from the YAML, so a profile that passes
uses only what Apple documents. Used by the unit tests and the integration tests of the apple_mail role.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import yaml

SCHEMA_DIR = Path(__file__).resolve().parent / "fixtures" / "apple-device-management"

_TYPES = {
    "<string>": (str,),
    "<integer>": (int,),
    "<boolean>": (bool,),
    "<real>": (float, int),
    "<date>": (datetime.datetime,),
    "<data>": (bytes, bytearray),
    "<array>": (list,),
    "<dictionary>": (dict,),
}


def load(name: str) -> dict:
    with (SCHEMA_DIR / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


class Schema:
    """The three schema files: top level, keys common to every payload, and payload types by name."""

    def __init__(self, directory: Path = SCHEMA_DIR):
        self.top = load("TopLevel.yaml")
        self.common = load("CommonPayloadKeys.yaml")
        self.payloads = {}
        for path in sorted(directory.glob("*.yaml")):
            if path.name in ("TopLevel.yaml", "CommonPayloadKeys.yaml"):
                continue
            data = load(path.name)
            self.payloads[data["payload"]["payloadtype"]] = data

    # -- one value against one key definition ------------------------------------------------------

    def _value(self, keydef: dict, value, where: str, errors: list) -> None:
        expected = keydef["type"]
        if expected != "<any>":
            types = _TYPES[expected]
            ok = isinstance(value, types)
            if ok and expected in ("<integer>", "<real>") and isinstance(value, bool):
                ok = False
            if not ok:
                errors.append(f"{where}: expected {expected}, got {type(value).__name__}")
                return
        if "rangelist" in keydef and value not in keydef["rangelist"]:
            errors.append(f"{where}: {value!r} not in {keydef['rangelist']}")
        if "format" in keydef and isinstance(value, str) and not re.search(keydef["format"], value):
            errors.append(f"{where}: {value!r} does not match {keydef['format']}")
        subkeys = keydef.get("subkeys")
        if not subkeys:
            return
        if expected == "<array>":
            for index, item in enumerate(value):
                self._value(subkeys[0], item, f"{where}[{index}]", errors)
        elif expected == "<dictionary>":
            self._dict(subkeys, value, where, errors)

    def _dict(self, keydefs: list, data: dict, where: str, errors: list, skip: tuple = ()) -> None:
        if len(keydefs) == 1 and keydefs[0]["key"] == "ANY":
            for key, value in data.items():
                if not isinstance(key, str):
                    errors.append(f"{where}: key {key!r} is not a string")
                self._value(keydefs[0], value, f"{where}.{key}", errors)
            return
        if len(keydefs) == 1 and keydefs[0]["type"] == "<dictionary>" and keydefs[0]["key"] not in data:
            # e.g. ConsentText: a dictionary item described by one named dictionary of ANY subkeys
            self._dict(keydefs[0].get("subkeys", []), data, where, errors)
            return
        by_name = {k["key"]: k for k in keydefs}
        for keydef in keydefs:
            if keydef.get("presence") == "required" and keydef["key"] not in data and keydef["key"] not in skip:
                errors.append(f"{where}: required key {keydef['key']} missing")
        for key, value in data.items():
            if key not in by_name:
                errors.append(f"{where}: unknown key {key}")
                continue
            if key in skip:
                continue
            self._value(by_name[key], value, f"{where}.{key}", errors)

    # -- profiles --------------------------------------------------------------------------------

    def payload_errors(self, payload, where: str) -> list:
        errors: list = []
        if not isinstance(payload, dict):
            return [f"{where}: payload is not a dictionary"]
        ptype = payload.get("PayloadType")
        definition = self.payloads.get(ptype)
        if definition is None:
            return [f"{where}: no schema for PayloadType {ptype!r}"]
        keys = self.common["payloadkeys"] + definition["payloadkeys"]
        self._dict(keys, payload, where, errors)
        return errors

    def profile_errors(self, profile) -> list:
        """Every way ``profile`` (a dict as plistlib loads it) departs from Apple's schema."""
        if not isinstance(profile, dict):
            return ["profile is not a dictionary"]
        errors: list = []
        # PayloadContent is checked here: required unless IsEncrypted, items against their payload schema.
        self._dict(self.top["payloadkeys"], profile, "profile", errors, skip=("PayloadContent",))
        content = profile.get("PayloadContent")
        if content is None:
            if profile.get("IsEncrypted") is not True:
                errors.append("profile: required key PayloadContent missing")
            content = []
        elif not isinstance(content, list):
            errors.append(f"profile.PayloadContent: expected <array>, got {type(content).__name__}")
            content = []
        identifiers = [profile.get("PayloadIdentifier")]
        uuids = [profile.get("PayloadUUID")]
        for index, payload in enumerate(content):
            errors.extend(self.payload_errors(payload, f"profile.PayloadContent[{index}]"))
            if isinstance(payload, dict):
                identifiers.append(payload.get("PayloadIdentifier"))
                uuids.append(payload.get("PayloadUUID"))
        for name, values in (("PayloadIdentifier", identifiers[1:]), ("PayloadUUID", uuids)):
            duplicates = sorted({v for v in values if values.count(v) > 1 and v is not None})
            for value in duplicates:
                errors.append(f"profile: {name} {value!r} is not unique")
        return errors

    def profile_set_errors(self, profiles: list) -> list:
        """Errors of each profile plus identifiers and UUIDs repeated across the set."""
        errors: list = []
        seen_ids: dict = {}
        seen_uuids: dict = {}
        for number, profile in enumerate(profiles):
            errors.extend(f"#{number} {e}" for e in self.profile_errors(profile))
            if not isinstance(profile, dict):
                continue
            ident = profile.get("PayloadIdentifier")
            if ident in seen_ids:
                errors.append(f"#{number}: PayloadIdentifier {ident!r} also used by #{seen_ids[ident]}")
            seen_ids.setdefault(ident, number)
            items = [profile, *[p for p in profile.get("PayloadContent") or [] if isinstance(p, dict)]]
            for item in items:
                value = item.get("PayloadUUID")
                if value in seen_uuids and seen_uuids[value] != number:
                    errors.append(f"#{number}: PayloadUUID {value!r} also used by #{seen_uuids[value]}")
                seen_uuids.setdefault(value, number)
        return errors


SCHEMA = None


def schema() -> Schema:
    global SCHEMA  # noqa: PLW0603 - one parsed copy per test session
    if SCHEMA is None:
        SCHEMA = Schema()
    return SCHEMA


def assert_valid(*profiles) -> None:
    errors = schema().profile_set_errors(list(profiles))
    assert not errors, "profile(s) not valid against Apple's schema:\n" + "\n".join(errors)

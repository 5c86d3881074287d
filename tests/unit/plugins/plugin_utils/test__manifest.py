# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The manifest of a destination directory: format, untrusted entries, what is removed and what is warned."""

from __future__ import annotations

import hashlib
import json

import pytest
from ansible_collections.mailops.clients.plugins.plugin_utils._manifest import (
    Manifest,
    manifest_name,
    parse,
    relative_name,
    render,
)


def accept(name):
    return name.endswith(".mobileconfig")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_render_is_deterministic_and_parse_reads_it_back():
    files = {
        "b.mobileconfig": {"sha256": sha(b"b"), "accounts": ["b@x.test"]},
        "a.mobileconfig": {"accounts": ["a@x.test"], "sha256": sha(b"a"), "identifier": "x.a"},
    }
    data = render("apple_mail", files)
    assert data == render("apple_mail", dict(reversed(list(files.items()))))
    assert json.loads(data) == {"format": 1, "client": "apple_mail", "files": files}
    assert parse(data, "apple_mail", "m", accept, ("identifier",)) == (files, [])
    assert manifest_name("apple_mail") == ".mailops-clients-apple_mail.json"
    with pytest.raises(ValueError):
        manifest_name("../x")


@pytest.mark.parametrize(
    ("name", "depth", "ok"),
    [
        ("a.mobileconfig", 1, True),
        ("../a.mobileconfig", 1, False),
        ("/etc/a.mobileconfig", 1, False),
        ("sub/a.mobileconfig", 1, False),
        ("sub/a.xml", 2, True),
        ("sub/../a.xml", 3, False),
        ("sub//a.xml", 3, False),
        (".hidden.mobileconfig", 1, False),
        ("a\nb.mobileconfig", 1, False),
        ("", 1, False),
        (7, 1, False),
    ],
)
def test_relative_names(name, depth, ok):
    assert relative_name(name, depth) is ok


UNTRUSTED = [
    (b"[1, 2", "ignored m: it is not JSON; nothing this collection wrote there before is removed"),
    (b"[]", "ignored m: it is not a format 1 manifest; nothing this collection wrote there before is removed"),
    (
        json.dumps({"format": 1, "client": "outlook", "files": {}}).encode(),
        "ignored m: it is not the manifest of apple_mail; nothing this collection wrote there before is removed",
    ),
    (
        json.dumps({"format": 1, "client": "apple_mail", "files": []}).encode(),
        "ignored m: its files are not a dictionary; nothing this collection wrote there before is removed",
    ),
]


@pytest.mark.parametrize(("data", "warning"), UNTRUSTED)
def test_a_manifest_that_is_not_valid_is_ignored(data, warning):
    assert parse(data, "apple_mail", "m", accept) == ({}, [warning])


def test_invalid_entries_are_skipped_with_a_warning():
    good = {"accounts": ["a@x.test"], "sha256": sha(b"a")}
    data = json.dumps(
        {
            "format": 1,
            "client": "apple_mail",
            "files": {
                "a.mobileconfig": good,
                "../../etc/shadow.mobileconfig": good,
                "notes.txt": good,
                "b.mobileconfig": {"accounts": ["b"], "sha256": "nope"},
                "c.mobileconfig": {"accounts": "c", "sha256": sha(b"c")},
                "d.mobileconfig": {**good, "path": "/etc/passwd"},
            },
        }
    ).encode()
    entries, warnings = parse(data, "apple_mail", "m", accept)
    assert entries == {"a.mobileconfig": good}
    assert warnings == [
        'm: skipped the entry "../../etc/shadow.mobileconfig": it is not the name of a file this renderer writes; '
        "that file is not removed",
        'm: skipped the entry "notes.txt": it is not the name of a file this renderer writes; that file is not removed',
        'm: skipped the entry "b.mobileconfig": its sha256 is missing or not a SHA-256 hex digest; that file is not '
        "removed",
        'm: skipped the entry "c.mobileconfig": its accounts are not a list of account ids; that file is not removed',
        'm: skipped the entry "d.mobileconfig": it has keys this renderer does not write; that file is not removed',
    ]


def _loaded(files, **kwargs):
    manifest = Manifest("/srv/out", "apple_mail", accept, **kwargs)
    entry = {"exists": True, "type": "file", "content": render("apple_mail", files)}
    assert manifest.load(entry) == []
    return manifest


def test_stale_files_are_removed_when_unchanged_and_warned_when_changed():
    manifest = _loaded(
        {
            "a.mobileconfig": {"accounts": ["a@x.test"], "sha256": sha(b"a")},
            "b.mobileconfig": {"accounts": ["b@x.test"], "sha256": sha(b"b")},
            "c.mobileconfig": {"accounts": ["c@x.test"], "sha256": sha(b"c")},
        },
        run_as="alice",
    )
    manifest.record("a.mobileconfig", b"a2", ["a@x.test"])
    assert manifest.removals(backup=True) == [
        {
            "path": "/srv/out/b.mobileconfig",
            "expect_sha256": sha(b"b"),
            "backup": True,
            "run_as": "alice",
            "max_size": 16 * 1024 * 1024,
        },
        {
            "path": "/srv/out/c.mobileconfig",
            "expect_sha256": sha(b"c"),
            "backup": True,
            "run_as": "alice",
            "max_size": 16 * 1024 * 1024,
        },
    ]
    spec = manifest.spec("alice", None)
    assert (spec["path"], spec["mode"], spec["owner"], spec["run_as"]) == (
        "/srv/out/.mailops-clients-apple_mail.json",
        "0600",
        "alice",
        "alice",
    )
    assert json.loads(spec["content"])["files"] == {"a.mobileconfig": {"accounts": ["a@x.test"], "sha256": sha(b"a2")}}
    removed, warnings = manifest.outcome([{"changed": True, "existed": True}, {"changed": False, "kept": "changed"}])
    assert removed == [
        {"accounts": ["b@x.test"], "sha256": sha(b"b"), "file": "b.mobileconfig", "path": "/srv/out/b.mobileconfig"}
    ]
    assert warnings == [
        "left /srv/out/c.mobileconfig: it changed since mailops.clients wrote it (for c@x.test); remove it by hand "
        "when it is no longer needed"
    ]


def test_nothing_left_removes_the_manifest_too_and_an_ignored_one_stays():
    manifest = _loaded({"a.mobileconfig": {"accounts": ["a@x.test"], "sha256": sha(b"a")}})
    paths = [spec["path"] for spec in manifest.removals()]
    assert paths == ["/srv/out/a.mobileconfig", "/srv/out/.mailops-clients-apple_mail.json"]
    assert manifest.spec() is None
    ignored = Manifest("/srv/out", "apple_mail", accept)
    assert ignored.load({"exists": True, "type": "file", "content": b"junk"})
    assert ignored.removals() == [] and ignored.spec() is None
    # a manifest that is not a regular file, or that its user could not read, gives nothing to remove
    other = Manifest("/srv/out", "apple_mail", accept)
    assert other.load({"exists": True, "type": "link", "content": None}) == [
        "ignored /srv/out/.mailops-clients-apple_mail.json: it is not a regular file; nothing this collection "
        "wrote there is removed"
    ]
    assert other.removals() == []

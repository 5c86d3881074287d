# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What this collection wrote into a directory, kept beside it: the manifest of a destination directory.

A renderer that writes files of one client into a directory (Apple profiles, Outlook Autodiscover XML, PRF and
.reg files, Thunderbird's autoconfig XML) records them in ``.mailops-clients-<client>.json`` in that directory::

    {
      "client": "apple_mail",
      "files": {
        "alice.mobileconfig": {"accounts": ["alice@example.org"], "sha256": "<hex>", "identifier": "..."}
      },
      "format": 1
    }

``files`` maps a plain file name in that directory to the ids of the accounts it holds and the SHA-256 of the
bytes written (plus the extra keys a renderer records, such as the profile's PayloadIdentifier). On the next run
every file listed there and not written again is removed, only while it still holds those bytes (else it is
left and named in a warning), and the manifest is replaced by the new one (removed when nothing is left). The
manifest lives beside the files, not on the controller: an execution environment (AWX) starts empty each run.

A manifest is untrusted input (in a user's home the user can write it, and it is read and acted on with that
user's rights only): a manifest that is not valid is ignored with a warning, an entry that is not a plain name
the renderer could have written (``accept``), or whose hash or accounts are malformed, is skipped with a warning.
Nothing is ever removed by a path taken from a manifest, only by a name joined to the directory the task writes.

Usage in a renderer action (one ``Manifest`` per destination directory and client)::

    manifest = Manifest(directory, "apple_mail", accept=lambda n: n.endswith(".mobileconfig"), run_as=user)
    current = deployer.read({dest: user, manifest.path: user})      # the same batch as the other reads
    warnings += manifest.load(current[manifest.path])
    manifest.record("alice.mobileconfig", data, ["alice@example.org"], identifier="...")
    removals = manifest.removals(backup=False)                       # removal_spec list (stale files)
    specs.append(manifest.spec(owner, group))                        # or None: nothing to write
    ... deployer.deploy(files, removals) ...
    removed, warnings = manifest.outcome(removal_outcomes)           # the entries removed; kept files warned
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Callable, Mapping

from ansible_collections.mailops.clients.plugins.plugin_utils._deploy import file_spec, removal_spec

FORMAT = 1
MAX_SIZE = 1024 * 1024  # a manifest larger than this is not read
MODE = "0600"  # it holds the hashes of files that may hold a password: as private as the most private of them
_HEX = re.compile(r"^[0-9a-f]{64}$")
_CLIENT = re.compile(r"^[a-z][a-z0-9_]*$")


def manifest_name(client: str) -> str:
    if not _CLIENT.match(client):
        raise ValueError(f"invalid client name {client!r}")
    return f".mailops-clients-{client}.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def plain_name(name) -> bool:
    """A file name in the directory itself: no separator, no ``.``/``..``, no hidden name, no control character."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= 255
        and not name.startswith(".")
        and "/" not in name
        and "\\" not in name
        and all(ord(char) >= 32 and char != "\x7f" for char in name)
    )


def relative_name(name, depth: int = 1) -> bool:
    """``plain_name``, or (with ``depth`` > 1) up to ``depth`` plain names joined by ``/``: a file in a
    subdirectory the renderer itself makes (Outlook's ``<user>/autodiscover/<domain>.xml``); never ``..``, never
    absolute, never empty components."""
    if not isinstance(name, str):
        return False
    parts = name.split("/")
    return 0 < len(parts) <= depth and all(plain_name(part) for part in parts)


def render(client: str, files: Mapping) -> bytes:
    """The manifest's bytes: deterministic (sorted keys), so an unchanged set of files leaves it unchanged."""
    document = {"format": FORMAT, "client": client, "files": {name: dict(files[name]) for name in sorted(files)}}
    return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def parse(data, client: str, where: str, accept: Callable[[str], bool], extras=(), depth: int = 1) -> tuple[dict, list]:
    """``(entries, warnings)`` of the manifest bytes ``data`` (None: there is none).

    ``entries`` maps each valid file name to ``{"accounts": [...], "sha256": hex, <extras>...}``; a manifest that
    is not valid gives no entries and one warning, each invalid entry is skipped with a warning. A name is valid
    when it is a ``relative_name`` (of at most ``depth`` components) and ``accept`` takes it.
    """
    if data is None:
        return {}, []

    def ignored(reason):
        return {}, [f"ignored {where}: {reason}; nothing this collection wrote there before is removed"]

    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return ignored("it is not JSON")
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return ignored(f"it is not a format {FORMAT} manifest")
    if document.get("client") != client:
        return ignored(f"it is not the manifest of {client}")
    files = document.get("files")
    if not isinstance(files, dict):
        return ignored("its files are not a dictionary")
    entries: dict = {}
    warnings: list = []
    for name, raw in files.items():
        problem = None
        if not relative_name(name, depth) or not accept(name):
            problem = "it is not the name of a file this renderer writes"
        elif not isinstance(raw, dict) or not isinstance(raw.get("sha256"), str) or not _HEX.match(raw["sha256"]):
            problem = "its sha256 is missing or not a SHA-256 hex digest"
        elif not isinstance(raw.get("accounts"), list) or not all(isinstance(a, str) for a in raw["accounts"]):
            problem = "its accounts are not a list of account ids"
        elif any(key not in ("accounts", "sha256", *extras) for key in raw):
            problem = "it has keys this renderer does not write"
        elif any(raw.get(key) is not None and not isinstance(raw[key], str) for key in extras):
            problem = "it has values this renderer does not write"
        if problem:
            shown = json.dumps(name)[:100] if isinstance(name, str) else repr(name)[:100]
            warnings.append(f"{where}: skipped the entry {shown}: {problem}; that file is not removed")
            continue
        entries[name] = dict(raw)
    return entries, warnings


class Manifest:
    """The manifest of one destination directory of one client in one run (see the module docstring)."""

    def __init__(
        self, directory: str, client: str, accept: Callable[[str], bool], run_as=None, extras=(), depth: int = 1
    ):
        self.depth = depth
        self.directory = directory
        self.client = client
        self.accept = accept
        self.run_as = run_as
        self.extras = tuple(extras)
        self.path = posixpath.join(directory, manifest_name(client))
        self.old: dict = {}
        self.new: dict = {}
        self.data = None  # the manifest's bytes as read (None: there was none)
        self.valid = True
        self._stale: list = []

    def load(self, entry: Mapping) -> list:
        """Take the manifest from its inspected entry (``Deployer.read``); returns the warnings.

        An entry its run_as user could not read (``error``) or that is not a regular file gives no old files (and a
        warning for the latter): nothing is removed on its word.
        """
        if entry.get("error"):
            return []
        if entry.get("exists") and entry.get("type") != "file":
            return [f"ignored {self.path}: it is not a regular file; nothing this collection wrote there is removed"]
        self.data = entry.get("content")
        self.old, warnings = parse(self.data, self.client, self.path, self.accept, self.extras, self.depth)
        # a manifest that was ignored is left where it is (replaced only when this run writes files there)
        self.valid = not (warnings and warnings[0].startswith("ignored "))
        return warnings

    def record(self, name: str, content: bytes, accounts, **extra) -> None:
        """Note a file written (or kept) in this run."""
        if not relative_name(name, self.depth) or not self.accept(name):
            raise ValueError(f"{name!r} is not a plain name this renderer writes")
        entry = {"accounts": list(accounts), "sha256": sha256(content)}
        entry.update({key: value for key, value in extra.items() if key in self.extras and value is not None})
        self.new[name] = entry

    def stale(self) -> list:
        """``[(name, old entry)]`` of the files listed before and not written now, by name."""
        return [(name, self.old[name]) for name in sorted(self.old) if name not in self.new]

    def removals(self, backup: bool = False) -> list:
        """The removal specs of the stale files (then of the manifest itself when nothing is left in it)."""
        self._stale = self.stale()
        specs = [
            removal_spec(
                posixpath.join(self.directory, name), expect_sha256=entry["sha256"], backup=backup, run_as=self.run_as
            )
            for name, entry in self._stale
        ]
        if not self.new and self.data is not None and self.valid:
            specs.append(removal_spec(self.path, expect_sha256=sha256(self.data), run_as=self.run_as))
        return specs

    def spec(self, owner=None, group=None):
        """The file spec of the new manifest, or None when nothing is listed (then it is removed, see removals)."""
        if not self.new:
            return None
        return file_spec(self.path, render(self.client, self.new), MODE, owner, group, run_as=self.run_as)

    def outcome(self, results: list) -> tuple[list, list]:
        """``(removed, warnings)`` from the outcomes of ``removals()`` (same order): ``removed`` are
        ``{"file", "path", <old entry>}`` of the files removed (or that would be, in check mode); a file left
        because it changed since it was written, or is no regular file any more, is named in a warning."""
        removed, warnings = [], []
        for (name, entry), done in zip(self._stale, results):
            path = posixpath.join(self.directory, name)
            if done.get("error"):
                continue
            if done.get("changed"):
                removed.append(dict(entry, file=name, path=path))
            elif done.get("kept") == "changed":
                warnings.append(
                    f"left {path}: it changed since mailops.clients wrote it (for {', '.join(entry['accounts'])}); "
                    "remove it by hand when it is no longer needed"
                )
            elif done.get("kept"):
                warnings.append(f"left {path}: it is not the regular file mailops.clients wrote ({done['kept']})")
        return removed, warnings

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# No `from __future__ import annotations` here (nor annotations): this file must stay parseable by the
# Python versions below the floor, so that require_python() can report them (module_utils/_python_floor.py).

DOCUMENTATION = r"""
module: rendered_files
short_description: Inspect paths, create directories, remove and atomically replace many files in one module run
version_added: 0.1.0
description:
  - The target side of the renderer actions (P(mailops.clients.thunderbird_profiles#module),
    P(mailops.clients.apple_mail_profiles#module), P(mailops.clients.outlook_profiles#module)). One run inspects
    every path they need to read, or creates every directory and writes every file of the task, instead of a
    C(stat), C(slurp), C(file) and C(copy) run per file.
  - Usable on its own to put a set of finished files (for example rendered on the controller) in place.
  - Order of work is O(inspect), then O(directories) in the order given (missing parents are created with the
    same attributes), then O(remove), then O(files) (per O(files[].run_as) user).
  - A file in O(remove) is removed only when it is a regular file (a symbolic link or anything else there is left
    alone) and, with O(remove[].expect_sha256), only while its bytes are still the ones that were written; it is
    unlinked through the descriptor of its directory, as the same inode that was checked.
  - A file whose bytes are already right is not rewritten, only its mode and owner are corrected. A changed file
    is written to a temporary file in its directory (owner and mode set on its descriptor) and moved over the old
    one in one step, optionally after a backup.
  - Paths are resolved one component at a time through directory descriptors. The module enters a directory only
    when it belongs to the acting user or root and no other user can write to it (unless it is sticky), and follows
    a symbolic link only when the acting user or root owns it. So root never acts inside a directory another user
    controls; give such items O(files[].run_as) (see the security guide, C(docs/security.md)).
  - Items with O(inspect[].run_as), O(directories[].run_as) or O(files[].run_as) are read and written by a child
    process that has become that user (C(setgroups), C(setgid), C(setuid) before anything is opened), so the kernel
    refuses what the user could not do themselves. One child per user and batch. A user's failure is reported on
    that user's items and the other users are still done; the module then fails and names each user.
  - File contents are base64 encoded in both directions and never appear in messages; O(files[].content) is
    C(no_log).
author:
  - mailops.clients contributors (@mailops)
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.files
attributes:
  check_mode:
    support: full
    details: Reports what would change (and the old content when asked for); writes nothing.
  diff_mode:
    support: none
    details: Returns the old content with O(files[].return_before) so that a caller can build its own diff.
  platform:
    platforms: posix
  safe_file_operations:
    support: full
  vault:
    support: none
options:
  inspect:
    description: Paths to look at before anything is written.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The path.
        type: path
        required: true
      follow:
        description: Follow a symbolic link (V(false) reports the link itself and its target).
        type: bool
        default: true
      read:
        description: Return the content of a regular file in RV(inspected[].content).
        type: bool
        default: false
      max_size:
        description: A file to read that is larger than this (bytes) is refused.
        type: int
        default: 16777216
      run_as:
        description:
          - Look as this user (when the module runs as root and the user exists). Omitted, the module acts as
            itself.
        type: str
  directories:
    description: Directories to create (with missing parents) or whose attributes to correct.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The directory.
        type: path
        required: true
      mode:
        description:
          - Octal mode such as V('0755') or a complete symbolic one such as V(u=rwx,g=rx,o=rx); omitted keeps what is
            there (new directories follow the umask).
        type: raw
      owner:
        description: Owner name or uid.
        type: str
      group:
        description: Group name or gid.
        type: str
      run_as:
        description: Create or correct the directory as this user (see O(inspect[].run_as)).
        type: str
  files:
    description: Files to put in place.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file; its directory must exist (list it in O(directories)).
        type: path
        required: true
      content:
        description: The complete new content, base64 encoded.
        type: str
        required: true
      mode:
        description:
          - Octal mode such as V('0644') or a complete symbolic one such as V(u=rw,g=r,o=r); omitted keeps the old
            file's mode (new files follow the umask).
        type: raw
      owner:
        description: Owner name or uid; omitted keeps the old file's owner.
        type: str
      group:
        description: Group name or gid; omitted keeps the old file's group.
        type: str
      backup:
        description: Keep a copy of the old file (C(<name>.<pid>.<date>@<time>~), same mode) before replacing it.
        type: bool
        default: false
      tighten_first:
        description:
          - Correct the old file's mode and owner before its content changes, for files that will hold a secret.
        type: bool
        default: false
      return_before:
        description: Return the old content (base64) in RV(files[].before) when the file changes.
        type: bool
        default: false
      max_size:
        description: An old file larger than this (bytes) is refused instead of read and replaced.
        type: int
        default: 16777216
      run_as:
        description: Write the file as this user (see O(inspect[].run_as)).
        type: str
      expect:
        description:
          - The RV(inspected[].version) of the file when it was read (V([]) when it did not exist). When the file is
            no longer that version, nothing of this user (or of this module run, without O(files[].run_as)) is
            written and RV(files[].stale) is returned, so that the caller can read and merge again.
        type: list
        elements: int
  remove:
    description: Files to remove, with the same rules for directories and links as O(files) (see the description).
    type: list
    elements: dict
    default: []
    version_added: 0.2.0
    suboptions:
      path:
        description: The file.
        type: path
        required: true
      expect_sha256:
        description:
          - The SHA-256 (hex) of the bytes that were written there. When the file holds other bytes now it is left
            alone and RV(removed[].kept) is V(changed).
        type: str
      backup:
        description: Keep a copy of the file (C(<name>.<pid>.<date>@<time>~), same mode) before removing it.
        type: bool
        default: false
      max_size:
        description: A file larger than this (bytes) is left alone (RV(removed[].kept) is V(too_large)).
        type: int
        default: 16777216
      run_as:
        description: Remove the file as this user (see O(inspect[].run_as)).
        type: str
"""

EXAMPLES = r"""
- name: Put two rendered files in place, keeping backups
  mailops.clients.rendered_files:
    directories:
      - path: /etc/thunderbird/defaults/pref
        mode: "0755"
    files:
      - path: /etc/thunderbird/defaults/pref/autoconfig.js
        content: "{{ lookup('ansible.builtin.file', 'autoconfig.js') | b64encode }}"
        mode: "0644"
        backup: true
      - path: /etc/thunderbird/mailops.cfg
        content: "{{ lookup('ansible.builtin.file', 'mailops.cfg') | b64encode }}"
        mode: "0644"

- name: Remove a profile this task wrote earlier, only if nobody changed it since, keeping a backup
  mailops.clients.rendered_files:
    remove:
      - path: /srv/profiles/alice.mobileconfig
        expect_sha256: "{{ recorded_sha256 }}"
        backup: true

- name: Read a file and see whether a lock link exists
  mailops.clients.rendered_files:
    inspect:
      - path: /home/alice/.thunderbird/profiles.ini
        read: true
      - path: /home/alice/.thunderbird/abcd.default/lock
        follow: false
  register: seen
"""

RETURN = r"""
inspected:
  description: One entry per O(inspect) item, in order.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The path as given.
      type: str
      sample: /home/alice/.thunderbird/profiles.ini
    exists:
      description: Whether anything is there.
      type: bool
      sample: true
    type:
      description: V(file), V(directory), V(link), V(other), or null when nothing is there.
      type: str
      sample: file
    link_target:
      description: Where a symbolic link points (with O(inspect[].follow=false)).
      type: str
      sample: "127.0.0.1:+4242"
    content:
      description: Base64 content of a regular file when O(inspect[].read) was set.
      type: str
      sample: W0dlbmVyYWxdClN0YXJ0V2l0aExhc3RQcm9maWxlPTEK
    version:
      description: Device, inode, size and modification time (ns) of what is there, for O(files[].expect).
      type: list
      elements: int
      sample: [2049, 131075, 312, 1764768000000000000]
    error:
      description: Why the item could not be inspected as its O(inspect[].run_as) user.
      type: str
      returned: when that user failed
      sample: "user alice: /home/alice/.thunderbird/x/prefs.js is larger than 16 MiB (max_file_size): not read"
directories:
  description: One entry per O(directories) item.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The directory.
      type: str
      sample: /etc/thunderbird/defaults/pref
    changed:
      description: Whether it was created or its attributes corrected (or would be, in check mode).
      type: bool
      sample: false
    error:
      description: Why its O(directories[].run_as) user failed; the directory may not have been created or corrected.
      type: str
      returned: when that user failed
      sample: "user alice: cannot create /home/alice/x: Permission denied"
files:
  description: One entry per O(files) item.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
      sample: /etc/thunderbird/mailops.cfg
    changed:
      description: Whether its content or attributes changed (or would, in check mode).
      type: bool
      sample: true
    existed:
      description: Whether the file was there before.
      type: bool
      sample: true
    backup_file:
      description: The backup of the old file.
      type: str
      returned: when a backup was made
      sample: /etc/thunderbird/mailops.cfg.4242.2026-12-02@14:00:00~
    before:
      description: Base64 of the old content, null when there was none.
      type: str
      returned: when O(files[].return_before) was set and the file changes
      sample: Ly8gb2xkCg==
    stale:
      description: The file changed since it was read (O(files[].expect)); nothing of its user was written.
      type: bool
      returned: when that happened
      sample: true
    error:
      description: Why its O(files[].run_as) user failed; the file may not have been written.
      type: str
      returned: when that user failed
      sample: "user alice: cannot write /home/alice/x/user.js: Permission denied"
removed:
  description: One entry per O(remove) item.
  returned: always
  type: list
  elements: dict
  version_added: 0.2.0
  contains:
    path:
      description: The file.
      type: str
      sample: /srv/profiles/alice.mobileconfig
    changed:
      description: Whether it was removed (or would be, in check mode).
      type: bool
      sample: true
    existed:
      description: Whether anything was there.
      type: bool
      sample: true
    kept:
      description:
        - Why something that is there was left alone, V(changed) (its bytes are not O(remove[].expect_sha256)),
          V(not_a_file) (a link, directory or other) or V(too_large).
      type: str
      returned: when it was left alone
      sample: changed
    backup_file:
      description: The copy kept before removing.
      type: str
      returned: when a backup was made
      sample: /srv/profiles/alice.mobileconfig.4242.2026-12-02@14:00:00~
    stale:
      description: A file of the same user changed since it was read (O(files[].expect)); nothing was removed.
      type: bool
      returned: when that happened
      sample: true
    error:
      description: Why its O(remove[].run_as) user failed; the file may still be there.
      type: str
      returned: when that user failed
      sample: "user alice: cannot open /home/alice/x: Permission denied"
msg:
  description: When a user failed, each user's reason (the other users were done).
  type: str
  returned: failure
  sample: "user alice: cannot write /home/alice/x/user.js: Permission denied"
"""

import base64
import binascii

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mailops.clients.plugins.module_utils._python_floor import require_python

# Before the module_utils that need Python 3.7+: an older Python gets a clear failure, not a SyntaxError.
require_python()

from ansible_collections.mailops.clients.plugins.module_utils._files import MAX_SIZE, FilesError, apply, inspect


def _items(**options):
    """A list option whose items each have a ``path``, the given ``options`` and a ``run_as`` user."""
    return {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": dict({"path": {"type": "path", "required": True}}, run_as={"type": "str"}, **options),
    }


def _encode(data):
    return None if data is None else base64.b64encode(data).decode("ascii")


def main():
    module = AnsibleModule(
        argument_spec={
            "inspect": _items(
                follow={"type": "bool", "default": True},
                read={"type": "bool", "default": False},
                max_size={"type": "int", "default": MAX_SIZE},
            ),
            "directories": _items(mode={"type": "raw"}, owner={"type": "str"}, group={"type": "str"}),
            "files": _items(
                content={"type": "str", "required": True, "no_log": True},
                mode={"type": "raw"},
                owner={"type": "str"},
                group={"type": "str"},
                backup={"type": "bool", "default": False},
                tighten_first={"type": "bool", "default": False},
                return_before={"type": "bool", "default": False},
                max_size={"type": "int", "default": MAX_SIZE},
                expect={"type": "list", "elements": "int"},
            ),
            "remove": _items(
                expect_sha256={"type": "str"},
                backup={"type": "bool", "default": False},
                max_size={"type": "int", "default": MAX_SIZE},
            ),
        },
        supports_check_mode=True,
    )
    files = []
    for index, item in enumerate(module.params["files"]):
        try:
            data = base64.b64decode(item["content"], validate=True)
        except (binascii.Error, ValueError):
            module.fail_json(msg=f"files[{index}].content ({item['path']}) is not base64; encode it with b64encode")
        files.append(dict(item, content=data, before=item["return_before"]))
    try:
        inspected = inspect(module.params["inspect"])
        outcome = apply(module.params["directories"], files, module.check_mode, module.params["remove"])
    except FilesError as exc:
        module.fail_json(msg=str(exc))
    for entry in inspected:
        entry["content"] = _encode(entry["content"])
    for entry in outcome["files"]:
        if "before" in entry:
            entry["before"] = _encode(entry["before"])
    result = {
        "changed": outcome["changed"],
        "inspected": inspected,
        "directories": outcome["directories"],
        "files": outcome["files"],
        "removed": outcome["removals"],
    }
    done = inspected + outcome["directories"] + outcome["files"] + outcome["removals"]
    errors = [e["error"] for e in done if e.get("error")]
    if errors:
        module.fail_json(msg="; ".join(dict.fromkeys(errors)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

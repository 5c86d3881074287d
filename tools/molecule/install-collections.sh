#!/usr/bin/env bash
# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Install third-party collections without Galaxy (not reachable here): download the `ansible` wheel
# from PyPI (pip download --no-deps, cached under .cache/wheels/) and unpack only the collections
# asked for into .cache/collections/ (git-ignored), a few MB instead of the whole ~550 MB package.
# Third-party collection code is never committed.
#   containers.podman  Molecule's podman driver (about 1 MB)
#   ansible.windows    win_copy/win_regedit in roles/outlook/tasks/windows.yml, so that ansible-lint
#                      resolves them (about 2 MB); Linux-only users of the collection never need it
#
# Usage: tools/molecule/install-collections.sh [NAMESPACE.NAME ...]
#        (default: containers.podman ansible.windows)
# Environment:
#   PYTHON                    interpreter with pip (default: .venv/bin/python, else python3)
#   MAILOPS_ANSIBLE_VERSION   the `ansible` release to take them from (default: 12.3.0, the last one
#                             for Python 3.11)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VERSION=${MAILOPS_ANSIBLE_VERSION:-12.3.0}
WHEEL_DIR="$ROOT/.cache/wheels"
DEST="$ROOT/.cache/collections"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
if (($# == 0)); then set -- containers.podman ansible.windows; fi

log() { printf '[collections] %s\n' "$*"; }

missing=()
for fqcn in "$@"; do
    [[ "$fqcn" =~ ^[a-z0-9_]+\.[a-z0-9_]+$ ]] || { log "not a collection name: $fqcn" >&2; exit 2; }
    if [[ -f "$DEST/ansible_collections/${fqcn/.//}/.from-ansible-$VERSION" ]]; then
        log "$fqcn from ansible $VERSION is in $DEST"
    else
        missing+=("$fqcn")
    fi
done
((${#missing[@]})) || exit 0

wheel="$WHEEL_DIR/ansible-$VERSION-py3-none-any.whl"
if [[ ! -f "$wheel" ]]; then
    mkdir -p "$WHEEL_DIR"
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --dest "$WHEEL_DIR" "ansible==$VERSION"
fi

mkdir -p "$DEST"
"$PYTHON" - "$wheel" "$DEST" "$VERSION" "${missing[@]}" <<'EOF'
import shutil
import sys
import zipfile
from pathlib import Path, PurePosixPath

wheel, dest, version, names = sys.argv[1], Path(sys.argv[2]).resolve(), sys.argv[3], sys.argv[4:]
with zipfile.ZipFile(wheel) as archive:
    members = archive.namelist()
    for fqcn in names:
        prefix = "ansible_collections/{}/{}/".format(*fqcn.split("."))
        target_dir = dest.joinpath(*PurePosixPath(prefix).parts)
        shutil.rmtree(target_dir, ignore_errors=True)
        count = 0
        for name in members:
            path = PurePosixPath(name)
            if not name.startswith(prefix) or name.endswith("/") or ".." in path.parts:
                continue
            target = dest.joinpath(*path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(name))
            count += 1
        if not count:
            sys.exit(f"{wheel} holds no {prefix}")
        (target_dir / f".from-ansible-{version}").touch()
        print(f"[collections] unpacked {count} files of {fqcn} into {dest}")
EOF

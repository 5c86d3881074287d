#!/usr/bin/env bash
# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Build the execution environment of examples/execution-environment.yml with ansible-builder and podman,
# without a container registry or Galaxy (docs/execution-environment.md):
#   1. the local Debian base image localhost/mailops-debian:12 (tools/molecule/build-image.sh base, cached);
#   2. ansible.windows from the `ansible` wheel on PyPI (tools/molecule/install-collections.sh, cached);
#   3. stage build/ee/stage/: the definition, a fresh `ansible-galaxy collection build` of this checkout,
#      ansible.windows, requirements.lock as constraints.txt, tools/ee/pkgmgr-apt;
#   4. the recipe hash: SHA-256 over the staged definition, constraints and package manager front, the
#      collections' MANIFEST.json + FILES.json (content checksums, no timestamps), the base image's ID and
#      ansible-builder's version. It is stored as the image label io.mailops.recipe; an image with the same
#      hash is kept as it is (unless --force);
#   5. ansible-builder build (podman build --network host --pull=never: base image local, Debian and PyPI
#      over the network), log with a time stamp per line in build/ee/build.log.
#
# Usage: tools/ee/build.sh [--force] [--no-cache]
#   --force      build even when the image's recipe hash is the current one (podman's layer cache still helps)
#   --no-cache   no layer cache either, every step runs again: what a first build costs (implies --force)
# Environment:
#   MAILOPS_EE_IMAGE  image name (default: localhost/mailops-ee:<collection version of galaxy.yml>)
#   PYTHON            the venv's python with ansible-core and ansible-builder (default: .venv/bin/python)
#   CONTAINERS_CONF   default: tools/molecule/containers.conf (runc, lowered ulimits)
#   MAILOPS_EE_BUILD_CA  CA bundle pip trusts inside the build, for a TLS-inspecting proxy between the build and
#                     PyPI (default: $PIP_CERT when set). It is bind-mounted for the RUN steps with a pip.conf that
#                     names it (at /etc/xdg/pip), so it never becomes part of the image.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/tools/molecule/containers.conf}"
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
BIN=$(dirname "$PYTHON")
BASE_IMAGE=localhost/mailops-debian:12
OUT="$ROOT/build/ee"
STAGE="$OUT/stage"
WINDOWS="$ROOT/.cache/collections/ansible_collections/ansible/windows"

log() { printf '[ee] %s\n' "$*" >&2; }

FORCE=0
NO_CACHE=()
for arg in "$@"; do
    case $arg in
        --force) FORCE=1 ;;
        --no-cache) NO_CACHE=(--no-cache); FORCE=1 ;;
        -h | --help) sed -n '6,29p' "$0"; exit 0 ;;
        *) log "unknown argument: $arg"; exit 2 ;;
    esac
done

command -v podman >/dev/null || { log "podman is missing: run 'make molecule-deps'"; exit 1; }
[[ -x "$BIN/ansible-builder" ]] || { log "$BIN/ansible-builder is missing: run 'make venv'"; exit 1; }
version=$("$PYTHON" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' "$ROOT/galaxy.yml")
IMAGE=${MAILOPS_EE_IMAGE:-localhost/mailops-ee:$version}
start=$SECONDS
mkdir -p "$OUT"
# one build at a time in this checkout (two test sessions, make -j): the second waits, then finds it up to date
exec 9>"$OUT/.lock"
flock 9

"$ROOT/tools/molecule/build-image.sh" base
PYTHON="$PYTHON" "$ROOT/tools/molecule/install-collections.sh" ansible.windows >/dev/null

rm -rf "$STAGE"
mkdir -p "$STAGE"
"$BIN/ansible-galaxy" collection build --force --output-path "$STAGE" "$ROOT" >/dev/null
mv "$STAGE/mailops-clients-$version.tar.gz" "$STAGE/mailops-clients.tar.gz"
cp "$ROOT/examples/execution-environment.yml" "$STAGE/"
cp "$ROOT/requirements.lock" "$STAGE/constraints.txt"
cp "$ROOT/tools/ee/pkgmgr-apt" "$STAGE/"
mkdir "$STAGE/ansible.windows"
(cd "$WINDOWS" && tar --exclude='./.from-ansible-*' -cf - .) | tar -C "$STAGE/ansible.windows" -xf -

recipe=$(
    {
        cd "$STAGE"
        sha256sum execution-environment.yml constraints.txt pkgmgr-apt ansible.windows/MANIFEST.json \
            ansible.windows/FILES.json
        tar -xzOf mailops-clients.tar.gz MANIFEST.json FILES.json | sha256sum
        podman image inspect --format '{{.Id}}' "$BASE_IMAGE"
        "$BIN/ansible-builder" --version
    } | sha256sum | cut -d' ' -f1
)
have=$(podman image inspect --format '{{ index .Labels "io.mailops.recipe" }}' "$IMAGE" 2>/dev/null || true)
if [[ "$have" == "$recipe" && $FORCE != 1 ]]; then
    log "$IMAGE is up to date (recipe ${recipe:0:12})"
    exit 0
fi

build_args=(--network host --pull=never --layers --label "io.mailops.recipe=$recipe")
ca=${MAILOPS_EE_BUILD_CA:-${PIP_CERT:-}}
if [[ -n "$ca" ]]; then
    [[ -f "$ca" ]] || { log "MAILOPS_EE_BUILD_CA / PIP_CERT names no file: $ca"; exit 1; }
    mkdir -p "$OUT/pip"
    cp "$ca" "$OUT/pip/ca.crt"
    printf '[global]\ncert = /etc/xdg/pip/ca.crt\n' >"$OUT/pip/pip.conf"
    # pip's site-wide configuration directory (XDG_CONFIG_DIRS); only an empty directory stays in the image
    build_args+=(-v "$OUT/pip:/etc/xdg/pip:ro")
fi

log "building $IMAGE (recipe ${recipe:0:12}${have:+, was ${have:0:12}}); log: $OUT/build.log"
rm -rf "$OUT/context"
if ! "$BIN/ansible-builder" build --verbosity 3 --container-runtime podman "${NO_CACHE[@]}" \
    -f "$STAGE/execution-environment.yml" -c "$OUT/context" -t "$IMAGE" \
    --extra-build-cli-args "$(printf '%q ' "${build_args[@]}")" 2>&1 |
    while IFS= read -r line; do printf '%(%T)T %s\n' -1 "$line"; done >"$OUT/build.log"; then  # time-stamped
    tail -n 40 "$OUT/build.log" >&2
    log "building $IMAGE failed; the whole log: $OUT/build.log"
    exit 1
fi
# the image this build replaced is left untagged: drop it (only ours, by label)
podman image prune -f --filter label=io.mailops.ee=true >/dev/null 2>&1 || true
log "built $IMAGE in $((SECONDS - start)) s"

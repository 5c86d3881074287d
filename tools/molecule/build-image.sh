#!/usr/bin/env bash
# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Build the images of the Molecule container lab without any container registry:
#   localhost/mailops-debian:12    debootstrap (minbase, bookworm, + python3) | podman import
#                                  cached: rebuilt only when the recipe below changes (its SHA-256
#                                  is stored as the image label io.mailops.recipe)
#   localhost/mailops-mailhost:12  + Dovecot (imapd, pop3d, lmtpd), Postfix, python3-cryptography,
#                                  tools/maillab.py as /opt/maillab/maillab.py
#   localhost/mailops-client:12    + sudo, acl, ca-certificates (become to a profile's OS user)
# The last two are `podman build --network host --pull=never`, so podman's layer cache makes a
# rebuild with nothing changed take about a second.
#
# Usage: tools/molecule/build-image.sh [--force] [base|mailhost|client|all]   (default: all)
#   --force                     re-run debootstrap even when the recipe is unchanged
# Environment:
#   MAILOPS_DEBIAN_MIRROR           Debian mirror (default: http://deb.debian.org/debian)
#   MAILOPS_DEBIAN_SECURITY_MIRROR  security mirror (default: http://deb.debian.org/debian-security)
#   PODMAN                          podman executable (default: podman)
#   CONTAINERS_CONF                 default: tools/molecule/containers.conf (runc, lowered ulimits)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/containers.conf}"
PODMAN=${PODMAN:-podman}
CACHE_DIR="$ROOT/.cache/molecule"

BASE_IMAGE=localhost/mailops-debian:12
MAILHOST_IMAGE=localhost/mailops-mailhost:12
CLIENT_IMAGE=localhost/mailops-client:12

# ---- the base image recipe: everything that goes into recipe_hash() ----
SUITE=bookworm
VARIANT=minbase
INCLUDE=python3
MIRROR=${MAILOPS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${MAILOPS_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

build_rootfs() {  # $1: empty directory to bootstrap into
    local rootfs=$1
    debootstrap --variant="$VARIANT" --include="$INCLUDE" "$SUITE" "$rootfs" "$MIRROR"
    rm -f "$rootfs/etc/apt/sources.list"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    cat >"$rootfs/etc/apt/apt.conf.d/90mailops-container" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*
    rm -rf "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/root/.cache
}
# ---- end of recipe ----

recipe_hash() {
    { declare -p SUITE VARIANT INCLUDE MIRROR SECURITY_MIRROR; declare -f build_rootfs; } | sha256sum | cut -d' ' -f1
}

log() { printf '[build-image] %s\n' "$*" >&2; }

image_label() {  # $1 image, $2 label: prints the label's value, empty when image or label is missing
    "$PODMAN" image inspect --format "{{ index .Labels \"$2\" }}" "$1" 2>/dev/null | sed 's/^<no value>$//' || true
}

build_base() {
    local want have rootfs start
    want=$(recipe_hash)
    have=$(image_label "$BASE_IMAGE" io.mailops.recipe)
    if [[ "$have" == "$want" && "${FORCE:-0}" != 1 ]]; then
        log "$BASE_IMAGE is up to date (recipe ${want:0:12})"
        return 0
    fi
    command -v debootstrap >/dev/null || { log "debootstrap is missing: run 'make molecule-deps'"; exit 1; }
    [[ $(id -u) == 0 ]] || { log "debootstrap needs root"; exit 1; }
    start=$SECONDS
    log "building $BASE_IMAGE (recipe ${want:0:12}${have:+, was ${have:0:12}}) from $MIRROR"
    mkdir -p "$CACHE_DIR"
    rootfs=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
    # shellcheck disable=SC2064  # expand now: the trap must remove this very directory
    trap "on_base_exit '$rootfs'" EXIT
    # a plain call (not in `if`/`||`), so that set -e stops build_rootfs at its first failure
    build_rootfs "$rootfs" >"$CACHE_DIR/debootstrap.log" 2>&1
    tar --numeric-owner --xattrs -C "$rootfs" -c . | "$PODMAN" import --quiet \
        --change 'CMD ["/bin/bash"]' \
        --change 'ENV LANG=C.UTF-8' \
        --change "LABEL io.mailops.recipe=$want" \
        --message "mailops.clients molecule base image (debootstrap $VARIANT $SUITE + $INCLUDE)" \
        - "$BASE_IMAGE" >/dev/null
    cleanup_rootfs "$rootfs"
    trap - EXIT
    log "built $BASE_IMAGE in $((SECONDS - start)) s"
}

on_base_exit() {  # EXIT trap while the base image is built: say why it failed, remove the tree
    local status=$?
    if ((status != 0)); then
        tail -n 20 "$CACHE_DIR/debootstrap.log" >&2 || true
        log "building $BASE_IMAGE failed (exit $status); debootstrap's log: $CACHE_DIR/debootstrap.log"
    fi
    cleanup_rootfs "$1"
}

cleanup_rootfs() {  # unmount whatever a failed debootstrap left mounted, then remove the tree
    local rootfs=$1 mnt
    [[ -d "$rootfs" ]] || return 0
    awk -v p="$rootfs/" 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r | while read -r mnt; do
        umount -l "$mnt" || true
    done
    rm -rf --one-file-system "$rootfs"
}

build_derived() {  # $1 image, $2 Containerfile, $3 context directory
    local start=$SECONDS
    log "building $1 from $(basename "$2")"
    "$PODMAN" build --network host --pull=never --layers --quiet \
        --build-arg "BASE_IMAGE=$BASE_IMAGE" -f "$2" -t "$1" "$3" >/dev/null
    log "built $1 in $((SECONDS - start)) s"
    # the image a rebuild replaced is left untagged: drop it (only ours, by label)
    "$PODMAN" image prune -f --filter label=io.mailops.molecule.image >/dev/null 2>&1 || true
}

build_mailhost() {
    [[ -f "$ROOT/tools/maillab.py" ]] || { log "tools/maillab.py is missing: cannot build $MAILHOST_IMAGE"; exit 1; }
    build_derived "$MAILHOST_IMAGE" "$HERE/Containerfile.mailhost" "$ROOT/tools"
}

build_client() {
    build_derived "$CLIENT_IMAGE" "$HERE/Containerfile.client" "$HERE"
}

FORCE=0
what=all
for arg in "$@"; do
    case $arg in
        --force) FORCE=1 ;;
        base | mailhost | client | all) what=$arg ;;
        -h | --help) sed -n '6,23p' "$0"; exit 0 ;;
        *) log "unknown argument: $arg"; exit 2 ;;
    esac
done

build_base
case $what in
    mailhost) build_mailhost ;;
    client) build_client ;;
    all) build_client; build_mailhost ;;
esac

#!/usr/bin/env bash
# Install the Debian packages the collection's tests, lab and demo need; a no-op when present.
# Usage: tools/install-system-deps.sh [extra packages...]   (root, Debian 12)
set -euo pipefail

packages=(
  dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix
  openssl ca-certificates python3 python3-venv git make rsync shellcheck util-linux procps
  thunderbird libnss3-tools
  knot
  nginx gunicorn
  # Wine's reg.exe reads the Outlook .reg files back (tests/integration/targets/outlook/test_outlook_wine.py): 64-bit
  # only and without recommends (no wine32, fonts or X libraries): about 20 s to install, no display needed.
  wine64
  "$@"
)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  [[ "$status" == ii* ]] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi

echo "install-system-deps: installing ${missing[*]}"
# Keep the package scripts from starting Dovecot or Postfix on the machine's standard ports:
# the lab runs its own instances from private config directories.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  created_policy=1
fi
# An `if`, not `&&`: a false test as the last command of an EXIT trap would become the exit status.
cleanup() { if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
# Postfix asks how it is used; the lab never uses the system instance.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The peer tools the P1 benchmark compares against (Debian packages): monitoring-plugins check_imap and
# check_smtp, and swaks. A no-op when they are installed; without root it only says what is missing (the
# benchmark then reports those peers as "not installed" instead of failing).
#   benchmarks/install-peers.sh
set -euo pipefail

# swaks needs Net::SSLeay and IO::Socket::SSL for STARTTLS (Debian only recommends them).
packages=(monitoring-plugins-basic monitoring-plugins-standard swaks libnet-ssleay-perl libio-socket-ssl-perl)
missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  [[ "$status" == ii* ]] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-peers: not root, cannot install ${missing[*]}; those peers are skipped" >&2
  exit 0
fi
echo "install-peers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Some monitoring-plugins dependencies pull in daemons: keep package scripts from starting services.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT
if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

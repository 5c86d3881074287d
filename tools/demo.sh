#!/usr/bin/env bash
# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# `make demo`: the main job end to end on this machine.
#   1. start the embedded mail lab (real Dovecot + Postfix on 127.0.0.1, per-run CA) in build/demo/lab;
#   2. discover the settings of one address from nothing but the address: `ansible-playbook
#      mailops.clients.discover` for alice@example.test against the discovery lab (tools/discoverylab.py: Knot
#      DNS with RFC 6186 SRV records, an HTTPS autoconfig document, the standard mail ports relayed to the mail
#      lab, all on a private 127.53.N.0/24 loopback block), and print the verified mailops_servers snippet;
#   3. run `ansible-playbook mailops.clients.provision` on the example fleet (examples/inventory): verify
#      every endpoint and login once, then render Thunderbird / Apple Mail / Outlook files per host into
#      build/demo/<host>/<client>/;
#   4. print a summary (endpoint verdicts from the verify report, files per host and client, changed
#      counts);
#   5. publish example.test for self-configuring clients (`ansible-playbook mailops.clients.publish` with the web
#      host of examples/publish-inventory.yml) through a real nginx on 127.0.0.1 and the role's Autodiscover
#      responder (gunicorn), fetch one URL of each kind (both autoconfig URLs, the Apple profile, an Outlook
#      Autodiscover POST) and show the SRV records; nginx and gunicorn are stopped again right after;
#   6. run the round trip (a test message sent and read back) for every demo account with
#      `ansible-playbook mailops.clients.verify -e mailops_verify_roundtrip=true` and print the latencies, and where
#      everything is;
#   7. stop the labs (also on failure or Ctrl-C): nothing is left running.
# Running it again changes nothing in the fleet (every host of the provision play reports changed=0).
#
# Environment: DEMO_DIR (default build/demo), DEMO_PORT_OFFSET (default 0; moves every lab port, e.g. when
# `make lab-up` already holds the default ports), DEMO_VERBOSE=1 (show Ansible's full output), VENV (default .venv:
# the venv whose ansible-core runs the play, e.g. VENV=.venv-2.16 for an older core, see mk/compat.mk).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
demo_dir=${DEMO_DIR:-build/demo}
lab_dir=$demo_dir/lab
port_offset=${DEMO_PORT_OFFSET:-0}
venv=$repo/${VENV:-.venv}
python=$venv/bin/python
log_dir=$demo_dir/logs

if [[ -t 1 ]]; then bold=$'\e[1m' dim=$'\e[2m' red=$'\e[31m' green=$'\e[32m' reset=$'\e[0m'; else
  bold='' dim='' red='' green='' reset=''; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$reset"; }
now_ms() { date +%s%3N; }
elapsed() { local ms=$(($(now_ms) - $1)); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }
started=$(now_ms)

step "Setting up"
if [[ ! -x $python ]]; then
  echo "no $venv: run 'make demo' (it installs the Debian packages and the pinned Python tools first)" >&2
  exit 1
fi
if [[ $(id -u) != 0 ]]; then
  echo "the mail lab needs root (Postfix cannot run unprivileged): run 'make demo' as root" >&2
  exit 1
fi
# Ansible loads this checkout as mailops.clients from build/collections (as the tests do).
link=build/collections/ansible_collections/mailops/clients
if [[ ! -e $link ]]; then
  mkdir -p "$(dirname "$link")"
  ln -sfn "$repo" "$link"
fi
mkdir -p "$demo_dir" "$log_dir"
# Dovecot and Postfix drop privileges: every parent of the lab directory must be searchable.
chmod 755 build "$demo_dir"
export ANSIBLE_COLLECTIONS_PATH=$repo/build/collections${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0
echo "ansible-core $("$python" -c "from ansible.release import __version__; print(__version__)")," \
  "collection mailops.clients from $repo, output in $demo_dir/"

stop_lab() {
  local rc=$?
  if declare -F stop_publish >/dev/null; then stop_publish; fi
  step "Stopping the mail lab"
  "$python" tools/maillab.py down --dir "$lab_dir" 2>&1 | sed 's/^/    /' || true
  exit "$rc"
}
trap stop_lab EXIT
trap 'exit 130' INT TERM

step "Starting the mail lab (Dovecot + Postfix on 127.0.0.1, port offset $port_offset) in $lab_dir"
lab_start=$(now_ms)
# A lab left over in this directory (a killed run) is stopped first; ports held by anything else are an error,
# since the probes would talk to that instead of this run's lab.
"$python" tools/maillab.py down --dir "$lab_dir" >/dev/null 2>&1 || true
if ! "$python" - "$port_offset" <<'PY'
import socket, sys
sys.path.insert(0, "tools")
from maillab import BASE_PORTS
busy = []
for name, port in BASE_PORTS.items():
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port + int(sys.argv[1])))
        except OSError:
            busy.append(f"{name} {port + int(sys.argv[1])}")
if busy:
    print(f"    ports in use by another process: {', '.join(busy)} (see: ss -ltnp)", file=sys.stderr)
    sys.exit(1)
PY
then
  echo "${red}the demo lab's ports are taken${reset}: stop the other lab ('make lab-down') or move this one" \
    "(DEMO_PORT_OFFSET=1000 make demo)" >&2
  exit 1
fi
if ! "$python" tools/maillab.py up --dir "$lab_dir" --port-offset "$port_offset" >"$log_dir/lab-up.json" \
  2>"$log_dir/lab-up.log"; then
  cat "$log_dir/lab-up.log" >&2
  echo "${red}the mail lab did not start${reset}; logs: $lab_dir/log/" >&2
  exit 1
fi
"$python" - "$lab_dir/lab.json" <<'PY'
import json, sys
info = json.load(open(sys.argv[1]))
ports = ", ".join(f"{name} {port}" for name, port in info["ports"].items())
print(f"    {info['hostname']} ({info['host']}): {ports}")
print(f"    CA certificate {info['ca_path']}; users {', '.join(info['users'])}")
PY
echo "    up in $(elapsed "$lab_start")s"

extra_vars=()
if [[ $port_offset != 0 ]]; then
  # The example inventory describes the lab at offset 0; hand it the lab's real ports and CA.
  "$python" - "$lab_dir/lab.json" "$demo_dir/lab-vars.json" <<'PY'
import json, sys
info = json.load(open(sys.argv[1]))
lab = {key: info[key] for key in ("host", "ports", "ca_path")}
json.dump({"demo_lab": lab}, open(sys.argv[2], "w"), indent=2)
PY
  extra_vars=(-e "@$demo_dir/lab-vars.json")
fi
if [[ $demo_dir != build/demo ]]; then
  extra_vars+=(-e "demo_output_dir=$(realpath "$demo_dir")")
fi

step "Discovering the settings of alice@example.test from the address alone (ansible-playbook mailops.clients.discover)"
echo "    ansible-playbook -e @examples/discover-vars.yml mailops.clients.discover, against the discovery lab"
# The discovery lab lives as long as this Python process: it starts Knot and the web server, runs the play,
# and stops them again (also when the play fails or on Ctrl-C). Only the lab's DNS server is asked
# (mailops_discover_dns_servers) and only the domain's own sources, so nothing leaves loopback (no ISPDB).
discover_log=$log_dir/discover.log
discover_start=$(now_ms)
set +e
"$python" - "$lab_dir/lab.json" "$demo_dir" "$venv/bin/ansible-playbook" "$discover_log" \
  examples/discover-vars.yml <<'PY'
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, "tools")
from discoverylab import DiscoveryLab, DiscoveryLabError, Document

lab_json, demo, playbook, log, example_vars = (Path(arg) for arg in sys.argv[1:6])
mail = json.loads(lab_json.read_text())
domain = "example.test"  # the domain of the address in examples/discover-vars.yml
# What a provider publishes (the mail lab's certificate covers mail.example.test): RFC 6186 / RFC 8314 SRV
# records and an autoconfig document (clientConfig 1.1) at https://autoconfig.example.test/.
zones = {
    domain: [
        "mail A {mail}",
        "autoconfig A {web}",
        "_imaps._tcp SRV 0 1 993 mail.example.test.",
        "_submissions._tcp SRV 0 1 465 mail.example.test.",
    ]
}
document = f"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="{domain}">
    <domain>{domain}</domain>
    <displayName>Example Test Ltd</displayName>
    <incomingServer type="imap">
      <hostname>mail.{domain}</hostname><port>993</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>mail.{domain}</hostname><port>465</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>
"""
root = demo / "discovery"
shutil.rmtree(root, ignore_errors=True)  # a fresh Knot database: no zone state of an earlier run
lab = DiscoveryLab(root, mail, zones, web_names=[f"autoconfig.{domain}"])
lab.documents[("https", f"autoconfig.{domain}", "/mail/config-v1.1.xml")] = Document(document.encode())
dest = demo / "discovered"
# what exists only while this lab runs; the rest (address, sources, timeout) is in examples/discover-vars.yml
extra = {"mailops_discover_dest": str(dest.resolve()), "mailops_discover_ca_path": mail["ca_path"]}
try:
    lab.start()
    extra["mailops_discover_dns_servers"] = [lab.dns_address]
    print(f"    discovery lab: Knot DNS {lab.dns_address}, autoconfig.{domain} {lab.web_address}, "
          f"mail.{domain} {lab.mail_address()} (relays to the mail lab)", flush=True)
    vars_file = root / "discover-vars.json"
    vars_file.write_text(json.dumps(extra, indent=2) + "\n")
    with log.open("w") as out:
        rc = subprocess.run(
            [str(playbook), "-e", f"@{example_vars}", "-e", f"@{vars_file}", "mailops.clients.discover"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=120, check=False,
        ).returncode
except (DiscoveryLabError, OSError, subprocess.TimeoutExpired) as exc:
    print(f"    the discovery lab or the play did not run: {exc}", file=sys.stderr)
    rc = 1
finally:
    lab.stop()
if rc != 0:
    sys.exit(rc)
for name in ("discovered.txt", "mailops_servers.yml"):
    print(f"    {dest / name}:")
    for line in (dest / name).read_text().splitlines():
        print(f"      {line}")
PY
rc=$?
set -e
discover_time=$(elapsed "$discover_start")
echo "    discovered in ${discover_time}s (exit $rc); full output: $discover_log"
if [[ $rc != 0 ]]; then
  grep -sE '^(fatal|failed):|"msg"' "$discover_log" | sed 's/^/    /' >&2 || true
  echo "${red}discovery failed (exit $rc): see $discover_log and $demo_dir/discovery/knot.log${reset}" >&2
  exit "$rc"
fi

step "Verifying the example fleet and rendering its clients (ansible-playbook mailops.clients.provision)"
echo "    inventory examples/inventory (hosts: $(grep -oE '^ +[a-z][a-z0-9-]+: \{\}' examples/inventory/hosts.yml \
  | tr -d ' {}:' | paste -sd ' ')), vault password file examples/vault-password.txt (demo only)"
run_log=$log_dir/provision.log
run_start=$(now_ms)
set +e
"$venv/bin/ansible-playbook" -i examples/inventory --vault-password-file examples/vault-password.txt \
  "${extra_vars[@]}" mailops.clients.provision 2>&1 | tee "$run_log" | {
  if [[ ${DEMO_VERBOSE:-0} == 1 ]]; then cat; else
    # A readable stream: each task once, the verdict line of every endpoint, what changed or failed.
    awk -v dim="$dim" -v reset="$reset" '
      /^TASK \[.*(Validating arguments|Gate \|)/ { next }
      /^TASK \[/ { sub(/^TASK \[/, ""); sub(/\] \**$/, ""); printf "    %s- %s%s\n", dim, $0, reset; fflush(); next }
      /^ *"(imap|pop3|smtp):\/\/[^"]*: (ok|warning|error)/ { line = $0; gsub(/^ *"|",?$/, "", line); print "      verdict " line; fflush(); next }
      /^(changed|fatal|failed):/ { print "      " $0; fflush(); next }
      /^\[(ERROR|WARNING)\]/ { print "      " $0; fflush(); next }
      /^PLAY RECAP/ { recap = 1 }
      recap && NF { print "    " $0; fflush() }
    '
  fi
}
rc=${PIPESTATUS[0]}
set -e
run_time=$(elapsed "$run_start")
echo "    ansible-playbook finished in ${run_time}s (exit $rc); full output: $run_log"

step "Summary"
"$python" - "$demo_dir" "$run_log" <<'PY'
import json
import re
import sys
from pathlib import Path

demo, log = Path(sys.argv[1]), Path(sys.argv[2])
report_path = demo / "reports" / "mailops-verify.json"
if report_path.exists():
    report = json.loads(report_path.read_text())
    rows = [("endpoint", "verdict", "accounts", "logins", "findings")]
    for ep in report["endpoints"]:
        codes = ", ".join(f"{f['code']} ({f['severity']})" for f in ep["findings"]) or "-"
        rows.append((ep["key"], ep["verdict"], str(ep["accounts"]), str(ep["credentials_checked"]), codes))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print("Endpoints (verify report):")
    for index, row in enumerate(rows):
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))
    bad = [acc for acc in report["accounts"] if acc["verdict"] == "error"]
    summary = report["summary"]
    print(f"  overall verdict: {summary['verdict']}; {len(report['accounts'])} accounts, {len(bad)} not verified"
          + "".join(f"\n    {acc['host']}: {acc['id']}" for acc in bad))
else:
    print(f"no verify report at {report_path}")

recap = {}
for line in log.read_text(errors="replace").splitlines():
    match = re.match(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", line)
    if match:
        recap[match.group(1)] = {"changed": int(match.group(3)), "failed": int(match.group(4)) + int(match.group(5))}

print("\nFiles per host and client:")
not_hosts = ("lab", "logs", "reports", "discovery", "discovered")
hosts = sorted(set(recap) | {p.name for p in demo.iterdir() if p.is_dir() and p.name not in not_hosts})
for host in hosts:
    state = recap.get(host)
    state_text = f"changed={state['changed']} failed={state['failed']}" if state else "not in this run"
    print(f"  {host}  ({state_text})")
    clients = sorted(p for p in (demo / host).iterdir() if p.is_dir()) if (demo / host).is_dir() else []
    if not clients:
        print("    (no clients rendered: no mailops_clients list)")
    for client in clients:
        files = sorted(p for p in client.rglob("*") if p.is_file() and not re.search(r"\.\d+\.\d{4}-\d\d-\d\d@", p.name))
        print(f"    {client.name}: {len(files)} file(s)")
        for path in files:
            print(f"      {path}")
total = sum(s["changed"] for s in recap.values())
print(f"\nchanged tasks in this run: {total}" + (" (nothing to do: the fleet is up to date)" if recap and total == 0 else ""))
PY

step "Publishing example.test for self-configuring clients (ansible-playbook mailops.clients.publish)"
# A real nginx from build/demo/publish/nginx on 127.0.0.1 and the role's Autodiscover responder (a gunicorn daemon
# with its files in build/demo/publish/autodiscover, on 127.0.0.1:10451 + offset), both stopped again at the end, a
# certificate from the lab's CA; the web host web-mail is examples/publish-inventory.yml. The verify play of the publish playbook runs on the
# web host and lin-alice, whose account uses the published server, and probes without logins (publishing needs the
# servers' verdicts, not the accounts' passwords): the whole fleet was verified just before.
publish_dir=$demo_dir/publish
# ports that no lab at another offset (steps of 100) uses: 10450 and 10451 are not a lab port modulo 100
publish_port=$((10450 + port_offset))
autodiscover_port=$((10451 + port_offset))
publish_log=$log_dir/publish.log
publish_start=$(now_ms)
"$python" - "$lab_dir/lab.json" "$publish_dir" <<'PY'
import json, sys
from pathlib import Path
sys.path.insert(0, "tools")
from maillab import issue_cert
info, root = json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]).resolve()
for sub in ("tls", "nginx/conf.d", "nginx/tmp", "www"):
    (root / sub).mkdir(parents=True, exist_ok=True)
names = ["autoconfig.example.test", "example.test", "autodiscover.example.test"]
cert, key = issue_cert(Path(info["ca_path"]).read_bytes(), Path(info["ca_key_path"]).read_bytes(), names)
(root / "tls/web.crt").write_bytes(cert)
(root / "tls/web.key").touch(mode=0o600)
(root / "tls/web.key").write_bytes(key)
nginx = root / "nginx"
temp = "".join(f"    {kind}_temp_path {nginx}/tmp/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
(nginx / "nginx.conf").write_text(
    f"worker_processes 1;\npid {nginx}/nginx.pid;\nerror_log {nginx}/error.log warn;\n"
    f"events {{ worker_connections 64; }}\nhttp {{\n    access_log {nginx}/access.log;\n{temp}"
    f"    include {nginx}/conf.d/*.conf;\n}}\n"
)
PY
# the responder's system user: one per port offset (the ansible-core matrix runs demos side by side), removed at
# the end when this run created it, so that the demo leaves nothing on the machine outside build/
responder_user=mailops-demo-ad$port_offset
responder_user_existed=$(getent passwd "$responder_user" >/dev/null && echo yes || echo no)
stop_publish() {  # nginx and the responder's gunicorn, each by its pid file; waits (bounded) until they are gone
  local pid_file pid tries
  for pid_file in "$publish_dir/nginx/nginx.pid" "$publish_dir/autodiscover/run/gunicorn.pid"; do
    [[ -s $pid_file ]] || continue
    pid=$(cat "$pid_file")
    kill "$pid" 2>/dev/null || continue
    for ((tries = 0; tries < 100; tries++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  done
  if [[ $responder_user_existed == no ]] && getent passwd "$responder_user" >/dev/null; then
    userdel "$responder_user" 2>/dev/null || true
  fi
}
set +e
"$venv/bin/ansible-playbook" -i examples/inventory -i examples/publish-inventory.yml \
  --vault-password-file examples/vault-password.txt "${extra_vars[@]}" -e "demo_publish_port=$publish_port" \
  -e "demo_autodiscover_port=$autodiscover_port" -e "mailops_publish_autodiscover_user=$responder_user" \
  -e mailops_hosts=web-mail:lin-alice -e mailops_verify_credentials=false -e mailops_verify_report_dir= \
  mailops.clients.publish >"$publish_log" 2>&1
publish_rc=$?
set -e
grep -E '^web-mail +:' "$publish_log" | sed 's/^/    /' || true
base=https://autoconfig.example.test:$publish_port
fetch() {  # what a client gets: status, content type, size (curl resolves the names to 127.0.0.1 itself)
  local host=$1 path=$2
  shift 2
  rm -f "$publish_dir/last-answer"
  curl -sS -o "$publish_dir/last-answer" --max-time 5 --cacert "$(realpath "$lab_dir")/tls/ca.crt" \
    --resolve "$host:$publish_port:127.0.0.1" -w "    %{http_code} %{content_type} %{size_download} bytes  " "$@" \
    "https://$host:$publish_port$path" || true
  echo "https://$host:$publish_port$path"
}
fetch autoconfig.example.test "/mail/config-v1.1.xml?emailaddress=alice%40example.test"
if [[ -s $publish_dir/last-answer ]]; then
  "$python" - "$publish_dir/last-answer" <<'PY' || true
import sys
import xml.etree.ElementTree as ET
for server in ET.parse(sys.argv[1]).getroot().iter():
    if server.tag in ("incomingServer", "outgoingServer"):
        values = [server.findtext(name) for name in ("hostname", "port", "socketType", "username")]
        print(f"      {server.tag} {server.get('type')}: {values[0]}:{values[1]} {values[2]} user {values[3]}")
PY
fi
fetch example.test /.well-known/autoconfig/mail/config-v1.1.xml
fetch autoconfig.example.test /mail/example.test.mobileconfig
fetch autodiscover.example.test /autodiscover/autodiscover.xml -X POST -H 'Content-Type: text/xml; charset=utf-8' \
  --data '<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>alice@example.test</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>'
if [[ -s $publish_dir/last-answer ]]; then
  "$python" - "$publish_dir/last-answer" <<'PY' || true
import sys
import xml.etree.ElementTree as ET
ns = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"
for proto in ET.parse(sys.argv[1]).getroot().iter(ns + "Protocol"):
    values = [proto.findtext(ns + name) for name in ("Type", "Server", "Port", "Encryption", "LoginName")]
    print(f"      Protocol {values[0]}: {values[1]}:{values[2]} Encryption {values[3]} LoginName {values[4]}")
PY
fi
if [[ -s $publish_dir/srv-records.zone ]]; then
  echo "    SRV records (zone snippet $publish_dir/srv-records.zone):"
  grep -v '^;' "$publish_dir/srv-records.zone" | grep . | sed 's/^/      /'
fi
stop_publish
echo "    published in $(elapsed "$publish_start")s (exit $publish_rc); full output: $publish_log (base URL $base)"
if [[ $publish_rc != 0 ]]; then
  grep -sE '^(fatal|failed):|"msg"' "$publish_log" | sed 's/^/    /' >&2 || true
  echo "${red}publishing failed (exit $publish_rc): see $publish_log${reset}" >&2
fi

step "Round trip for every demo account (ansible-playbook mailops.clients.verify -e mailops_verify_roundtrip=true)"
# A test message per account, from the account to itself, waited for in its mailbox and deleted (the lab delivers
# locally through Dovecot LMTP). A run of its own, after the provision run: its reports (with the delivery
# latencies, which differ from run to run) go to reports-roundtrip/ and do not touch the idempotent provision run.
trip_log=$log_dir/roundtrip.log
trip_start=$(now_ms)
set +e
"$venv/bin/ansible-playbook" -i examples/inventory --vault-password-file examples/vault-password.txt \
  "${extra_vars[@]}" -e mailops_verify_roundtrip=true -e mailops_verify_fail_on=never \
  -e "mailops_verify_report_dir=$(realpath "$demo_dir")/reports-roundtrip" mailops.clients.verify >"$trip_log" 2>&1
trip_rc=$?
set -e
"$python" - "$demo_dir/reports-roundtrip/mailops-verify.json" <<'PY'
import json
import sys
from pathlib import Path

path = Path(sys.argv[1])
if not path.exists():
    print(f"    no round-trip report at {path}")
    sys.exit(0)
report = json.loads(path.read_text())
rows = [("host", "account", "round trip", "latency", "findings")]
for acc in report["accounts"]:
    trip = acc.get("roundtrip") or {}
    latency = f"{trip['latency_ms'] / 1000:.2f} s" if trip.get("latency_ms") is not None else "-"
    status = trip.get("status", "-") + (f" ({trip['reason']})" if trip.get("reason") else "")
    rows.append((acc["host"], acc["id"], status, latency, ", ".join(trip.get("codes") or []) or "-"))
widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
for index, row in enumerate(rows):
    print("    " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    if index == 0:
        print("    " + "  ".join("-" * width for width in widths))
counts = report["summary"].get("roundtrips") or {}
print("    " + ", ".join(f"{count} {status}" for status, count in counts.items() if count))
PY
echo "    round trips finished in $(elapsed "$trip_start")s (exit $trip_rc); full output: $trip_log"

step "Where things are"
cat <<EOF
    profiles        $demo_dir/<host>/<client>/
    verify reports  $demo_dir/reports/mailops-verify.json, $demo_dir/reports/mailops-verify.junit.xml
    discovered      $demo_dir/discovered/mailops_servers.yml, discovered.txt, discovered.json
                    (ansible output $discover_log; the discovery lab's zone and Knot log in $demo_dir/discovery/)
    round trips     $demo_dir/reports-roundtrip/mailops-verify.json (latencies), $log_dir/roundtrip.log
    ansible output  $run_log
    lab logs        $lab_dir/log/dovecot.log, $lab_dir/log/postfix.log (kept; the lab itself is stopped next)
    total time      $(elapsed "$started")s (discovery ${discover_time}s, provision ${run_time}s)
EOF
if [[ $rc != 0 ]]; then
  echo "${red}ansible-playbook failed (exit $rc): see the fatal lines above and $run_log${reset}" >&2
  exit "$rc"
fi
echo "${green}demo finished: run 'make demo' again to see an idempotent run (changed=0 everywhere)${reset}"

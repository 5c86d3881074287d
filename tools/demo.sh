#!/usr/bin/env bash
# `make demo`: start the embedded mail lab, run the main job against it, stop the lab.
# Until the provisioning playbooks land this proves the lab: every port answers and the
# certificate verifies against the per-run CA.
set -euo pipefail
cd "$(dirname "$0")/.."
lab_dir=${LAB_DIR:-build/demo/lab}
python=.venv/bin/python

mkdir -p "$(dirname "$lab_dir")"
chmod 755 build "$(dirname "$lab_dir")"
trap '$python tools/maillab.py down --dir "$lab_dir"' EXIT
$python tools/maillab.py up --dir "$lab_dir" >/dev/null
$python - "$lab_dir/lab.json" <<'PY'
import json, socket, ssl, sys
info = json.load(open(sys.argv[1]))
context = ssl.create_default_context(cafile=info["ca_path"])
print(f"{'service':<12} {'port':>6}  result")
for name, port in info["ports"].items():
    with socket.create_connection((info["host"], port), timeout=5) as sock:
        if name in ("imaps", "pop3s", "submissions"):
            with context.wrap_socket(sock, server_hostname=info["hostname"]) as tls:
                banner = tls.recv(200).decode(errors="replace").strip()
                result = f"{tls.version()}, certificate verified; {banner[:40]}"
        else:
            result = sock.recv(200).decode(errors="replace").strip()[:60]
    print(f"{name:<12} {port:>6}  {result}")
PY

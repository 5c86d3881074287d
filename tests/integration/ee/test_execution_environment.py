# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The execution environment (examples/execution-environment.yml, ``make ee``) running jobs the way AWX does.

Each job is ``ansible-runner run <private data dir> --process-isolation --container-image <the EE>``: the project
holds a playbook that imports ``mailops.clients.verify`` or ``.provision`` (as an AWX project does), the inventory
is examples/inventory, extra vars are ``env/extravars``, the vault password is answered through ``env/passwords``
to ``--vault-id default@prompt`` (what AWX does with a vault credential), and the collection is the one built into
the image: nothing of the checkout is mounted. The targets are the session's mail lab on loopback (the container
shares the host's network); rendered files go to ``/runner/output``, inside the private data dir.

The job runs as the uid that runs ansible-runner (``--user``, as ansible-runner itself does with docker): the
artifact directory runner prepares is 0700, and the job's callback writes its events there.
"""

from __future__ import annotations

import json
import os
import plistlib
import re
import shutil
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

# the first test may build the image (tools/ee/build.sh, minutes when nothing is cached; make test-ee builds it first)
pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
CONTAINERS_CONF = REPO / "tools" / "molecule" / "containers.conf"
VAULT_PASSWORD = (REPO / "examples" / "vault-password.txt").read_text(encoding="utf-8").strip()
HOSTS = {"lin-alice", "lin-frontdesk", "mac-bob", "scan-hall", "win-carol"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def podman_env() -> dict:
    return dict(os.environ, CONTAINERS_CONF=str(CONTAINERS_CONF))


def podman_problem() -> str | None:
    """Why podman cannot run containers here, or None."""
    if shutil.which("podman") is None:
        return "podman is not installed (make molecule-deps installs it)"
    info = subprocess.run(
        ["podman", "info", "--format", "{{.Host.OCIRuntime.Name}}"],
        env=podman_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if info.returncode != 0:
        return f"podman cannot run here: {(info.stderr.strip().splitlines() or ['no message'])[-1]}"
    return None


@pytest.fixture(scope="module")
def ee_image() -> str:
    """The EE image, built by tools/ee/build.sh (what ``make ee`` runs; a no-op when its recipe is unchanged)."""
    problem = podman_problem()
    if problem:
        pytest.skip(f"execution environment not tested: {problem}")
    build = subprocess.run(
        [str(REPO / "tools" / "ee" / "build.sh")],
        env=dict(podman_env(), PYTHON=sys.executable),
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-4000:]
    version = yaml.safe_load((REPO / "galaxy.yml").read_text(encoding="utf-8"))["version"]
    return os.environ.get("MAILOPS_EE_IMAGE", f"localhost/mailops-ee:{version}")


@dataclass
class Job:
    """What a finished ansible-runner job left: the artifacts AWX shows, and the private data dir."""

    private_data_dir: Path
    ident: str
    runner: subprocess.CompletedProcess

    @property
    def artifacts(self) -> Path:
        return self.private_data_dir / "artifacts" / self.ident

    @property
    def status(self) -> str:
        return (self.artifacts / "status").read_text(encoding="utf-8")

    @property
    def rc(self) -> int:
        return int((self.artifacts / "rc").read_text(encoding="utf-8"))

    @property
    def events(self) -> list[dict]:
        files = (self.artifacts / "job_events").glob("*.json")
        return sorted((json.loads(path.read_text(encoding="utf-8")) for path in files), key=lambda e: e["counter"])

    @property
    def stdout(self) -> str:
        """The job output as AWX shows it: the stdout of every event, in order, without colours."""
        return ANSI.sub("", "\n".join(event["stdout"] for event in self.events if event.get("stdout")))

    @property
    def stats(self) -> dict:
        (stats,) = [event["event_data"] for event in self.events if event["event"] == "playbook_on_stats"]
        return stats

    @property
    def output(self) -> Path:
        return self.private_data_dir / "output"

    def explain(self) -> str:
        return f"status {self.status}, rc {self.rc}\n{self.stdout[-4000:]}\n{self.runner.stderr[-2000:]}"


def run_job(image: str, lab, tmp: Path, playbook: str, limit: str | None = None, **extravars) -> Job:
    """An AWX-style job: mailops.clients.<playbook> in the EE, the lab's ports and CA as extra vars."""
    ident = f"{playbook}-{len(list(tmp.iterdir()))}"
    pdd = tmp / ident
    (pdd / "project").mkdir(parents=True)
    (pdd / "project" / f"{playbook}.yml").write_text(
        f"---\n- name: The collection's {playbook} playbook, as an AWX project runs it\n"
        f"  ansible.builtin.import_playbook: mailops.clients.{playbook}\n",
        encoding="utf-8",
    )
    shutil.copytree(REPO / "examples" / "inventory", pdd / "inventory")
    (pdd / "lab").mkdir()
    shutil.copyfile(lab.ca_path, pdd / "lab" / "ca.crt")
    ports = dict(lab.ports, **extravars.pop("ports", {}))
    env = pdd / "env"
    env.mkdir()
    variables = {"demo_lab": {"host": lab.host, "ports": ports, "ca_path": "/runner/lab/ca.crt"}}
    variables.update(demo_output_dir="/runner/output", **extravars)
    (env / "extravars").write_text(json.dumps(variables), encoding="utf-8")
    (env / "cmdline").write_text("--vault-id default@prompt", encoding="utf-8")
    (env / "passwords").write_text(json.dumps({r"^Vault password \(default\):\s*?$": VAULT_PASSWORD}), encoding="utf-8")
    name = f"mailops-ee-{ident}-{os.getpid()}"
    cmd = [str(BIN / "ansible-runner"), "run", str(pdd), "-p", f"{playbook}.yml", "--ident", ident]
    cmd += ["--process-isolation", "--process-isolation-executable", "podman", "--container-image", image]
    if limit:  # a job template's Limit field
        cmd += ["--limit", limit]
    for option in ("--network=host", f"--user={os.getuid()}", f"--name={name}", "--label=io.mailops.ee.job=true"):
        cmd.append(f"--container-option={option}")
    try:
        runner = subprocess.run(cmd, env=podman_env(), capture_output=True, text=True, timeout=600, check=False)
    finally:  # a job that outlived the timeout must not outlive the test
        subprocess.run(["podman", "rm", "-f", "-t", "0", name], env=podman_env(), capture_output=True, check=False)
    return Job(pdd, ident, runner)


def failed_hosts(job: Job) -> set[str]:
    return set(job.stats["failures"]) | set(job.stats["dark"])


def assert_no_secret(job: Job, lab) -> None:
    """Neither the vault password nor any decrypted account password in the artifacts or the rendered files."""
    secrets = [VAULT_PASSWORD, *lab.users.values()]
    for top in (job.artifacts, job.output):
        for path in top.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for secret in secrets:
                    assert secret.encode() not in data, f"{secret!r} in {path}"
                    assert secret.encode("utf-16-le") not in data, f"{secret!r} (UTF-16) in {path}"


@pytest.fixture(scope="module")
def verify_job(ee_image, mail_lab, tmp_path_factory) -> Job:
    return run_job(ee_image, mail_lab, tmp_path_factory.mktemp("ee-verify"), "verify")


@pytest.fixture(scope="module")
def provision_job(ee_image, mail_lab, tmp_path_factory) -> Job:
    return run_job(ee_image, mail_lab, tmp_path_factory.mktemp("ee-provision"), "provision")


def test_verify_job_succeeds_and_reports_every_endpoint(verify_job, mail_lab):
    job, ports = verify_job, mail_lab.ports
    assert (job.status, job.rc) == ("successful", 0), job.explain()
    # it really ran in the image: podman run of the EE, ansible-playbook with the vault prompt
    command = json.loads((job.artifacts / "command").read_text(encoding="utf-8"))["command"]
    assert command[:2] == ["podman", "run"]
    assert command[command.index("ansible-playbook") - 1].startswith("localhost/mailops-ee:")
    assert command[command.index("ansible-playbook") + 1 :][:2] == ["--vault-id", "default@prompt"]
    # the job output AWX shows: a verdict line per endpoint, the recap of every host
    for line in (
        f"imap://127.0.0.1:{ports['imaps']}/tls: ok (4 accounts, 3 credentials checked)",
        f"smtp://127.0.0.1:{ports['submission']}/starttls: ok",
        f"pop3://localhost:{ports['pop3s']}/tls: ok",
        f"smtp://localhost:{ports['submissions']}/tls: ok",
    ):
        assert line in job.stdout
    assert set(job.stats["ok"]) == HOSTS
    assert failed_hosts(job) == set()

    report = json.loads((job.output / "reports" / "mailops-verify.json").read_text(encoding="utf-8"))
    assert {ep["key"]: ep["verdict"] for ep in report["endpoints"]} == {
        f"imap://127.0.0.1:{ports['imaps']}/tls": "ok",
        f"pop3://localhost:{ports['pop3s']}/tls": "ok",
        f"smtp://127.0.0.1:{ports['submission']}/starttls": "ok",
        f"smtp://localhost:{ports['submissions']}/tls": "ok",
    }
    # every account logged in: the vault password reached ansible-playbook through the runner's prompt answer
    checked = {(a["id"], a["credentials"]["incoming"], a["credentials"]["outgoing"]) for a in report["accounts"]}
    assert checked == {
        (account, "ok", "ok")
        for account in (
            "alice@example.test",
            "alice@example.org",
            "frontdesk@example.org",
            "bob@example.test",
            "scanner@example.test",
            "carol@example.test",
            "carol@example.org",
        )
    }
    junit = ET.parse(job.output / "reports" / "mailops-verify.junit.xml").getroot()  # noqa: S314 (our own report)
    assert (junit.get("tests"), junit.get("failures")) == ("11", "0")
    assert not (job.output / "lin-alice").exists()  # verify only: nothing rendered
    assert_no_secret(job, mail_lab)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_verify_job_fails_when_a_server_is_broken(ee_image, mail_lab, tmp_path):
    port = closed_port()
    # limited to the one host whose only account uses the broken server (and to keep the job short)
    job = run_job(ee_image, mail_lab, tmp_path, "verify", limit="lin-frontdesk,mac-bob", ports={"pop3s": port})
    # what a CI-style job template shows: the job failed, for the host that uses the broken server
    assert (job.status, job.rc) == ("failed", 2), job.explain()
    assert failed_hosts(job) == {"lin-frontdesk"}
    assert set(job.stats["ok"]) == {"lin-frontdesk", "mac-bob"}
    assert f"pop3://localhost:{port}/tls: error [connection_refused] (1 account)" in job.stdout
    reports = job.output / "reports"
    assert sorted(path.name for path in reports.iterdir()) == [
        "mailops-verify.partial.json",
        "mailops-verify.partial.junit.xml",
    ]
    junit = ET.parse(reports / "mailops-verify.partial.junit.xml").getroot()  # noqa: S314 (our own report)
    failures = {case.get("name") for case in junit.iter("testcase") if case.find("failure") is not None}
    assert failures == {f"pop3://localhost:{port}/tls", "frontdesk@example.org"}
    assert_no_secret(job, mail_lab)


def test_provision_job_renders_each_hosts_clients(provision_job, mail_lab):
    job, ports, output = provision_job, mail_lab.ports, provision_job.output
    assert (job.status, job.rc) == ("successful", 0), job.explain()
    assert failed_hosts(job) == set()
    assert {host for host, count in job.stats["changed"].items() if count} >= HOSTS - {"scan-hall"}
    rendered = sorted(str(path.relative_to(output)) for path in output.rglob("*") if path.is_file())
    assert [path for path in rendered if not path.startswith("reports/")] == [
        "lin-alice/thunderbird/alice/mailops.default/prefs.js",
        "lin-alice/thunderbird/alice/mailops.default/user.js",
        "lin-alice/thunderbird/alice/profiles.ini",
        "lin-alice/thunderbird/enterprise/defaults/pref/autoconfig.js",
        "lin-alice/thunderbird/enterprise/mailops.cfg",
        "lin-frontdesk/thunderbird/enterprise/defaults/pref/autoconfig.js",
        "lin-frontdesk/thunderbird/enterprise/mailops.cfg",
        "lin-frontdesk/thunderbird/frontdesk/mailops.default/prefs.js",
        "lin-frontdesk/thunderbird/frontdesk/mailops.default/user.js",
        "lin-frontdesk/thunderbird/frontdesk/profiles.ini",
        "mac-bob/apple_mail/mac-bob/.mailops-clients-apple_mail.json",
        "mac-bob/apple_mail/mac-bob/bob.mobileconfig",
        "mac-bob/thunderbird/bob/mailops.default/prefs.js",
        "mac-bob/thunderbird/bob/mailops.default/user.js",
        "mac-bob/thunderbird/bob/profiles.ini",
        "win-carol/outlook/win-carol/.mailops-clients-outlook.json",
        "win-carol/outlook/win-carol/carol/autodiscover/example.org.xml",
        "win-carol/outlook/win-carol/carol/autodiscover/example.test.xml",
        "win-carol/outlook/win-carol/carol/mailops-outlook.prf",
        "win-carol/outlook/win-carol/carol/mailops-outlook.reg",
    ]
    user_js = (output / "lin-alice/thunderbird/alice/mailops.default/user.js").read_text(encoding="utf-8")
    assert f'user_pref("mail.server.server1000.port", {ports["imaps"]});' in user_js
    assert f'user_pref("mail.server.server1001.port", {ports["pop3s"]});' in user_js
    profile = plistlib.loads((output / "mac-bob/apple_mail/mac-bob/bob.mobileconfig").read_bytes())
    (mail,) = profile["PayloadContent"]
    assert (mail["EmailAddress"], mail["IncomingMailServerPortNumber"]) == ("bob@example.test", ports["imaps"])
    assert_no_secret(job, mail_lab)


def test_collection_requirements_reach_the_image_by_introspection(ee_image, tmp_path):
    """requirements.txt of the installed collection, read by ansible-builder, is satisfied inside the image."""
    copy = tmp_path / "collections"
    copy.mkdir()
    subprocess.run(
        ["podman", "run", "--rm", "--user=0", "-v", f"{copy}:/copy", ee_image]
        + ["cp", "-a", "/usr/share/ansible/collections/ansible_collections", "/copy/"],
        env=podman_env(),
        capture_output=True,
        timeout=120,
        check=True,
    )
    introspect = subprocess.run(
        [str(BIN / "ansible-builder"), "introspect", "--write-pip", str(tmp_path / "pip.txt"), str(copy)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    ours = [
        line.split("#")[0].strip()
        for line in (tmp_path / "pip.txt").read_text(encoding="utf-8").splitlines()
        if "# from collection mailops.clients" in line
    ]
    assert "cryptography>=39.0" in ours, introspect.stdout  # requirements.txt was left out of the tarball
    check = (
        "import sys\nfrom importlib.metadata import version\nfrom packaging.requirements import Requirement\n"
        "for line in sys.argv[1:]:\n    req = Requirement(line)\n"
        "    print(line, version(req.name), req.specifier.contains(version(req.name), prereleases=True))\n"
    )
    result = subprocess.run(
        ["podman", "run", "--rm", ee_image, "python3", "-c", check, *ours],
        env=podman_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert [line.rsplit(" ", 1)[1] for line in result.stdout.splitlines()] == ["True"] * len(ours), result.stdout

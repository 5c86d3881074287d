# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared plumbing of the benchmarks: the collection on sys.path, the lab, the machine, measured runs."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS_DIR = REPO / "build" / "collections"
CALLBACK_DIR = Path(__file__).resolve().parent / "callback_plugins"
BIN = Path(sys.executable).parent

_LINK = COLLECTIONS_DIR / "ansible_collections" / "mailops" / "clients"
if not _LINK.exists():  # the same symlink tree as tests/conftest.py and the Makefile
    _LINK.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        _LINK.symlink_to(REPO, target_is_directory=True)
for _path in (str(REPO / "tools"), str(COLLECTIONS_DIR)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from maillab import BASE_PORTS, MailLab  # noqa: E402  (needs tools/ on sys.path)

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the lab ---------------------------------------------------------------------------------------
def free_port_offset(start=2000, stop=6000, step=100):
    """The first offset from ``start`` whose lab ports are all free (tests use 100.., the demo 0)."""
    for offset in range(start, stop, step):
        sockets = []
        try:
            for port in BASE_PORTS.values():
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", port + offset))
            return offset
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no free port range for the benchmark lab at offsets {start}..{stop}")


@contextlib.contextmanager
def lab_running(users, offset=None):
    """A started MailLab with ``users`` extra accounts in a fresh 0755 temp dir; stopped and removed after."""
    root = Path(tempfile.mkdtemp(prefix="mailops-bench-lab-"))
    root.chmod(0o755)  # Dovecot and Postfix drop privileges and must traverse it (/tmp is 1777)
    offset = offset if offset is not None else free_port_offset()
    lab = MailLab(root=root, port_offset=offset, extra_users=users)
    started = time.monotonic()
    try:
        lab.start()
        log(f"lab up at port offset {offset} with {len(lab.users)} users in {time.monotonic() - started:.1f}s")
        yield lab
    finally:
        lab.stop()
        shutil.rmtree(root, ignore_errors=True)


def lab_users(lab, count):
    """The first ``count`` generated lab accounts (user0001..) as (username, password) pairs."""
    users = [(u, p) for u, p in lab.users.items() if u.startswith("user")]
    if len(users) < count:
        raise RuntimeError(f"the lab has {len(users)} generated users, {count} needed")
    return users[:count]


def verified_context(ca_path):
    """The raw floor's SSLContext: verified chain and host name against the lab CA, TLS 1.2 or later."""
    context = ssl.create_default_context(cafile=ca_path)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


# --- the machine -----------------------------------------------------------------------------------
def _first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else None


def _dpkg_version(package):
    return _first_line(["dpkg-query", "-W", "-f=${Version}", package])


def machine():
    """What the figures were measured on (cores, memory, CPU, versions, date, load)."""
    cpu = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    os_name = None
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    try:
        from ansible.release import __version__ as ansible_version
    except ImportError:  # pragma: no cover - the venv has ansible-core
        ansible_version = None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kib / 1024 / 1024, 1) if mem_kib else None,
        "os": os_name,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "openssl": ssl.OPENSSL_VERSION,
        "ansible_core": ansible_version,
        "dovecot": _first_line(["dovecot", "--version"]),
        "postfix": (_first_line(["postconf", "-d", "-h", "mail_version"])),
        "monitoring_plugins": _dpkg_version("monitoring-plugins-basic"),
        "swaks": _dpkg_version("swaks"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# --- measuring ---------------------------------------------------------------------------------------
def interleave(variants, rounds, warmup=2):
    """Run every variant ``rounds`` times, ABAB (order reversed every other round); seconds per variant.

    ``variants`` maps a name to a callable without arguments. Warm-up rounds are not recorded.
    """
    names = list(variants)
    times = {name: [] for name in names}
    for index in range(warmup + rounds):
        order = names if index % 2 == 0 else names[::-1]
        for name in order:
            start = time.perf_counter()
            variants[name]()
            elapsed = time.perf_counter() - start
            if index >= warmup:
                times[name].append(elapsed)
    return times


def tracemalloc_peak_kib(func, repeat=5):
    """Peak Python heap (KiB) while calling ``func`` ``repeat`` times (tracemalloc; not timed)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        for _index in range(repeat):
            func()
        return tracemalloc.get_traced_memory()[1] // 1024
    finally:
        tracemalloc.stop()


def self_maxrss_kib():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _tree_rss_kib(root_pid):
    """Summed RSS (KiB) of ``root_pid`` and all its descendants, from /proc."""
    parents = {}
    rss = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        rss[pid] = int(fields[21]) * PAGE_KIB
    total = 0
    for pid in rss:
        walk = pid
        for _depth in range(64):
            if walk == root_pid:
                total += rss[pid]
                break
            walk = parents.get(walk)
            if not walk:
                break
    return total


GNU_TIME = "/usr/bin/time"


def run_measured(cmd, env=None, cwd=None, timeout=900, sample_interval=0.25, stdin_data=None, rss=True):
    """Run ``cmd``; wall time, exit code, output, the largest process's peak RSS and the tree's peak RSS.

    ``max_rss_kib`` is GNU time's %M (wait4 of the command under a small ``time`` process: the peak of the
    largest process in the reaped tree; our own wait4 would count this Python process's pages, which the
    child shares until it execs); ``rss=False`` skips the wrapper (peer commands timed to the millisecond).
    ``tree_rss_kib`` comes from sampling /proc every ``sample_interval`` s (0 disables it: short commands).
    """
    rss_file = None
    if rss and os.access(GNU_TIME, os.X_OK):
        handle, rss_file = tempfile.mkstemp(prefix="mailops-bench-rss-")
        os.close(handle)
        cmd = [GNU_TIME, "-f", "%M", "-o", rss_file, *cmd]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        if stdin_data is not None:
            proc.stdin.write(stdin_data)
            proc.stdin.close()
        peak = [0]
        done = threading.Event()

        def sample():
            while not done.wait(sample_interval):
                with contextlib.suppress(OSError, ValueError):
                    peak[0] = max(peak[0], _tree_rss_kib(proc.pid))

        def watchdog():
            if not done.wait(timeout):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)

        threads = [threading.Thread(target=watchdog, daemon=True)]
        if sample_interval:
            threads.append(threading.Thread(target=sample, daemon=True))
        for thread in threads:
            thread.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        max_rss = None
        if rss_file:
            with contextlib.suppress(OSError, ValueError, IndexError):
                max_rss = int(Path(rss_file).read_text().split()[-1])
            os.unlink(rss_file)
        return {
            "wall": wall,
            "rc": proc.returncode,
            "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace"),
            "max_rss_kib": max_rss,
            "tree_rss_kib": peak[0] or None,
            "cpu_s": usage.ru_utime + usage.ru_stime,
        }


# --- Ansible -----------------------------------------------------------------------------------------
def ansible_env(timer_out=None, extra=None):
    """Environment for ansible-playbook: this checkout as mailops.clients, the bench_timer callback."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_DIR),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_HOST_KEY_CHECKING": "false",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_NOCOLOR": "true",
            "ANSIBLE_FORCE_COLOR": "false",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_DIR),
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    if timer_out:
        env["ANSIBLE_CALLBACKS_ENABLED"] = "bench_timer"
        env["MAILOPS_BENCH_TIMER_OUT"] = str(timer_out)
    env.update(extra or {})
    return env


def ansible_playbook(playbook, workdir, inventory="localhost,", extra_vars=None, forks=None, timer=False, timeout=900):
    """Run ansible-playbook measured; raises with the output's tail when it fails. Returns run_measured's dict."""
    workdir = Path(workdir)
    cmd = [str(BIN / "ansible-playbook"), "-i", str(inventory)]
    if inventory == "localhost,":
        cmd += ["-c", "local"]
    if extra_vars is not None:
        vars_file = workdir / f"vars-{time.monotonic_ns()}.json"
        vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
        cmd += ["-e", f"@{vars_file}"]
    if forks:
        cmd += ["--forks", str(forks)]
    cmd.append(str(playbook))
    timer_out = workdir / f"timer-{time.monotonic_ns()}.json" if timer else None
    result = run_measured(cmd, env=ansible_env(timer_out), cwd=workdir, timeout=timeout)
    if result["rc"] != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {result['rc']}:\n{result['stdout'][-3000:]}\n{result['stderr'][-2000:]}"
        )
    if timer_out is not None and timer_out.exists():
        result["tasks"] = json.loads(timer_out.read_text())
    return result

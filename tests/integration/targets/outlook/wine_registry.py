# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real Windows registry for the .reg tests: Debian's wine64 (reg.exe), headless.

``booted_prefix(root)`` runs ``wineboot -i`` once (about 10 s); ``Registry.clone(base, path)`` gives each test
a registry of its own in milliseconds: the booted prefix's three registry hives are copied and its ``drive_c``
and ``dosdevices`` are linked (about 700 MB that no test writes to), and each prefix has its own wineserver,
stopped with ``wineserver -k`` at the end. ``import_reg`` runs ``reg import``; ``export`` runs ``reg export``
and reads the file with the strict parser of the unit tests (tests/unit/plugins/plugin_utils/regfile.py).

No display is used: DISPLAY and WAYLAND_DISPLAY are removed, ``WINEDEBUG=-all`` silences the debug channels and
``WINEDLLOVERRIDES=mscoree,mshtml=`` keeps Wine from offering to install Mono and Gecko.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import regfile

WINE = shutil.which("wine64") or shutil.which("wine") or "/usr/lib/wine/wine64"
WINESERVER = shutil.which("wineserver") or "/usr/lib/wine/wineserver"
HIVES = ("system.reg", "user.reg", "userdef.reg", ".update-timestamp")
TIMEOUT = 120


def available() -> bool:
    return Path(WINE).is_file() and os.access(WINE, os.X_OK)


def _env(prefix: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(WINEPREFIX=str(prefix), WINEDEBUG="-all", WINEDLLOVERRIDES="mscoree,mshtml=", WINEARCH="win64")
    return env


def windows_path(path: Path) -> str:
    """Wine maps the Unix root to drive Z:."""
    return "Z:" + str(Path(path).resolve()).replace("/", "\\")


def booted_prefix(root: Path) -> tuple:
    """Create and boot a Wine prefix below ``root``; returns (path, seconds wineboot took)."""
    prefix = root / "base"
    prefix.mkdir(parents=True)
    start = time.monotonic()
    # wineboot's exit status is not reliable without a display (53 once in a while): the hives are the test
    log = root / "wineboot.log"
    with log.open("wb") as output:  # a file, not a pipe: Wine's service processes inherit it
        boot = subprocess.run(
            [WINE, "wineboot", "-i"],
            env=_env(prefix),
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    # the hives are written when the wineserver ends (a few seconds after its last process)
    subprocess.run(
        [WINESERVER, "-w"],
        env=_env(prefix),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    seconds = time.monotonic() - start
    missing = [h for h in HIVES if not (prefix / h).is_file()]
    if missing:
        raise RuntimeError(
            f"wineboot -i (exit {boot.returncode}) left no {', '.join(missing)} in {prefix}: "
            f"{log.read_bytes().decode(errors='replace')[-2000:]}"
        )
    return prefix, seconds


class Registry:
    """One Wine prefix, i.e. one HKEY_CURRENT_USER of its own."""

    def __init__(self, prefix: Path):
        self.prefix = prefix

    @classmethod
    def clone(cls, base: Path, path: Path) -> Registry:
        path.mkdir(parents=True)
        for hive in HIVES:
            shutil.copy2(base / hive, path / hive)
        for shared in ("drive_c", "dosdevices"):
            (path / shared).symlink_to(base / shared)
        clone = cls(path)
        clone.start()
        return clone

    def start(self) -> None:
        """A persistent wineserver: Wine's service processes then start once, not for every reg.exe call."""
        subprocess.run(
            [WINESERVER, "-p"],
            env=_env(self.prefix),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            check=True,
        )

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        # Files, not pipes: the service processes Wine starts inherit them and outlive reg.exe.
        log = self.prefix / "wine-output.log"
        with log.open("wb") as output:
            done = subprocess.run(
                [WINE, *args],
                env=_env(self.prefix),
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=TIMEOUT,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        text = log.read_bytes().decode(errors="replace")
        if check and done.returncode != 0:
            raise AssertionError(f"wine {' '.join(args)} exited {done.returncode}: {text[-2000:]}")
        return done

    def import_reg(self, path: Path) -> None:
        self.run("reg", "import", windows_path(path))

    def export(self, key: str) -> dict:
        """``{(key, name): (type, data)}`` of ``key`` and its subkeys as ``reg export`` writes them ({} if absent)."""
        out = self.prefix / "export.reg"
        out.unlink(missing_ok=True)
        done = self.run("reg", "export", key, windows_path(out), "/y", check=False)
        if done.returncode != 0:
            if self.run("reg", "query", key, check=False).returncode != 0:
                return {}
            raise AssertionError(f"reg export {key} exited {done.returncode}")
        return {(v.key, v.name): (v.type, v.data) for v in regfile.parse(out.read_bytes())}

    def stop(self) -> None:
        subprocess.run(
            [WINESERVER, "-k"],
            env=_env(self.prefix),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )

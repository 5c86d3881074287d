# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Thunderbird's own account discovery as the peer, driven through Marionette (chrome context).

Thunderbird (Debian package) starts headless on a throwaway profile in a private mount namespace whose
/etc/resolv.conf names the lab's Knot server, so its DNS (getaddrinfo and its MX lookups) answers from the lab
only; its ISPDB URL is the lab's; the lab CA is in the profile's NSS database. MOZ_DISABLE_NONLOCAL_CONNECTIONS
keeps it on loopback. The script calls its account-creation modules (``FindConfig.parallelAutoDiscovery``, then
``GuessConfig.guessConfig`` when nothing was found, as the account hub does) and, for a given server, its own
probe (``guessConfig`` with the host, port and socket type filled in).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from pathlib import Path

THUNDERBIRD = shutil.which("thunderbird")
# nsMsgSocketType (MailNewsTypes2.idl): 0 plain, 2 alwaysSTARTTLS, 3 SSL
SOCKET_TYPES = {0: "none", 2: "starttls", 3: "tls"}
SOCKET_CODES = {"none": 0, "starttls": 2, "tls": 3}
PREFS = {
    "app.update.auto": False,
    "app.update.disabledForTesting": True,
    "app.normandy.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.server": "",
    "services.settings.server": "http://127.0.0.1:9/",
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.dns.disableIPv6": True,
    "network.trr.mode": 5,
    "network.proxy.type": 0,
    "extensions.update.enabled": False,
    "mailnews.start_page.enabled": False,
    "mail.provider.enabled": False,
    "mail.shell.checkDefaultClient": False,
    "mail.rights.version": 1,
    # discovery on, as a fresh Thunderbird has it
    "mailnews.auto_config.fetchFromISP.enabled": True,
    "mailnews.auto_config.fetchFromExchange.enabled": True,
    "mailnews.auto_config.guess.enabled": True,
    "mailnews.auto_config.guess.timeout": 5,
}

DISCOVER = """
const [domain, email, probe, resolve] = arguments;
const { FindConfig } = ChromeUtils.importESModule("resource:///modules/accountcreation/FindConfig.sys.mjs");
const { GuessConfig } = ChromeUtils.importESModule("resource:///modules/accountcreation/GuessConfig.sys.mjs");
const { AccountConfig } = ChromeUtils.importESModule("resource:///modules/accountcreation/AccountConfig.sys.mjs");
const side = s => s && s.hostname ? {type: s.type, host: s.hostname, port: s.port, socket: s.socketType,
                                      badCert: !!s.badCert} : null;
const describe = c => c ? {source: c.source, incoming: side(c.incoming), outgoing: side(c.outgoing)} : null;
(async () => {
  const out = {found: null, guessed: null, probed: null, errors: []};
  const signal = new AbortController().signal;
  if (probe) {
    const config = new AccountConfig();
    Object.assign(config.incoming, {type: probe.incoming.type, hostname: probe.incoming.host,
                                    port: probe.incoming.port, socketType: probe.incoming.socket});
    Object.assign(config.outgoing, {hostname: probe.outgoing.host, port: probe.outgoing.port,
                                    socketType: probe.outgoing.socket});
    try { out.probed = describe(await GuessConfig.guessConfig(domain, () => {}, config, "both", signal)); }
    catch (e) { out.errors.push("probe: " + e); }
    resolve(out);
    return;
  }
  try {
    const gen = FindConfig.parallelAutoDiscovery(domain, email, signal);
    let step = await gen.next();
    while (!step.done) { step = await gen.next({acceptRedirect: false}); }
    out.found = describe(step.value);
  } catch (e) { out.errors.push("find: " + e); }
  if (!out.found) {
    try { out.guessed = describe(await GuessConfig.guessConfig(domain, () => {}, null, "both", signal)); }
    catch (e) { out.errors.push("guess: " + e); }
  }
  resolve(out);
})();
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _js(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextlib.contextmanager
def thunderbird(tmp_path: Path, dns_address: str, ispdb_url: str, ca_path: str):
    """A Marionette client (chrome context) of a headless Thunderbird that resolves through the lab's DNS."""
    from marionette_driver.marionette import Marionette

    home = tmp_path / "tb-home"
    profile = home / "profile"
    profile.mkdir(parents=True)
    port = _free_port()
    prefs = dict(PREFS, **{"marionette.port": port, "mailnews.auto_config_url": ispdb_url})
    (profile / "user.js").write_text("".join(f"user_pref({_js(k)}, {_js(v)});\n" for k, v in sorted(prefs.items())))
    subprocess.run(["certutil", "-N", "-d", f"sql:{profile}", "--empty-password"], check=True, timeout=60)
    subprocess.run(
        ["certutil", "-A", "-n", "lab CA", "-t", "C,,", "-i", ca_path, "-d", f"sql:{profile}"], check=True, timeout=60
    )
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(f"nameserver {dns_address}\noptions timeout:2 attempts:1\n")
    env = dict(
        os.environ,
        HOME=str(home),
        MOZ_HEADLESS="1",
        MOZ_DISABLE_NONLOCAL_CONNECTIONS="1",
        MOZ_CRASHREPORTER_DISABLE="1",
        XDG_CACHE_HOME=str(tmp_path / "tb-cache"),
        XDG_CONFIG_HOME=str(tmp_path / "tb-config"),
    )
    # a private mount namespace: only this Thunderbird sees the lab's resolv.conf
    script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
    cmd = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, str(resolv)]
    cmd += [THUNDERBIRD, "--headless", "--marionette", "-remote-allow-system-access", "--no-remote"]
    cmd += ["--profile", str(profile)]
    log = tmp_path / "thunderbird.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    client = None
    try:
        client = Marionette(host="127.0.0.1", port=port, socket_timeout=120)
        try:
            client.start_session(timeout=60)
        except Exception as exc:
            raise AssertionError(f"no Marionette session: {exc}\n{log.read_text(errors='replace')[-3000:]}") from None
        client.set_context("chrome")
        yield client
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.delete_session()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def discover(client, domain: str, email: str) -> dict:
    """Thunderbird's discovery for one address: {found, guessed, errors} with servers as {type, host, port, socket}."""
    return client.execute_async_script(DISCOVER, script_args=[domain, email, None], script_timeout=60000)


def probe(client, domain: str, server: dict) -> dict:
    """Thunderbird's own probe of a mailops_servers entry: {probed, errors}."""
    incoming, outgoing = server["incoming"], server["outgoing"]
    args = {
        "incoming": {
            "type": incoming["protocol"],
            "host": incoming["host"],
            "port": incoming["port"],
            "socket": SOCKET_CODES[incoming["security"]],
        },
        "outgoing": {"host": outgoing["host"], "port": outgoing["port"], "socket": SOCKET_CODES[outgoing["security"]]},
    }
    return client.execute_async_script(DISCOVER, script_args=[domain, "", args], script_timeout=60000)

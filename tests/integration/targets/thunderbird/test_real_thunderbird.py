# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Proof in the real client: Thunderbird (Debian package) loads what the role rendered and logs in with it.

The role renders a profile for a sample inventory against the mail lab; Thunderbird starts headless and
offline on that profile (Marionette on loopback, updates/telemetry/remote settings/autoconfig lookups/safe
browsing/captive portal off, MOZ_DISABLE_NONLOCAL_CONNECTIONS=1). Through Marionette in the chrome context
the test reads MailServices.accounts and MailServices.outgoingServer and compares every account, server and
identity with the rendered values; then it goes online and makes Thunderbird log in to the lab's IMAP (TLS
and STARTTLS) and POP3 (TLS, leave on server), checked in Dovecot's log and the mailbox. Passwords go into
Thunderbird's login manager through chrome JS, never into a file. The lab CA is imported into the profile's
NSS database with certutil (libnss3-tools) before the start.

Not in a private network namespace: the lab runs in the host's namespace. Nothing dials off-loopback: the
accounts point at 127.0.0.1/localhost and the prefs below plus MOZ_DISABLE_NONLOCAL_CONNECTIONS keep
Thunderbird's own services off.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from ansible_collections.mailops.clients.plugins.module_utils._vocabulary import endpoint_key
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import normalize_accounts

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "unit" / "plugins" / "plugin_utils"))
from strict_prefs import parse_prefs  # noqa: E402

pytestmark = [pytest.mark.lab, pytest.mark.slow]

THUNDERBIRD = shutil.which("thunderbird")
PLAY = """
- hosts: all
  gather_facts: false
  roles:
    - role: mailops.clients.thunderbird
"""
UNICODE_NAME = 'Bob Ünïcødé 😀 "quoted" \\ back'
# Keep Thunderbird on loopback and quiet: the user's own lines of user.js, outside the managed block.
HARNESS_PREFS = {
    "app.update.auto": False,
    "app.update.checkInstallTime": False,
    "app.update.disabledForTesting": True,
    "app.normandy.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.server": "",
    "services.settings.server": "http://127.0.0.1:9/",
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.dns.disableIPv6": True,
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "mailnews.auto_config.fetchFromISP.enabled": False,
    "mailnews.auto_config.fetchFromExchange.enabled": False,
    "mailnews.auto_config.guess.enabled": False,
    "mailnews.auto_config_url": "http://127.0.0.1:9/",
    "mailnews.start_page.enabled": False,
    "mail.provider.enabled": False,
    "mail.shell.checkDefaultClient": False,
    "mail.biff.show_alert": False,
    "mail.rights.version": 1,
}


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


def inventory(lab):
    ports = lab.ports
    servers = {
        "tls": {
            "incoming": {"protocol": "imap", "host": "127.0.0.1", "port": ports["imaps"], "security": "tls"},
            "outgoing": {"host": "127.0.0.1", "port": ports["submissions"], "security": "tls"},
            "timeout": 30,
        },
        "starttls": {
            "incoming": {"protocol": "imap", "host": "localhost", "port": ports["imap"], "security": "starttls"},
            "outgoing": {"host": "localhost", "port": ports["submission"], "security": "starttls"},
        },
        "pop": {
            "incoming": {"protocol": "pop3", "host": "127.0.0.1", "port": ports["pop3s"], "security": "tls"},
            "outgoing": {"host": "127.0.0.1", "port": ports["submission"], "security": "starttls"},
        },
    }
    accounts = [
        {"email": "alice@example.test", "server": "tls", "user": "tester", "display_name": "Alice Ëxample"},
        {"email": "bob@example.test", "server": "starttls", "user": "tester", "display_name": UNICODE_NAME},
        {
            "email": "carol@example.test",
            "server": "pop",
            "user": "tester",
            "display_name": "Carol «POP»",
            "pop3": {"leave_on_server": True, "delete_after_days": 14},
            "check_interval_minutes": 7,
        },
    ]
    return servers, accounts


@pytest.fixture
def thunderbird_profile(tmp_path, mail_lab, ansible_playbook):
    if THUNDERBIRD is None:
        pytest.skip("the thunderbird binary is not installed (tools/install-system-deps.sh thunderbird libnss3-tools)")
    home = tmp_path / "home" / "tester"
    profile = home / ".thunderbird" / "test.default"
    profile.mkdir(parents=True)
    (home / ".thunderbird" / "profiles.ini").write_text(
        "[Profile0]\nName=test\nIsRelative=1\nPath=test.default\nDefault=1\n\n[General]\nStartWithLastProfile=1\n"
    )
    marionette_port = _free_port()
    harness = dict(HARNESS_PREFS, **{"marionette.port": marionette_port})
    user_lines = "".join(f"user_pref({_js(k)}, {_js(v)});\n" for k, v in sorted(harness.items()))
    (profile / "user.js").write_text(user_lines)

    servers, accounts = inventory(mail_lab)
    normalized = normalize_accounts(accounts, servers, host="localhost")
    keys = {endpoint_key(a[d]) for a in normalized for d in ("incoming", "outgoing")}
    extra = {
        "mailops_servers": servers,
        "mailops_accounts": accounts,
        "mailops_verified": {"endpoints": {k: {"verdict": "ok", "findings": []} for k in keys}, "accounts": {}},
        "mailops_thunderbird_profiles_root": str(tmp_path / "home" / "{user}" / ".thunderbird"),
        "mailops_thunderbird_owner": None,
        "mailops_thunderbird_become": False,
        # A POP3 account that logs in at startup makes an offline start ask (modally) whether to go online,
        # which blocks the Marionette session; the test logs in explicitly once online.
        "mailops_thunderbird_login_at_startup": False,
    }
    run = ansible_playbook(PLAY, extra_vars=extra)
    assert "failed=0" in run.stdout, run.stdout + run.stderr
    user_js = (profile / "user.js").read_text()
    assert user_js.startswith(user_lines)
    rendered = {name: value for kind, name, value in parse_prefs(user_js)}

    subprocess.run(["certutil", "-N", "-d", f"sql:{profile}", "--empty-password"], check=True, timeout=60)
    subprocess.run(
        ["certutil", "-A", "-n", "mailops lab CA", "-t", "C,,", "-i", mail_lab.ca_path, "-d", f"sql:{profile}"],
        check=True,
        timeout=60,
    )
    return {
        "profile": profile,
        "home": home,
        "port": marionette_port,
        "rendered": rendered,
        "normalized": normalized,
        "extra_vars": extra,
    }


@contextlib.contextmanager
def thunderbird_session(profile, tmp_path, name="thunderbird"):
    """Thunderbird headless and offline on ``profile`` (from thunderbird_profile); yields (Marionette, process)."""
    from marionette_driver.marionette import Marionette

    env = dict(os.environ)
    env.update(
        {
            "HOME": str(profile["home"]),
            "MOZ_HEADLESS": "1",
            "MOZ_DISABLE_NONLOCAL_CONNECTIONS": "1",
            "MOZ_CRASHREPORTER_DISABLE": "1",
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
        }
    )
    log = tmp_path / f"{name}.log"
    cmd = [
        THUNDERBIRD,
        "--headless",
        "--marionette",
        "-remote-allow-system-access",
        "--no-remote",
        "-offline",
        "--profile",
        str(profile["profile"]),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    client = None
    try:
        client = Marionette(host="127.0.0.1", port=profile["port"], socket_timeout=60)
        try:
            client.start_session(timeout=60)
        except Exception as exc:
            raise AssertionError(f"no Marionette session: {exc}\n{log.read_text(errors='replace')[-3000:]}") from None
        client.set_context("chrome")
        client.timeout.script = 60
        yield client, proc
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.delete_session()
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


@pytest.fixture
def marionette(thunderbird_profile, tmp_path):
    with thunderbird_session(thunderbird_profile, tmp_path) as (client, _proc):
        yield client


READ_BACK = """
const { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");
const pop3 = s => (s.type == "pop3" ? s.QueryInterface(Ci.nsIPop3IncomingServer) : null);
const accounts = MailServices.accounts.accounts.map(a => {
  const s = a.incomingServer;
  return {
    key: a.key,
    server: s && {
      key: s.key, type: s.type, hostName: s.hostname, port: s.port, socketType: s.socketType,
      authMethod: s.authMethod, username: s.username, prettyName: s.prettyName,
      loginAtStartUp: s.loginAtStartUp, doBiff: s.doBiff, biffMinutes: s.biffMinutes,
      leaveOnServer: pop3(s) && pop3(s).leaveMessagesOnServer,
      deleteMailLeftOnServer: pop3(s) && pop3(s).deleteMailLeftOnServer,
      deleteByAge: pop3(s) && pop3(s).deleteByAgeFromServer,
      numDays: pop3(s) && pop3(s).numDaysToLeaveOnServer,
    },
    identities: a.identities.map(i => ({
      key: i.key, fullName: i.fullName, email: i.email, smtpServerKey: i.smtpServerKey, valid: i.valid,
    })),
  };
});
const smtp = MailServices.outgoingServer.servers.map(s => {
  const x = s.QueryInterface(Ci.nsISmtpServer);
  return { key: s.key, hostname: x.hostname, port: x.port, socketType: s.socketType, authMethod: s.authMethod,
           username: s.username, description: s.description };
});
return {
  accounts, smtp,
  defaultAccount: MailServices.accounts.defaultAccount && MailServices.accounts.defaultAccount.key,
  tcptimeout: Services.prefs.getIntPref("mailnews.tcptimeout"),
  offline: Services.io.offline,
  version: Services.appinfo.version,
};
"""

LOGIN = """
const [serverKey, password, resolve] = arguments;
const { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");
const server = MailServices.accounts.getIncomingServer(serverKey);
const origin = server.localStoreType + "://" + server.hostname;
const info = Cc["@mozilla.org/login-manager/loginInfo;1"].createInstance(Ci.nsILoginInfo);
info.init(origin, null, origin, server.username, password, "", "");
Services.logins.addLoginAsync(info).then(() => {
  Services.io.offline = false;
  server.verifyLogon({
    OnStartRunningUrl() {},
    // server.password: what Thunderbird read from its login manager and logged in with
    OnStopRunningUrl(url, status) { resolve({ status, origin, found: server.password === password }); },
  }, null);
}).catch(e => resolve({ error: String(e) }));
"""

POP3_FETCH = """
const [serverKey, resolve] = arguments;
const { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");
const server = MailServices.accounts.getIncomingServer(serverKey);
const inbox = server.rootFolder.getFolderWithFlags(Ci.nsMsgFolderFlags.Inbox);
MailServices.pop3.GetNewMail(null, {
  OnStartRunningUrl() {},
  OnStopRunningUrl(url, status) {
    inbox.updateFolder(null);
    resolve({ status, total: inbox.getTotalMessages(false) });
  },
}, inbox, server.QueryInterface(Ci.nsIPop3IncomingServer));
"""


def _send(lab, to, subject):
    msg = EmailMessage()
    msg["From"] = "alice@example.test"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("for the Thunderbird test")
    context = ssl.create_default_context(cafile=lab.ca_path)
    with smtplib.SMTP_SSL("127.0.0.1", lab.ports["submissions"], context=context, timeout=30) as smtp:
        smtp.login("alice@example.test", lab.users["alice@example.test"])
        smtp.send_message(msg)
    deadline = time.monotonic() + 30
    new = lab.maildir(to) / "new"
    while time.monotonic() < deadline:
        if new.is_dir() and any(subject in p.read_text(errors="replace") for p in new.iterdir()):
            return
        time.sleep(0.2)
    raise AssertionError(f"the lab did not deliver {subject!r} to {to}")


def test_thunderbird_loads_the_rendered_accounts_and_logs_in(mail_lab, thunderbird_profile, marionette):
    rendered = thunderbird_profile["rendered"]
    state = marionette.execute_script(READ_BACK)
    assert state["offline"] is True
    by_key = {a["key"]: a for a in state["accounts"]}
    smtp_by_key = {s["key"]: s for s in state["smtp"]}
    ids = [a["id"] for a in thunderbird_profile["normalized"]]
    assert ids == ["alice@example.test", "bob@example.test", "carol@example.test"]
    for number, account in zip((1000, 1001, 1002), thunderbird_profile["normalized"]):
        acc_key, srv_key, id_key, smtp_key = (f"{k}{number}" for k in ("account", "server", "id", "smtp"))
        assert rendered[f"mail.account.{acc_key}.mailops_id"] == account["id"]
        loaded = by_key[acc_key]
        srv = f"mail.server.{srv_key}."
        assert loaded["server"] == {
            "key": srv_key,
            "type": rendered[srv + "type"],
            "hostName": rendered[srv + "hostname"],
            "port": rendered[srv + "port"],
            "socketType": rendered[srv + "socketType"],
            "authMethod": rendered[srv + "authMethod"],
            "username": rendered[srv + "userName"],
            "prettyName": rendered[srv + "name"],
            "loginAtStartUp": rendered[srv + "login_at_startup"],
            "doBiff": True,
            "biffMinutes": rendered.get(srv + "check_time", 10),
            "leaveOnServer": rendered.get(srv + "leave_on_server"),
            "deleteMailLeftOnServer": rendered.get(srv + "delete_mail_left_on_server"),
            "deleteByAge": rendered.get(srv + "delete_by_age_from_server"),
            "numDays": rendered.get(srv + "num_days_to_leave_on_server"),
        }
        # and the rendered values are the inventory's
        inc = account["incoming"]
        assert (loaded["server"]["hostName"], loaded["server"]["port"]) == (inc["host"], inc["port"])
        assert loaded["server"]["socketType"] == {"tls": 3, "starttls": 2}[inc["security"]]
        assert loaded["identities"] == [
            {
                "key": id_key,
                "fullName": account["display_name"],
                "email": account["email"],
                "smtpServerKey": smtp_key,
                "valid": True,
            }
        ]
        out = account["outgoing"]
        assert smtp_by_key[smtp_key] == {
            "key": smtp_key,
            "hostname": out["host"],
            "port": out["port"],
            "socketType": {"tls": 3, "starttls": 2}[out["security"]],
            "authMethod": 3,
            "username": out["username"],
            "description": account["email"],
        }
    assert by_key["account1001"]["identities"][0]["fullName"] == UNICODE_NAME
    assert by_key["account1002"]["server"]["leaveOnServer"] is True
    assert by_key["account1002"]["server"]["numDays"] == 14
    assert {s["port"] for s in state["smtp"]} == {mail_lab.ports["submissions"], mail_lab.ports["submission"]}
    assert state["defaultAccount"] == "account1000"
    assert state["tcptimeout"] == 30
    # Thunderbird adds its Local Folders account after ours
    assert [a["key"] for a in state["accounts"]][:3] == ["account1000", "account1001", "account1002"]

    # log in: IMAP over TLS, IMAP with STARTTLS, POP3 over TLS (a message waits; it must stay on the server)
    _send(mail_lab, "carol@example.test", "tb-pop3-leave-on-server")
    log = Path(mail_lab.log_dir) / "dovecot.log"
    # the lab is shared by the whole session: only the lines Thunderbird's logins add count
    log_start = log.stat().st_size
    for number, account in zip((1000, 1001, 1002), thunderbird_profile["normalized"]):
        result = marionette.execute_async_script(
            LOGIN, script_args=[f"server{number}", mail_lab.users[account["email"]]], script_timeout=60000
        )
        assert result.get("status") == 0 and result.get("found") is True, (account["id"], result)
    fetched = marionette.execute_async_script(POP3_FETCH, script_args=["server1002"], script_timeout=60000)
    assert fetched["status"] == 0, fetched
    assert fetched["total"] >= 1, fetched
    text = log.read_bytes()[log_start:].decode(errors="replace")
    logins = {}
    for line in text.splitlines():
        match = re.search(r"(imap|pop3)-login: (?:Info: )?Login: user=<([^>]+)>.*", line)
        if match:
            logins.setdefault((match.group(1), match.group(2)), []).append(line)
    assert {("imap", "alice@example.test"), ("imap", "bob@example.test"), ("pop3", "carol@example.test")} <= set(
        logins
    ), text[-3000:]
    # every login ran inside TLS: bob's on the plain IMAP port (loaded above) after STARTTLS
    assert all("TLS" in line for lines in logins.values() for line in lines), logins
    # leave_on_server: Dovecot still has the message Thunderbird downloaded
    maildir = mail_lab.maildir("carol@example.test")
    kept = [p for sub in ("new", "cur") if (maildir / sub).is_dir() for p in (maildir / sub).iterdir()]
    assert any("tb-pop3-leave-on-server" in p.read_text(errors="replace") for p in kept)


# --- lifecycle in the real client: offboarding (state: absent) and a server move ---------------------------------

HAND_MADE = """
const { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");
// an account the user makes by hand (no marker): nothing listens on port 9, it never logs in
const server = MailServices.accounts.createIncomingServer("hand@elsewhere.test", "127.0.0.1", "imap");
server.port = 9;
server.doBiff = false;
server.loginAtStartUp = false;
const identity = MailServices.accounts.createIdentity();
identity.email = "hand@elsewhere.test";
identity.fullName = "Hand Made";
// OutgoingServerService.createServer before the list was read would leave only the new server in it (the list
// loads lazily when empty): read it first, as the account settings do
MailServices.outgoingServer.servers;
const smtp = MailServices.outgoingServer.createServer("smtp");
smtp.QueryInterface(Ci.nsISmtpServer).hostname = "127.0.0.1";
smtp.QueryInterface(Ci.nsISmtpServer).port = 9;
identity.smtpServerKey = smtp.key;
const account = MailServices.accounts.createAccount();
account.addIdentity(identity);
account.incomingServer = server;
return { account: account.key, server: server.key, identity: identity.key, smtp: smtp.key };
"""

# What a user of bob's account sets up in Thunderbird: saved passwords (IMAP and SMTP), the Sent and Drafts
# folders, a junk target and a message filter that moves into a folder of the server; then a clean quit (prefs.js,
# logins.json and msgFilterRules.dat written by Thunderbird itself).
BOB_SETUP = """
const [serverKey, smtpKey, identityKey, password, resolve] = arguments;
const { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");
const server = MailServices.accounts.getIncomingServer(serverKey);
const smtp = MailServices.outgoingServer.getServerByKey(smtpKey)?.QueryInterface(Ci.nsISmtpServer);
const identity = MailServices.accounts.getIdentity(identityKey);
if (!smtp) {
  resolve({ error: "no " + smtpKey + " in " + MailServices.outgoingServer.servers.map(s => s.key).join(",") +
    " / " + Services.prefs.getCharPref("mail.smtpservers", "") });
  return;
}
const uri = server.serverURI;
identity.setUnicharAttribute("fcc_folder", uri + "/Sent");
identity.setUnicharAttribute("draft_folder", uri + "/Drafts");
server.setStringValue("spamActionTargetFolder", uri + "/Junk");
const list = server.getEditableFilterList(null);
const filter = list.createFilter("mailops archive");
filter.enabled = true;
filter.filterType = Ci.nsMsgFilterType.Manual;
const term = filter.createTerm();
term.attrib = Ci.nsMsgSearchAttrib.Subject;
term.op = Ci.nsMsgSearchOp.Contains;
const value = term.value;
value.attrib = term.attrib;
value.str = "mailops";
term.value = value;
term.booleanAnd = true;
filter.appendTerm(term);
const action = filter.createAction();
action.type = Ci.nsMsgFilterAction.MoveToFolder;
action.targetFolderUri = uri + "/Archive";
filter.appendAction(action);
list.insertFilterAt(0, filter);
list.saveToDefaultFile();
const login = (origin, user) => {
  const info = Cc["@mozilla.org/login-manager/loginInfo;1"].createInstance(Ci.nsILoginInfo);
  info.init(origin, null, origin, user, password, "", "");
  return Services.logins.addLoginAsync(info);
};
login(server.localStoreType + "://" + server.hostname, server.username)
  .then(() => login("smtp://" + smtp.hostname, smtp.username))
  .then(() => {
    Services.prefs.savePrefFile(null);
    resolve({ uri, directory: server.localPath.path });
  })
  .catch(e => resolve({ error: String(e) }));
"""

QUIT = """
Services.tm.dispatchToMainThread(() => Services.startup.quit(Ci.nsIAppStartup.eAttemptQuit));
return true;
"""

AFTER = """
const [serverKey, smtpKey, identityKey, hand, resolve] = arguments;
const { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");
const server = MailServices.accounts.getIncomingServer(serverKey);
const smtp = MailServices.outgoingServer.getServerByKey(smtpKey).QueryInterface(Ci.nsISmtpServer);
const identity = MailServices.accounts.getIdentity(identityKey);
const filter = server.getFilterList(null).getFilterAt(0);
const folderServer = u => {
  const folder = MailServices.folderLookup.getOrCreateFolderForURL(u);
  return folder && folder.server && folder.server.key;
};
const handAccount = MailServices.accounts.getAccount(hand.account);
const handServer = handAccount && handAccount.incomingServer;
const handIdentity = handAccount && handAccount.defaultIdentity;
const handSmtp = MailServices.outgoingServer.getServerByKey(hand.smtp).QueryInterface(Ci.nsISmtpServer);
const logins = async origin => (await Services.logins.searchLoginsAsync({ origin, httpRealm: origin })).map(
  l => ({ username: l.username, password: l.password }));
(async () => ({
  accounts: MailServices.accounts.accounts.map(a => a.key),
  servers: MailServices.accounts.allServers.map(s => s.key),
  identities: MailServices.accounts.allIdentities.map(i => i.key),
  smtp: MailServices.outgoingServer.servers.map(s => s.key),
  server: { key: server.key, hostname: server.hostname, username: server.username, uri: server.serverURI,
            spamTarget: server.getStringValue("spamActionTargetFolder") },
  outgoing: { hostname: smtp.hostname, username: smtp.username },
  fcc: identity.getUnicharAttribute("fcc_folder"),
  drafts: identity.getUnicharAttribute("draft_folder"),
  fccServer: folderServer(identity.getUnicharAttribute("fcc_folder")),
  draftsServer: folderServer(identity.getUnicharAttribute("draft_folder")),
  filter: { name: filter.filterName, target: filter.sortedActionList[0].targetFolderUri,
            targetServer: folderServer(filter.sortedActionList[0].targetFolderUri) },
  hand: handServer && {
    account: handAccount.key, server: handServer.key, hostname: handServer.hostname, port: handServer.port,
    username: handServer.username, identity: handIdentity.key, email: handIdentity.email,
    fullName: handIdentity.fullName, smtpServerKey: handIdentity.smtpServerKey,
    smtpHostname: handSmtp.hostname, smtpPort: handSmtp.port,
  },
  logins: {
    oldImap: await logins("imap://localhost"), newImap: await logins("imap://127.0.0.1"),
    oldSmtp: await logins("smtp://localhost"), newSmtp: await logins("smtp://127.0.0.1"),
  },
}))().then(resolve, e => resolve({ error: String(e) }));
"""

SAVED_LOGIN = """
const [serverKey, resolve] = arguments;
const { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");
const server = MailServices.accounts.getIncomingServer(serverKey);
Services.io.offline = false;
// no password given: Thunderbird must find the saved one under the new host
server.verifyLogon({
  OnStartRunningUrl() {},
  OnStopRunningUrl(url, status) { resolve({ status, password: server.password }); },
}, null);
"""


def _wait_exit(proc, what):
    try:
        proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"Thunderbird did not quit after {what}") from None


def _prefs_lines(path, keys):
    """The prefs.js lines of the given account/server/identity/smtp keys, as Thunderbird wrote them."""
    pattern = re.compile(
        r'^user_pref\("mail\.(?:account|server|identity|smtpserver)\.(' + "|".join(map(re.escape, keys)) + r")\."
    )
    return sorted(line for line in path.read_text().splitlines() if pattern.match(line))


def test_offboarding_and_server_move_in_thunderbird(mail_lab, thunderbird_profile, ansible_playbook, tmp_path):
    """alice leaves (state: absent); bob's IMAP and SMTP move from localhost to 127.0.0.1 (the same Dovecot and
    Postfix under a second name); a hand-made account stays as it was."""
    profile = thunderbird_profile["profile"]
    bob_password = mail_lab.users["bob@example.test"]
    with thunderbird_session(thunderbird_profile, tmp_path, "thunderbird-before") as (client, proc):
        hand = client.execute_script(HAND_MADE)
        setup = client.execute_async_script(
            BOB_SETUP, script_args=["server1001", "smtp1001", "id1001", bob_password], script_timeout=60000
        )
        assert "error" not in setup, setup
        assert setup["uri"] == "imap://bob%40example.test@localhost"
        client.execute_script(QUIT)
        _wait_exit(proc, "the set-up")
    filters = Path(setup["directory"]) / "msgFilterRules.dat"
    assert 'actionValue="imap://bob%40example.test@localhost/Archive"' in filters.read_text()
    assert "imap://localhost" in (profile / "logins.json").read_text()
    hand_keys = [hand["account"], hand["server"], hand["identity"], hand["smtp"]]
    hand_lines = _prefs_lines(profile / "prefs.js", hand_keys)
    assert len(hand_lines) >= 8, hand_lines

    extra = dict(thunderbird_profile["extra_vars"])
    servers = {name: dict(server) for name, server in extra["mailops_servers"].items()}
    servers["starttls"]["incoming"] = dict(servers["starttls"]["incoming"], host="127.0.0.1")
    servers["starttls"]["outgoing"] = dict(servers["starttls"]["outgoing"], host="127.0.0.1")
    accounts = [dict(a) for a in extra["mailops_accounts"]]
    accounts[0]["state"] = "absent"
    normalized = normalize_accounts([a for a in accounts if a.get("state") != "absent"], servers, host="localhost")
    keys = {endpoint_key(a[d]) for a in normalized for d in ("incoming", "outgoing")}
    extra.update(
        mailops_servers=servers,
        mailops_accounts=accounts,
        mailops_verified={"endpoints": {k: {"verdict": "ok", "findings": []} for k in keys}, "accounts": {}},
    )
    run = ansible_playbook(PLAY, extra_vars=extra, extra_args=["--diff"])
    assert "failed=0" in run.stdout and "changed=1" in run.stdout, run.stdout + run.stderr
    # the diff of logins.json: origins only (login 1 is bob's IMAP password, login 2 his SMTP password)
    assert "-login 1: hostname=imap://localhost httpRealm=imap://localhost" in run.stdout, run.stdout
    assert "+login 1: hostname=imap://127.0.0.1 httpRealm=imap://127.0.0.1" in run.stdout, run.stdout
    assert "+login 2: hostname=smtp://127.0.0.1 httpRealm=smtp://127.0.0.1" in run.stdout, run.stdout
    assert bob_password not in run.stdout + run.stderr
    assert _prefs_lines(profile / "prefs.js", hand_keys) == hand_lines
    again = ansible_playbook(PLAY, extra_vars=extra)
    assert "failed=0" in again.stdout and "changed=0" in again.stdout, again.stdout + again.stderr

    log = Path(mail_lab.log_dir) / "dovecot.log"
    log_start = log.stat().st_size
    with thunderbird_session(thunderbird_profile, tmp_path, "thunderbird-after") as (client, _proc):
        state = client.execute_async_script(
            AFTER, script_args=["server1001", "smtp1001", "id1001", hand], script_timeout=60000
        )
        assert "error" not in state, state
        # offboarded: alice's account, server, identity and SMTP server are gone
        assert "account1000" not in state["accounts"] and "server1000" not in state["servers"]
        assert "id1000" not in state["identities"] and "smtp1000" not in state["smtp"]
        assert {"account1001", "account1002", hand["account"]} <= set(state["accounts"])
        # moved: same keys, the new host, the folders, the junk target and the filter on the new host
        new_uri = "imap://bob%40example.test@127.0.0.1"
        assert state["server"] == {
            "key": "server1001",
            "hostname": "127.0.0.1",
            "username": "bob@example.test",
            "uri": new_uri,
            "spamTarget": new_uri + "/Junk",
        }
        assert state["outgoing"] == {"hostname": "127.0.0.1", "username": "bob@example.test"}
        assert (state["fcc"], state["drafts"]) == (new_uri + "/Sent", new_uri + "/Drafts")
        assert state["fccServer"] == state["draftsServer"] == "server1001"
        assert state["filter"] == {
            "name": "mailops archive",
            "target": new_uri + "/Archive",
            "targetServer": "server1001",
        }
        # the saved passwords moved with the servers
        assert state["logins"] == {
            "oldImap": [],
            "newImap": [{"username": "bob@example.test", "password": bob_password}],
            "oldSmtp": [],
            "newSmtp": [{"username": "bob@example.test", "password": bob_password}],
        }
        # the hand-made account is as the user made it
        assert state["hand"] == {
            "account": hand["account"],
            "server": hand["server"],
            "hostname": "127.0.0.1",
            "port": 9,
            "username": "hand@elsewhere.test",
            "identity": hand["identity"],
            "email": "hand@elsewhere.test",
            "fullName": "Hand Made",
            "smtpServerKey": hand["smtp"],
            "smtpHostname": "127.0.0.1",
            "smtpPort": 9,
        }
        # and Thunderbird logs in to the new host with the saved password (none is given here)
        result = client.execute_async_script(SAVED_LOGIN, script_args=["server1001"], script_timeout=60000)
        assert result == {"status": 0, "password": bob_password}, result
    text = log.read_bytes()[log_start:].decode(errors="replace")
    logins = [
        line for line in text.splitlines() if re.search(r"imap-login: (?:Info: )?Login: user=<bob@example.test>", line)
    ]
    assert logins and all("TLS" in line for line in logins), text[-3000:]

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of mailops.clients.mail_srv_records (documentation in plugins/modules/).

Runs on the controller: plans the SRV records of the domain plan (plugin_utils._publish_dns), writes the zone
snippet with module_utils._files (atomic, unchanged bytes are not rewritten) and sends RFC 2136 updates through
dnspython. Nothing runs on the target.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.mailops.clients.plugins.module_utils import _files
from ansible_collections.mailops.clients.plugins.plugin_utils import _publish_dns as p
from ansible_collections.mailops.clients.plugins.plugin_utils._compat import validate_task_args

ARGUMENT_SPEC = {
    "domains": {"type": "dict", "required": True},
    "remove": {"type": "list", "elements": "str", "default": []},
    "ttl": {"type": "int", "default": p.DEFAULT_TTL},
    "zone_file": {"type": "path"},
    "backup": {"type": "bool", "default": False},
    "dns": {
        "type": "dict",
        "options": {
            "server": {"type": "str", "required": True},
            "port": {"type": "int", "default": 53},
            "zone": {"type": "str"},
            "timeout": {"type": "float", "default": 10.0},
            "tsig": {
                "type": "dict",
                "options": {
                    "name": {"type": "str", "required": True},
                    "algorithm": {"type": "str", "default": "hmac-sha256", "choices": list(p.TSIG_ALGORITHMS)},
                    "secret": {"type": "str", "required": True, "no_log": True},
                },
            },
        },
    },
}


def _record_items(wanted: dict, plan: dict) -> list:
    items = []
    for domain in plan:
        for name, records in wanted[domain].items():
            service = name[: -len(domain) - 2]
            for record in p.ordered(records):
                items.append(
                    {
                        "domain": domain,
                        "service": service,
                        "name": record.name,
                        "ttl": record.ttl,
                        "priority": record.priority,
                        "weight": record.weight,
                        "port": record.port,
                        "target": record.target,
                    }
                )
    return items


def _zone_text(records_by_name: dict) -> str:
    return "".join(line + "\n" for line in p.zone_lines(records_by_name))


class ActionModule(ActionBase):
    _requires_connection = False

    # ActionBase's defaults: check mode supported (nothing is sent or written then), async not
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        check_mode, diff_mode = bool(self._task.check_mode), bool(self._task.diff)
        unused_validation, args = validate_task_args(self, ARGUMENT_SPEC)
        try:
            plan, removed = p.check_plan(args["domains"], args["remove"])
            wanted, skipped = p.plan_records(plan, removed, p.check_ttl(args["ttl"]))
            options = self._dns_options(args["dns"], list(wanted)) if args["dns"] else None
        except p.PublishDnsError as exc:
            raise AnsibleActionFail(str(exc)) from None
        result.update(changed=False, records=_record_items(wanted, plan), removed=removed, not_published=skipped)
        diffs = []
        if skipped:
            result["warnings"] = [
                f"{s['domain']}: {s['direction']} server {s['protocol']}://{s['host']}:{s['port']} without TLS is "
                "not published as an SRV record (no label announces a cleartext server)"
                for s in skipped
            ]
        if args["zone_file"]:
            done = self._zone_file(args["zone_file"], p.zone_file_text(wanted, plan), args["backup"], check_mode)
            result["zone_file"] = {k: v for k, v in done.items() if k != "before"}
            result["changed"] |= done["changed"]
            if done["changed"]:
                before = done.get("before")
                diffs.append(
                    {
                        "before_header": args["zone_file"],
                        "after_header": args["zone_file"],
                        "before": "" if before is None else before.decode("utf-8", "replace"),
                        "after": p.zone_file_text(wanted, plan),
                    }
                )
        if options is not None:
            try:
                changes = self._publish(options, wanted, check_mode, diffs)
            except p.PublishDnsError as exc:
                raise AnsibleActionFail(str(exc)) from None
            except Exception as exc:  # no traceback reaches the user; the type names the bug for a report
                raise AnsibleActionFail(f"internal error in mail_srv_records ({type(exc).__name__}): {exc}") from None
            result["changes"] = changes
            result["changed"] |= bool(changes)
        if diff_mode and diffs:
            result["diff"] = diffs
        return result

    @staticmethod
    def _dns_options(dns: dict, domains: list) -> dict:
        if not p.HAS_DNSPYTHON:
            raise p.PublishDnsError(
                "dns: publishing needs the Python package dnspython on the controller (pip install dnspython)"
            )
        zone = dns["zone"]
        if zone is not None:
            zone = p.dns_name(zone, "dns.zone", "give the zone that holds the mail domains, e.g. example.com")
        timeout = dns["timeout"]
        if not 0 < timeout <= 300:
            raise p.PublishDnsError(f"dns.timeout: must be more than 0 and at most 300 seconds, got {timeout:g}")
        keyring = keyname = None
        if dns["tsig"]:
            keyring, keyname = p.tsig_keyring(dns["tsig"])
        zones = {}
        for domain in domains:
            zones.setdefault(p.zone_of(domain, zone), []).append(domain)
        address = p.server_address(dns["server"], dns["port"])
        return {"zones": zones, "address": address, "timeout": timeout, "keyring": keyring, "keyname": keyname}

    @staticmethod
    def _zone_file(path: str, text: str, backup: bool, check_mode: bool) -> dict:
        spec = {"path": path, "content": text.encode("utf-8"), "backup": backup, "before": True}
        try:
            done = _files.put_file(spec, check_mode=check_mode)
        except _files.FilesError as exc:
            raise AnsibleActionFail(f"zone_file: {exc}") from None
        return {
            "path": path,
            "changed": done["changed"],
            "before": done.get("before"),
            **({"backup_file": done["backup_file"]} if done.get("backup_file") else {}),
        }

    @staticmethod
    def _publish(options: dict, wanted: dict, check_mode: bool, diffs: list) -> list:
        """Read every zone, then update the ones that differ (not in check mode); the changes made or due."""
        work = []
        for zone, domains in sorted(options["zones"].items()):
            server = p.DnsZone(zone, options["address"], options["timeout"], options["keyring"], options["keyname"])
            server.check_authority()
            names = {name: records for domain in domains for name, records in wanted[domain].items()}
            current = server.read(list(names))
            work.append((server, names, p.changes_between(current, names)))
        reported = []
        for server, names, changes in work:
            if not changes:
                continue
            if not check_mode:
                server.update(changes)
                after = server.read(list(names))
                left = p.changes_between(after, names)
                if left:
                    raise p.PublishDnsError(
                        f"dns: {server.where} accepted the update of zone {server.zone}, but {left[0]['name']} does "
                        "not hold the records sent; check the server's log (a policy that rewrites updates?)"
                    )
            header = f"zone {server.zone} at {server.where} (SRV records of the mail domains)"
            diffs.append(
                {
                    "before_header": header,
                    "after_header": header,
                    "before": _zone_text({c["name"]: c["before"] for c in changes}),
                    "after": _zone_text({c["name"]: c["after"] for c in changes}),
                }
            )
            for change in changes:
                reported.append(
                    {
                        "zone": server.zone,
                        "name": change["name"],
                        "action": change["action"],
                        "before": [r.text() for r in change["before"]],
                        "after": [r.text() for r in change["after"]],
                    }
                )
        return reported

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of mailops.clients.mail_settings_info (documentation in plugins/modules/).

Discovery runs on the controller (plugin_utils._discovery_engine): DNS through dnspython, documents over
HTTP(S), every candidate proven by the collection's probe engine. Nothing runs on the target.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.mailops.clients.plugins.plugin_utils import _discovery as d
from ansible_collections.mailops.clients.plugins.plugin_utils import _discovery_engine as engine
from ansible_collections.mailops.clients.plugins.plugin_utils._compat import validate_task_args

ARGUMENT_SPEC = {
    "email": {"type": "str"},
    "emails": {"type": "list", "elements": "str"},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "timeout": {"type": "float", "default": 30.0},
    "ca_path": {"type": "path"},
    "validate_certs": {"type": "bool", "default": True},
    "dns_servers": {"type": "list", "elements": "str", "default": []},
    "sources": {"type": "list", "elements": "str", "default": list(d.SOURCES), "choices": list(d.SOURCES)},
    "ispdb_url": {"type": "str", "default": d.DEFAULT_ISPDB_URL},
    "send_email_address": {"type": "bool", "default": True},
}


def check_args(args):
    """The checks the argument spec cannot express; DiscoveryError naming the option and the fix."""
    if (args.get("email") is None) == (args.get("emails") is None):
        raise d.DiscoveryError("give exactly one of email (one address) or emails (a list of addresses)")
    emails = [args["email"]] if args.get("email") is not None else list(args["emails"])
    if not emails:
        raise d.DiscoveryError("emails: the list is empty; give at least one address")
    field = "email" if args.get("email") is not None else "emails"
    for index, email in enumerate(emails):
        d.split_email(email, field if field == "email" else f"emails[{index}]")
    if args.get("username") is not None and args.get("password") is None:
        raise d.DiscoveryError("username needs password (the login is verified only with both)")
    timeout = args["timeout"]
    if not 0 < timeout <= 600:
        raise d.DiscoveryError(f"timeout must be more than 0 and at most 600 seconds, got {timeout:g}")
    if not args["sources"]:
        raise d.DiscoveryError(f"sources: the list is empty; use some of {', '.join(d.SOURCES)}")
    if not args["ispdb_url"].startswith(("https://", "http://")):
        raise d.DiscoveryError(f"ispdb_url must start with https:// or http://, got {args['ispdb_url']!r}")
    engine.parse_dns_servers(args["dns_servers"])
    return [e.strip() for e in emails]


class ActionModule(ActionBase):
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        unused_validation, args = validate_task_args(self, ARGUMENT_SPEC)
        try:
            emails = check_args(args)
        except d.DiscoveryError as exc:
            raise AnsibleActionFail(str(exc)) from None
        if not engine.HAS_DNSPYTHON:
            raise AnsibleActionFail(
                "mail_settings_info needs the Python package dnspython on the controller "
                "(pip install dnspython, or apt-get install python3-dnspython)"
            )
        options = engine.Options(
            timeout=args["timeout"],
            dns_servers=args["dns_servers"],
            sources=args["sources"],
            ispdb_url=args["ispdb_url"],
            send_email_address=args["send_email_address"],
            validate_certs=args["validate_certs"],
            ca_path=args["ca_path"],
            username=args["username"],
            password=args["password"],
        )
        try:
            results = engine.discover(emails, options)
        except d.DiscoveryError as exc:
            raise AnsibleActionFail(str(exc)) from None
        except Exception as exc:  # no traceback reaches the user; the type names the bug for a report
            raise AnsibleActionFail(f"internal error in mail_settings_info ({type(exc).__name__}): {exc}") from None
        result["changed"] = False
        if args.get("email") is not None:
            single = results[0]
            single.pop("email")
            result.update(single)
        else:
            result["results"] = results
        return result

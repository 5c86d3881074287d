# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""plugin_utils/_role_arguments.py: the roles' argument specifications, read from the roles' own files."""

from __future__ import annotations

import pytest
import yaml
from ansible_collections.mailops.clients.plugins.plugin_utils import _role_arguments as ra

ROLES = ["apple_mail", "outlook", "publish", "thunderbird", "verify"]


def test_the_roles_are_read_from_the_collection():
    assert ra.role_names() == ROLES


@pytest.mark.parametrize("name", ["thunderbird", "mailops.clients.thunderbird"])
def test_short_and_full_names(name):
    spec = ra.argument_spec(name)
    assert "mailops_thunderbird_create_profile" in spec
    assert ra.short_name(name) == "thunderbird"


def test_top_level_defaults_are_the_roles_own_and_dropped():
    """The verify role's spec documents a templated default; outside the role it must not be checked as a value."""
    raw = yaml.safe_load((ra.ROLES_DIR / "verify/meta/argument_specs.yml").read_text(encoding="utf-8"))
    options = raw["argument_specs"]["main"]["options"]
    assert options["mailops_verify_report_partial"]["default"] == "{{ ansible_limit is defined }}"
    spec = ra.argument_spec("verify")
    assert all("default" not in option for option in spec.values())
    assert ra.argument_errors(spec, {}) == []


@pytest.mark.parametrize("role", ROLES)
def test_each_roles_literal_defaults_pass_its_own_spec(role):
    """What defaults/main.yml sets (templates aside) is valid: the playbooks check it at play level."""
    defaults = yaml.safe_load((ra.ROLES_DIR / role / "defaults/main.yml").read_text(encoding="utf-8")) or {}
    spec = ra.argument_spec(role)
    literal = {k: v for k, v in defaults.items() if k in spec and not (isinstance(v, str) and "{{" in v)}
    assert literal, f"{role}: no literal default to check"
    assert ra.argument_errors(spec, literal) == []


def test_a_bad_value_gets_ansible_cores_message():
    errors = ra.argument_errors(ra.argument_spec("thunderbird"), {"mailops_thunderbird_create_profile": "maybe"})
    assert len(errors) == 1
    assert errors[0].startswith(
        "argument 'mailops_thunderbird_create_profile' is of type str and we were unable to convert to bool"
    )


@pytest.mark.parametrize(
    ("role", "message"),
    [
        (
            "thunderbrid",
            "roles: unknown role 'thunderbrid' (did you mean thunderbird?). Fix: use the name of one of the "
            "collection's roles: apple_mail, outlook, publish, thunderbird, verify.",
        ),
        ("mailops.clients.nothing", "roles: unknown role 'mailops.clients.nothing'. Fix: use the name of one of"),
        ("other.collection.verify", "roles: unknown role 'other.collection.verify'. Fix:"),
        ("verify:gat", "roles: role mailops.clients.verify has no entry point 'gat' (did you mean gate?). Fix: use"),
    ],
)
def test_unknown_names_name_the_fix(role, message):
    with pytest.raises(ra.RoleArgumentsError) as caught:
        ra.argument_spec(role)
    assert str(caught.value).startswith(message)


def test_an_unreadable_spec_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "broken/meta").mkdir(parents=True)
    (tmp_path / "broken/meta/argument_specs.yml").write_text("argument_specs: [unclosed\n", encoding="utf-8")
    monkeypatch.setattr(ra, "ROLES_DIR", tmp_path)
    ra._specs.cache_clear()
    try:
        with pytest.raises(ra.RoleArgumentsError, match="cannot read the argument specification of role"):
            ra.argument_spec("broken")
    finally:
        ra._specs.cache_clear()

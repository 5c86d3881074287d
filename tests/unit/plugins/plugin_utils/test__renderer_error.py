# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The renderers' one error type, the one check of option names, and the option check of the action base."""

from __future__ import annotations

import re

import pytest
from ansible_collections.mailops.clients.plugins.plugin_utils import _apple, _cms, _outlook, _thunderbird
from ansible_collections.mailops.clients.plugins.plugin_utils._renderer_action import (
    COMMON_OPTIONS,
    check_option_names,
)
from ansible_collections.mailops.clients.plugins.plugin_utils._renderer_error import RendererError, check_names
from ansible_collections.mailops.clients.plugins.plugin_utils._values import did_you_mean


@pytest.mark.parametrize(
    "error",
    [
        _apple.AppleProfileError,
        _apple.UnsupportedAuthError,
        _outlook.OutlookError,
        _outlook.UnsupportedError,
        _outlook.RegFileError,
        _outlook.PrfError,
        _thunderbird.ThunderbirdError,
        _cms.CMSError,
    ],
)
def test_every_renderer_error_is_the_one_type(error):
    exc = error("text", account="a@example.test", field="incoming.auth")
    assert isinstance(exc, RendererError) and isinstance(exc, ValueError)
    assert (str(exc), exc.account, exc.field, exc.fix) == ("text", "a@example.test", "incoming.auth", None)


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("dest_dri", " (did you mean dest_dir?)"),
        ("Dest_Dir", " (did you mean dest_dir?)"),
        ("colour", ""),
        ("profile_root", " (did you mean profiles_root?)"),
        ("profiles", " (did you mean profile or profiles_root?)"),
    ],
)
def test_did_you_mean(name, hint):
    assert did_you_mean(name, ["dest_dir", "profiles_root", "profile", "owner"]) == hint


def test_check_names_names_every_unknown_name_and_the_valid_ones():
    check_names({"a": 1, "b": 2}, ["a", "b", "c"])
    with pytest.raises(RendererError) as info:
        check_names({"ownr": 1, "zzz": 2, "group": 3}, ["group", "owner"])
    assert str(info.value) == "unknown option(s) ownr (did you mean owner?), zzz; valid options: group, owner"
    assert (info.value.field, info.value.fix) == ("ownr", "use one of: group, owner")
    with pytest.raises(_outlook.OutlookError, match=r"^unknown option\(s\) gate\.x; valid options of gate: y$"):
        check_names({"x": 1}, ["y"], _outlook.OutlookError, prefix="gate.")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"accounts": [], "acounts": []},
            "unknown option(s) acounts (did you mean accounts?); valid options: accounts, dest, gate, options",
        ),
        (
            {"accounts": [], "gate": {"allow_unverifed": True}},
            "unknown option(s) gate.allow_unverifed (did you mean allow_unverified?); valid options of gate: "
            "allow_unverified, client, fail_on, verified",
        ),
    ],
)
def test_action_options_are_checked_with_their_sub_options(args, message):
    spec = dict(COMMON_OPTIONS, dest={"type": "str"})
    with pytest.raises(RendererError, match=f"^{re.escape(message)}$"):
        check_option_names(args, spec)
    check_option_names({"accounts": [], "gate": None, "options": {"anything": 1}}, spec)


def test_thunderbird_options_are_checked():
    _thunderbird.check_options(dict.fromkeys(_thunderbird.OPTIONS))
    with pytest.raises(
        _thunderbird.ThunderbirdError,
        match=r"^unknown option\(s\) login_at_start \(did you mean login_at_startup\?\); valid options: "
        r"account_name_format, ",
    ):
        _thunderbird.check_options({"login_at_start": False})

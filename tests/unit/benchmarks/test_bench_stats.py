# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Smoke test of the benchmarks' pure statistics helpers (benchmarks/_stats.py); the benchmarks themselves run
on demand with `make bench`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from benchmarks import _stats  # noqa: E402  (the checkout root is on sys.path only from here)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([5], 5),
        ([3, 1, 2], 2),
        ([4, 1, 3, 2], 2.5),
        ([0.013, 0.011, 0.5, 0.012, 0.010], 0.012),
    ],
)
def test_median(values, expected):
    assert _stats.median(values) == pytest.approx(expected)


def test_median_of_nothing_is_an_error():
    with pytest.raises(ValueError, match=r"^median of an empty sequence$"):
        _stats.median([])


@pytest.mark.parametrize(("q", "expected"), [(0, 1), (0.5, 2.5), (0.9, 3.7), (1, 4)])
def test_quantile(q, expected):
    assert _stats.quantile([4, 1, 3, 2], q) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("ours", "baseline", "expected"),
    [(12.0, 10.0, 1.2), (1.0, 0.0, None), (None, 1.0, None), (1.0, None, None)],
)
def test_ratio(ours, baseline, expected):
    assert _stats.ratio(ours, baseline) == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "n/a"), (0.8249, "0.82×"), (1.2, "1.20×"), (9.996, "10.00×"), (23.44, "23.4×"), (412.3, "412×")],
)
def test_format_ratio(value, text):
    assert _stats.format_ratio(value) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "n/a"), (0.00085, "850 µs"), (0.0134, "13.4 ms"), (2.314, "2.31 s"), (750, "12.5 min")],
)
def test_format_seconds(seconds, text):
    assert _stats.format_seconds(seconds) == text


@pytest.mark.parametrize(("kib", "text"), [(None, "n/a"), (512, "512 KiB"), (39424, "38.5 MiB")])
def test_format_mib(kib, text):
    assert _stats.format_mib(kib) == text


@pytest.mark.parametrize(
    ("value", "target", "kind", "expected"),
    [(1.19, 1.2, "max", True), (1.21, 1.2, "max", False), (25.0, 20, "min", True), (19.9, 20, "min", False)],
)
def test_target_met(value, target, kind, expected):
    assert _stats.target_met(value, target, kind) is expected


def test_target_met_without_a_measurement_is_unknown():
    assert _stats.target_met(None, 1.5, "max") is None


def test_scaling_of_a_linear_cost():
    result = _stats.scaling(100, 10.0, 1000, 100.0)
    assert result["per_unit_a"] == pytest.approx(0.1)
    assert result["per_unit_b"] == pytest.approx(0.1)
    assert result["linearity"] == pytest.approx(1.0)
    assert result["exponent"] == pytest.approx(1.0)


def test_scaling_with_a_fixed_cost_is_below_linear():
    # 2 s fixed + 10 ms per unit: 3 s at 100, 12 s at 1000
    result = _stats.scaling(100, 3.0, 1000, 12.0)
    assert result["linearity"] == pytest.approx(0.4)
    assert result["exponent"] < 1


def test_linear_fit_recovers_fixed_and_per_unit_cost():
    fixed, per_unit = _stats.linear_fit([(10, 2.5), (40, 7.0), (100, 16.0)])
    assert fixed == pytest.approx(1.0)
    assert per_unit == pytest.approx(0.15)


def test_linear_fit_needs_two_sizes():
    with pytest.raises(ValueError, match=r"^linear_fit needs at least two different sizes$"):
        _stats.linear_fit([(10, 1.0), (10, 1.1)])

# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure statistics and formatting helpers of the benchmarks (unit-tested in tests/unit/benchmarks)."""

from __future__ import annotations

import math


def median(values):
    """The median of a non-empty sequence of numbers (mean of the two middle values for an even count)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("median of an empty sequence")
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def quantile(values, q):
    """The q-quantile (0 <= q <= 1) with linear interpolation between closest ranks."""
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must be between 0 and 1, got {q}")
    ordered = sorted(values)
    if not ordered:
        raise ValueError("quantile of an empty sequence")
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(ours, baseline):
    """ours / baseline, or None when either is missing or the baseline is not positive."""
    if ours is None or baseline is None or baseline <= 0:
        return None
    return ours / baseline


def format_ratio(value):
    """A ratio for a table: 1.07×, 23.4×, 412×; n/a when there is none."""
    if value is None:
        return "n/a"
    if value < 10:
        return f"{value:.2f}×"
    if value < 100:
        return f"{value:.1f}×"
    return f"{value:.0f}×"


def format_seconds(seconds):
    """A duration for a table: 850 µs, 13.4 ms, 2.31 s, 12.5 min; n/a when there is none."""
    if seconds is None:
        return "n/a"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 600:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def format_mib(kib):
    """Kilobytes (as getrusage reports them): KiB below 1 MiB, else MiB with one decimal; n/a when unknown."""
    if kib is None:
        return "n/a"
    if kib < 1024:
        return f"{kib:.0f} KiB"
    return f"{kib / 1024:.1f} MiB"


def target_met(value, target, kind):
    """Whether a ratio meets its target: kind 'max' (value <= target) or 'min' (value >= target)."""
    if value is None:
        return None
    if kind == "max":
        return value <= target
    if kind == "min":
        return value >= target
    raise ValueError(f"kind must be 'max' or 'min', got {kind!r}")


def scaling(size_a, time_a, size_b, time_b):
    """How cost grows from size_a to size_b: per-unit costs, linearity (1.0 = linear) and the exponent.

    linearity = (time_b / time_a) / (size_b / size_a): below 1 a fixed start-up cost is being spread,
    above 1 the cost grows faster than the size.
    """
    if size_a <= 0 or size_b <= 0 or size_a == size_b or time_a <= 0 or time_b <= 0:
        raise ValueError("scaling needs two different positive sizes and positive times")
    growth = time_b / time_a
    size_growth = size_b / size_a
    return {
        "per_unit_a": time_a / size_a,
        "per_unit_b": time_b / size_b,
        "linearity": growth / size_growth,
        "exponent": math.log(growth) / math.log(size_growth),
    }


def linear_fit(points):
    """Least-squares line through (size, time) points: (fixed cost, cost per unit)."""
    if len(points) < 2 or len({x for x, _unused in points}) < 2:
        raise ValueError("linear_fit needs at least two different sizes")
    count = len(points)
    mean_x = sum(x for x, _unused in points) / count
    mean_y = sum(y for _unused, y in points) / count
    sxx = sum((x - mean_x) ** 2 for x, _unused in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx
    return mean_y - slope * mean_x, slope

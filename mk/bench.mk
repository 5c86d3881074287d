# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Benchmarks: on demand only, never part of `make test`. Included by the main Makefile
# (include mk/*.mk), which provides VENV and the `venv` target. Needs root (the mail lab).
#   make bench         P1 probe cost, P2 credential sweeps, P3 fleet render, P4 discovery; writes benchmarks/RESULTS.md and
#                      benchmarks/results.json (sizes via BENCH_* variables, see benchmarks/README.md)
#   make bench-quick   the same at small sizes (a smoke run, < 3 minutes) into build/bench-quick/
# Examples: BENCH_ONLY=p3 BENCH_P3_SIZES="20 80" make bench;  BENCH_P2_LOOP_SIZES="100 1000" make bench

VENV ?= .venv
BENCH_QUICK_OUT ?= build/bench-quick

.PHONY: bench bench-quick

bench: venv
	$(VENV)/bin/python -m benchmarks.run

bench-quick: venv
	BENCH_OUT=$(BENCH_QUICK_OUT) BENCH_P1_PROBES=20 BENCH_P2_SIZES="20 50" BENCH_P2_LOOP_SIZES=10 \
	BENCH_P2_REPEAT=1 BENCH_P3_SIZES="2 4" BENCH_P3_FORKS=5 BENCH_P3_REPEAT=1 BENCH_P3_EXTRA=0 \
	BENCH_P4_ROUNDS=1 BENCH_P4_ADDRESSES=40 \
	  $(VENV)/bin/python -m benchmarks.run

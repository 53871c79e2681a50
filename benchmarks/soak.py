"""Sustained load on the lab dashboard: ``benchmarks/soak [--minutes N] [--connections C]``.

wrk, Debian's package, runs inside the lab container against the login page (dynamic Django,
CPU-bound) over HTTPS through NGINX, in rounds of 30 seconds; between rounds the resident memory
of uWSGI's processes is sampled. It prints a figure per round and a summary, and fails (exit 1)
on what must not happen under load: any answer other than 2xx, any socket error or timeout,
uWSGI's listen queue overflowing, or uWSGI's memory growing past the bound below. Timings are
reported, never judged: a shared machine may be slow.
"""

from __future__ import annotations

import argparse
import sys
import time

from benchmarks import lab_container
from benchmarks.wrk import WrkResult, run, wrk

ROUND_SECONDS = 30
# Workers are recycled after max-requests (uWSGI ini), so their memory cannot grow without bound:
# after the warm-up round, the total may not grow by more than this over the whole soak.
MAX_MEMORY_GROWTH = 1.5


def uwsgi_memory_mib(container) -> float:
    """Resident memory of the uWSGI master and workers together."""
    return sum(int(kib) for kib in run(container, "ps -C uwsgi -o rss=").split()) / 1024


def soak_round(container, connections: int) -> WrkResult:
    return wrk(container, "https://localhost/auth/login/", connections, ROUND_SECONDS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default: 32)")
    options = parser.parse_args()

    container = lab_container("wrk")
    started = run(container, "date '+%Y-%m-%d %H:%M:%S'").strip()

    print(f"warm-up: {ROUND_SECONDS} s, {options.connections} connections", file=sys.stderr)
    soak_round(container, options.connections)
    baseline = uwsgi_memory_mib(container)
    rounds = max(1, round(options.minutes * 60 / ROUND_SECONDS))
    print("| round | requests/s | p50 ms | p99 ms | non-2xx | socket errors | uWSGI RSS MiB |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(f"| warm-up | | | | | | {baseline:.0f} |")
    totals = {"requests": 0, "non_2xx": 0, "socket_errors": 0}
    peak = baseline
    soak_started = time.monotonic()
    for number in range(1, rounds + 1):
        figures = soak_round(container, options.connections)
        memory = uwsgi_memory_mib(container)
        peak = max(peak, memory)
        for key in totals:
            totals[key] += getattr(figures, key)
        print(
            f"| {number} | {figures.per_second:.0f} | {figures.p50_ms:.0f} | {figures.p99_ms:.0f} | "
            f"{figures.non_2xx} | {figures.socket_errors} | {memory:.0f} |",
            flush=True,
        )
    elapsed = time.monotonic() - soak_started
    overflows = int(run(container, f"journalctl -u horizon --since '{started}' | grep -c 'listen queue' || true").strip())
    bound = baseline * MAX_MEMORY_GROWTH

    print()
    print(f"soak: {rounds} rounds, {elapsed:.0f} s, {options.connections} connections against /auth/login/")
    print(f"requests: {totals['requests']} ({totals['requests'] / elapsed:.0f}/s)")
    print(f"non-2xx answers: {totals['non_2xx']}; socket errors and timeouts: {totals['socket_errors']}")
    print(f"uWSGI listen queue overflows logged: {overflows}")
    print(f"uWSGI resident memory: {baseline:.0f} MiB after warm-up, peak {peak:.0f} MiB (bound {bound:.0f} MiB)")
    failures = [
        name
        for name, failed in (
            ("non-2xx answers", totals["non_2xx"] > 0),
            ("socket errors", totals["socket_errors"] > 0),
            ("listen queue overflows", overflows > 0),
            ("memory growth", peak > bound),
        )
        if failed
    ]
    print("PASS" if not failures else "FAIL: " + ", ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

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
import re
import sys
import time

from benchmarks import lab_container

ROUND_SECONDS = 30
# Workers are recycled after max-requests (uWSGI ini), so their memory cannot grow without bound:
# after the warm-up round, the total may not grow by more than this over the whole soak.
MAX_MEMORY_GROWTH = 1.5
WRK_TOTALS = re.compile(r"(\d+) requests in")
WRK_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
WRK_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", re.M)
UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def run(container, command: str) -> str:
    result = container.exec_run(["sh", "-c", command])
    if result.exit_code != 0:
        raise RuntimeError(f"{command}: exit {result.exit_code}: {result.output.decode(errors='replace')}")
    return result.output.decode()


def uwsgi_memory_mib(container) -> float:
    """Resident memory of the uWSGI master and workers together."""
    return sum(int(kib) for kib in run(container, "ps -C uwsgi -o rss=").split()) / 1024


def wrk_round(container, connections: int, seconds: int) -> dict:
    output = run(
        container,
        f"wrk --latency -t 2 -c {connections} -d {seconds}s https://localhost/auth/login/",
    )
    latency = {f"p{p}": float(v) * UNIT_SECONDS[u] * 1000 for p, v, u in WRK_LATENCY.findall(output)}
    socket_errors = WRK_SOCKET_ERRORS.search(output)
    non_2xx = WRK_NON_2XX.search(output)
    return {
        "requests": int(WRK_TOTALS.search(output).group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
        **latency,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default: 32)")
    options = parser.parse_args()

    container = lab_container("wrk")
    started = run(container, "date '+%Y-%m-%d %H:%M:%S'").strip()

    print(f"warm-up: {ROUND_SECONDS} s, {options.connections} connections", file=sys.stderr)
    wrk_round(container, options.connections, ROUND_SECONDS)
    baseline = uwsgi_memory_mib(container)
    rounds = max(1, round(options.minutes * 60 / ROUND_SECONDS))
    print("| round | requests/s | p50 ms | p99 ms | non-2xx | socket errors | uWSGI RSS MiB |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(f"| warm-up | | | | | | {baseline:.0f} |")
    totals = {"requests": 0, "non_2xx": 0, "socket_errors": 0}
    peak = baseline
    soak_started = time.monotonic()
    for number in range(1, rounds + 1):
        figures = wrk_round(container, options.connections, ROUND_SECONDS)
        memory = uwsgi_memory_mib(container)
        peak = max(peak, memory)
        for key in totals:
            totals[key] += figures[key]
        print(
            f"| {number} | {figures['requests'] / ROUND_SECONDS:.0f} | {figures.get('p50', 0):.0f} | "
            f"{figures.get('p99', 0):.0f} | {figures['non_2xx']} | {figures['socket_errors']} | {memory:.0f} |",
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

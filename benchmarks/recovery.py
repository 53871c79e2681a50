"""How long the lab dashboard takes to answer again after a crash or a reboot:
``benchmarks/recovery [--times 3]``.

Each fault is caused inside the lab container (run lab/up first), and the login page is then
requested from inside it every 0.1 s until it answers 200; the seconds from the fault to that
answer are printed, with the requests that failed in between. Figures only: a shared machine
may be slow, so nothing here passes or fails on time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from benchmarks import lab_container
from lab import targets

# From inside the container, so that a reboot does not change the address; curl exits 0 only on 2xx.
PROBE = "curl -skf -o /dev/null --max-time 5 https://localhost/auth/login/"
FAULTS = {
    "uWSGI worker killed (kill -9)": "kill -9 $(pgrep -P $(systemctl show -p MainPID --value horizon) -x uwsgi | head -n 1)",
    "uWSGI master killed (kill -9)": "kill -9 $(systemctl show -p MainPID --value horizon)",
    "every horizon process killed (systemctl kill -s KILL)": "systemctl kill --signal=KILL horizon",
    "memcached restarted": "systemctl restart memcached",
}


def answered(container) -> bool:
    return container.exec_run(["sh", "-c", PROBE]).exit_code == 0


def until_answered(container, started: float, timeout: float = 180) -> tuple[float, int]:
    """Seconds from ``started`` to the first 200, and the probes that failed before it."""
    failed = 0
    while time.monotonic() - started < timeout:
        if answered(container):
            return time.monotonic() - started, failed
        failed += 1
        time.sleep(0.1)
    raise RuntimeError(f"no answer within {timeout} s")


def reboot(container) -> float:
    started = time.monotonic()
    container.restart()
    targets.wait_for_boot(container, timeout=180)
    return started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=3, help="repetitions of each fault (default: 3)")
    options = parser.parse_args()
    container = lab_container("curl")
    if not answered(container):
        print("the lab dashboard does not answer: nothing to measure", file=sys.stderr)
        return 2

    print("| fault | seconds to the next 200 (median, max) | failed probes (max) |")
    print("| --- | --- | --- |")
    cases = [*FAULTS.items(), ("reboot (docker restart: systemd stops and boots)", None)]
    for name, command in cases:
        seconds, failures = [], []
        for _ in range(options.times):
            if command is None:
                started = reboot(container)
            else:
                started = time.monotonic()
                container.exec_run(["sh", "-c", command])
            took, failed = until_answered(container, started)
            seconds.append(took)
            failures.append(failed)
            time.sleep(3)
        print(f"| {name} | {statistics.median(seconds):.1f}, {max(seconds):.1f} | {max(failures)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

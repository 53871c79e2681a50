"""wrk, Debian's HTTP load generator, run inside a container, and the figures it prints."""

from __future__ import annotations

import re
from dataclasses import dataclass

TOTALS = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m)")
NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)
SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def run(container, command: str) -> str:
    """``command`` through ``sh -c`` in ``container``; its output, or an error naming it."""
    result = container.exec_run(["sh", "-c", command])
    if result.exit_code != 0:
        raise RuntimeError(f"{command}: exit {result.exit_code}: {result.output.decode(errors='replace')}")
    return result.output.decode()


def wrk(container, url: str, connections: int, seconds: int, headers: dict[str, str] | None = None) -> WrkResult:
    """One wrk run from inside ``container`` (one thread: the load generator shares the host's
    cores with the servers it measures, and should take as few as it can)."""
    options = " ".join(f"-H '{name}: {value}'" for name, value in (headers or {}).items())
    # A response slower than wrk's default 2 s timeout would vanish from the latency figures.
    return parse(run(container, f"wrk --latency -t 1 -c {connections} -d {seconds}s --timeout 30s {options} '{url}'"))


def parse(output: str) -> WrkResult:
    totals = TOTALS.search(output)
    if totals is None:
        raise RuntimeError(f"no totals in wrk's output:\n{output}")
    latency = {p: float(value) * SECONDS[unit] * 1000 for p, value, unit in LATENCY.findall(output)}
    socket_errors = SOCKET_ERRORS.search(output)
    non_2xx = NON_2XX.search(output)
    return WrkResult(
        requests=int(totals.group(1)),
        seconds=float(totals.group(2)) * SECONDS[totals.group(3)],
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(map(int, socket_errors.groups())) if socket_errors else 0,
        p50_ms=latency.get("50", 0.0),
        p99_ms=latency.get("99", 0.0),
    )

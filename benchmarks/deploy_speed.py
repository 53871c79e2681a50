"""How fast the deploy is: a cold deploy against the floor, a run with nothing to change, a fleet.

The floor is what no deploy tool can beat on the same machine: the same packages installed by
a bare ``apt-get install`` and ``pip install uwsgi`` into the same virtualenv, on an identical
fresh container, timed in the same run. Packages come through the lab's apt cache for both, so
neither pays for downloads the other did not.
"""

from __future__ import annotations

import re
import secrets
import statistics
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from inventory import LAB_DATA
from lab import targets
from operations.layout import UWSGI_VENV
from operations.platforms import BASE_PACKAGES, UWSGI_PACKAGES
from operations.settings.keys import DEFAULTS

PREFIX = "horizon-bench-"
# The floor's steps, timed one by one.
FLOOR = {
    "packages (apt-get update and install; the package's postinst builds the static files)": (
        "export DEBIAN_FRONTEND=noninteractive && apt-get update -q >/dev/null && "
        f"{{ apt-get install -y -q --no-install-recommends {' '.join(BASE_PACKAGES + UWSGI_PACKAGES['pip'])} >/dev/null "
        # The dashboard's postinst now and then fails on a pyScss thread race (Debian bug
        # #1069097); a second try configures it, as the deploy's own retry does.
        "|| dpkg --configure -a >/dev/null; }"
    ),
    "uWSGI (venv and pip install)": (
        f"python3 -m venv --system-site-packages {UWSGI_VENV} && "
        f"{UWSGI_VENV}/bin/pip install -q uwsgi=={DEFAULTS['horizon_uwsgi_version']}"
    ),
}
BEFORE_OPERATIONS = "facts and checks before the first operation"
STARTING = re.compile(r"--> (Beginning operation run|Starting operation: (?P<group>[^|]+?) \|)")
# A fleet shares its secret key (the deploy refuses one without), given as the README says.
FLEET_INVENTORY = """
import os

shared = {{**{data!r}, "horizon_secret_key": os.environ["HORIZON_BENCH_SECRET_KEY"]}}
horizon = [(name, shared) for name in {hosts!r}]
"""


@dataclass(frozen=True)
class Timed:
    seconds: float
    changed: int
    # Seconds per deploy of operations/ (the part of an operation's name before "|").
    phases: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FleetRun:
    hosts: int
    cold: Timed
    no_change: Timed


def fresh_containers(count: int, image: str, label: str) -> list[str]:
    names = [f"{PREFIX}{label}-{number}" for number in range(1, count + 1)]
    for name in names:
        targets.start(name, image)
    return names


def remove(names: list[str]) -> None:
    for name in names:
        targets.remove(name)


def floor(image: str) -> Timed:
    """The bare install on a fresh container, each step timed."""
    (name,) = fresh_containers(1, image, "floor")
    container = targets.client().containers.get(name)
    phases = {}
    try:
        for step, command in FLOOR.items():
            started = time.monotonic()
            result = container.exec_run(["sh", "-c", command])
            phases[step] = time.monotonic() - started
            if result.exit_code != 0:
                raise RuntimeError(f"the floor's {step} failed: {result.output.decode(errors='replace')[-2000:]}")
        return Timed(sum(phases.values()), 0, phases)
    finally:
        remove([name])


class PhaseClock:
    """Seconds per phase of a deploy, a phase starting with each line where pyinfra says an
    operation starts."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.phase, self.since = BEFORE_OPERATIONS, time.monotonic()

    def line(self, line: str) -> None:
        starting = STARTING.search(line)
        if starting:
            self.stop()
            self.phase = (starting.group("group") or BEFORE_OPERATIONS).strip()

    def stop(self) -> None:
        now = time.monotonic()
        self.seconds[self.phase] += now - self.since
        self.since = now


def timed_deploy(inventory: str, env: dict[str, str]) -> Timed:
    """``pyinfra --json INVENTORY deploy.py``, timed as a whole and per phase."""
    started = time.monotonic()
    clock = PhaseClock()
    run = targets.finish_deploy(targets.start_deploy(inventory=inventory, env=env), clock.line)
    clock.stop()
    if run.returncode != 0 or run.results is None:
        raise RuntimeError(f"the deploy failed (exit {run.returncode}):\n{run.stderr[-3000:]}")
    return Timed(time.monotonic() - started, run.changed, dict(clock.seconds))


def fleet(count: int, image: str) -> FleetRun:
    """``count`` fresh containers deployed in one pyinfra run, then once more with nothing to change."""
    names = fresh_containers(count, image, f"fleet{count}")
    try:
        with tempfile.TemporaryDirectory() as directory:
            inventory = Path(directory) / "inventory.py"
            inventory.write_text(FLEET_INVENTORY.format(data=LAB_DATA, hosts=[f"@docker/{name}" for name in names]))
            env = {"HORIZON_BENCH_SECRET_KEY": secrets.token_urlsafe(48)}
            cold = timed_deploy(str(inventory), env)
            return FleetRun(count, cold, timed_deploy(str(inventory), env))
    finally:
        remove(names)


def measure(image: str, fleet_sizes: list[int], repeat: int, log) -> dict:
    """Every figure of the section; ``log`` gets a line as each is taken. The floor and the
    one-host deploy alternate ``repeat`` times (apt's time varies by several seconds from one
    install to the next): their medians are compared."""
    floors, singles = [], []
    for _ in range(repeat):
        floors.append(floor(image))
        log(f"floor (apt-get install + pip install uwsgi): {floors[-1].seconds:.0f} s")
        singles.append(fleet(1, image))
        log(f"1 host: cold {singles[-1].cold.seconds:.0f} s, nothing to change {singles[-1].no_change.seconds:.1f} s "
            f"({singles[-1].no_change.changed} changes)")
    runs = [median_run(singles)] if 1 in fleet_sizes else []
    for count in (size for size in fleet_sizes if size != 1):
        runs.append(fleet(count, image))
        log(f"{count} hosts: cold {runs[-1].cold.seconds:.0f} s, nothing to change {runs[-1].no_change.seconds:.1f} s "
            f"({runs[-1].no_change.changed} changes)")
    return {"image": image, "floor": median_timed(floors), "fleet": runs, "repeat": repeat}


def median_timed(runs: list[Timed]) -> Timed:
    """The run whose total is the median (the lower middle one of an even count), phases and all."""
    return sorted(runs, key=lambda run: run.seconds)[(len(runs) - 1) // 2]


def median_run(runs: list[FleetRun]) -> FleetRun:
    return FleetRun(
        runs[0].hosts,
        median_timed([run.cold for run in runs]),
        Timed(statistics.median(run.no_change.seconds for run in runs), max(run.no_change.changed for run in runs)),
    )

"""The services: enabled and running, then restarted or reloaded only when their inputs changed,
one host at a time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any
from weakref import WeakKeyDictionary

from pyinfra import host
from pyinfra.api import OperationError, State, deploy, operation
from pyinfra.facts.server import Command
from pyinfra.operations import server, systemd
from pyinfra.operations.util import any_changed

from .layout import CHECK_SITE, DRAINING_MARK, MEMCACHED_REPLICA_SERVICE, NGINX_EXPORTER_SERVICE, STAMPS, UWSGI_EXPORTER_SERVICE

# In the order they are applied: memcached (a host alone runs two) before the Horizon that uses
# it, NGINX, then the metrics exporters that read them. Only those a deploy returned ``Changes``
# for run on a host.
SERVICES = ("memcached", MEMCACHED_REPLICA_SERVICE, "horizon", "nginx", NGINX_EXPORTER_SERVICE, UWSGI_EXPORTER_SERVICE)


@dataclass(frozen=True)
class Changes:
    """
    What deploys did that the services must take in; every deploy that touches a service
    returns one, and ``deploy.py`` adds them up for ``run_services``. For each service: the
    operations whose change needs it restarted, those a reload takes in, and the files on the
    host it reads that the deploy writes (shell globs allowed), a command to run before it
    restarts or reloads, and one to run once it has started again. The files are how an
    interrupted run is finished: one newer than the service's stamp has the next run apply it.
    A service no deploy names files for does not run on the host.
    """

    restart: tuple[tuple[str, Any], ...] = ()
    reload: tuple[tuple[str, Any], ...] = ()
    files: tuple[tuple[str, str], ...] = ()
    before_stop: tuple[tuple[str, str], ...] = ()
    after_start: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(
        cls,
        service: str,
        restart: Sequence = (),
        reload: Sequence = (),
        files: Sequence[str] = (),
        before_stop: str | None = None,
        after_start: str | None = None,
    ) -> Changes:
        """``before_stop``: a command the roll-out runs before it restarts or reloads the
        service, which fails the host's roll-out if it fails; ``after_start``: one it runs once
        the service has (re)started, before it goes on."""
        if service not in SERVICES:
            raise ValueError(f"{service} is not one of the services the deploy runs ({', '.join(SERVICES)})")
        return cls(
            tuple((service, operation) for operation in restart),
            tuple((service, operation) for operation in reload),
            tuple((service, path) for path in files),
            ((service, before_stop),) if before_stop else (),
            ((service, after_start),) if after_start else (),
        )

    def __add__(self, other: Changes) -> Changes:
        return Changes(*(getattr(self, part.name) + getattr(other, part.name) for part in fields(Changes)))

    def operations(self, service: str | None = None) -> list:
        """The operations that matter to ``service`` (by default, to any)."""
        return _of(self.restart + self.reload, service)

    def files_of(self, service: str) -> list[str]:
        return _of(self.files, service)

    def services(self) -> list[Service]:
        """The services these changes are for, in ``SERVICES`` order."""
        return [self._service(name) for name in SERVICES if _of(self.files, name)]

    def _service(self, name: str) -> Service:
        return Service(
            name,
            files=self.files_of(name),
            restart_on=_of(self.restart, name),
            reload_on=_of(self.reload, name),
            before_stop=next(iter(_of(self.before_stop, name)), None),
            after_start=next(iter(_of(self.after_start, name)), None),
        )


def _of(pairs: tuple[tuple[str, Any], ...], service: str | None) -> list:
    """What ``pairs`` of (service, thing) hold for ``service`` (for any, without one)."""
    return [thing for name, thing in pairs if service in (None, name)]


@dataclass(frozen=True)
class Service:
    name: str
    # The files the operations below write on the host (shell globs allowed).
    files: Sequence[str]
    # This run's operations whose change needs the service restarted...
    restart_on: Sequence = ()
    # ...and those whose change a reload takes in without dropping a request: uWSGI finishes
    # the requests in flight and re-reads its configuration and code, NGINX starts new workers.
    reload_on: Sequence = ()
    # Run before a restart or reload (Horizon's wait for the image uploads in flight).
    before_stop: str | None = None
    # Run once it has (re)started, before the roll-out goes on (memcached's refill).
    after_start: str | None = None

    @property
    def stamp(self) -> str:
        return f"{STAMPS}/{self.name}"


def checked_or_restored(what: str, check: str, kept: Sequence[str], changes: Sequence):
    """
    When any of ``changes`` changed, run ``check`` on the files a service is about to read. It
    passes: those files (``kept``) are saved as the last configuration that passed (a 0600 tar
    under ``STAMPS``, as they may hold keys). It fails: the run stops for this host with the
    check's message before any restart or reload, and the saved files are put back, so that
    the running service keeps serving them, and so would a restart or reboot before the next
    good run.
    """
    last_good = f"{STAMPS}/{what}-last-good.tar"
    return server.shell(
        name=f"Check the {what} configuration",
        commands=[
            f"{check} || {{ tar -xpPf {last_good} 2>/dev/null; exit 1; }}",
            f"mkdir -p {STAMPS} && (umask 077 && tar -cpPf {last_good} {' '.join(kept)} 2>/dev/null || true)",
        ],
        _if=any_changed(*changes),
    )


# Said by _left_by_an_earlier_run when a run that failed midway through a roll-out left the
# host drained.
LEFT_DRAINED = "left-drained"


def _left_by_an_earlier_run(services: Sequence[Service]) -> set[str]:
    """What an interrupted or failed run left, in one command: the names of the services with an
    input newer than their stamp (or never applied), and ``LEFT_DRAINED``."""
    checks = "; ".join(
        f"if [ -e {service.stamp} ]; then [ -z \"$(find {' '.join(service.files)} -newer {service.stamp} -print -quit "
        f"2>/dev/null)\" ] || echo {service.name}; else echo {service.name}; fi"
        for service in services
    )
    return set((host.get_fact(Command, f"{checks}; if [ -e {DRAINING_MARK} ]; then echo {LEFT_DRAINED}; fi") or "").split())


@deploy("Services")
def run_services(changes: Changes, drain_seconds: int = 0):
    """
    Each service enabled and running; then this run's ``changes`` (and what an interrupted earlier
    run left newer than a service's stamp) applied on one host at a time: see ``roll_out``.
    """
    services = changes.services()
    left = _left_by_an_earlier_run(services)
    started = {}
    for service in services:
        # A unit that is not running (a first run, one stopped by hand) starts with its files
        # as they now are: the roll-out has nothing more to apply to it. Enabling one changes
        # nothing it runs, hence its own operation.
        started[service.name] = systemd.service(name=f"{service.name} running", service=service.name, running=True)
        systemd.service(name=f"{service.name} enabled at boot", service=service.name, running=None, enabled=True)
    roll_out(
        name="Roll this run's changes out, one host at a time",
        services=services,
        pending=left - {LEFT_DRAINED},
        started=started,
        left_drained=LEFT_DRAINED in left,
        drain_seconds=drain_seconds,
        _serial=True,
    )


# Per run (pyinfra's state): the name of each host whose roll-out has begun, with its count of
# failed operations just before; a later host's turn compares.
_ROLLING: WeakKeyDictionary[State, dict[str, int]] = WeakKeyDictionary()


def _errors(state: State, name: str) -> int:
    """The failed operations of host ``name`` so far in this run (by name: pyinfra's ``host`` is
    a proxy for whichever host an operation runs on)."""
    return state.get_results_for_host(state.inventory.get_host(name)).error_ops


@operation(is_idempotent=False)
def roll_out(
    services: Sequence[Service],
    pending: set[str],
    started: Mapping[str, Any],
    left_drained: bool = False,
    drain_seconds: int = 0,
    check: str = CHECK_SITE,
):
    """
    Restart or reload what this run changed, as one sequence on each host; given ``_serial``,
    one host after the other, so that the others serve meanwhile. Each service restarts when a
    change needs it (or an interrupted run left one that does), reloads when a reload takes its
    changes in, in ``SERVICES`` order, each once its ``before_stop`` passes; one that restarted,
    or that this run started, then runs its ``after_start`` before the next; then ``check``
    waits until the host serves the new configuration. With ``drain_seconds``, the host first
    answers its health check 503 for that long, so that the load balancer sends users
    elsewhere, and answers 200 again once checked, that long before the next host's turn. A
    host whose check fails stays drained and fails the run; the hosts after it are left as
    they are. A host with nothing to apply is not touched.

    + services: the services, each with the operations that change it
    + pending: names of the services an interrupted earlier run left inputs newer than the stamp of
    + started: each service's "running" operation (a unit it started runs its new files)
    + left_drained: a run that failed midway through its roll-out left the host drained
    + drain_seconds: how long the load balancer in front takes to notice a health check change
    + check: a command that exits 0 once the host serves this run's configuration

    **Example:**

    .. code:: python

        roll_out(name="Roll out", services=services, pending=set(), started=started, drain_seconds=6, _serial=True)
    """
    if not host.state.is_executing:
        host.noop("decided when the run gets here, from what the operations before it changed")
        return
    steps = [(step, service) for service in services if (step := _step(service, service.name in pending, started[service.name]))]
    applied = [service.name for step, service in steps if step != "stamp"]
    if not steps and not left_drained:
        host.noop("nothing to restart or reload")
        return
    state = host.state
    rolling = _ROLLING.setdefault(state, {})
    failed = [name for name, errors in rolling.items() if _errors(state, name) > errors]
    if applied and failed:
        # Raised while the run executes, this ends the run: no later host is changed either.
        raise OperationError(
            f"roll-out stopped: {', '.join(failed)} failed its roll-out in this run; {host.name} and the hosts after it "
            "keep serving what they served"
        )
    rolling[host.name] = _errors(state, host.name)
    drain = drain_seconds > 0 and bool(applied)
    if drain:
        yield f"touch {DRAINING_MARK} && sleep {drain_seconds}"
    for step, service in steps:
        if step != "stamp":
            if service.before_stop:
                yield service.before_stop
            # A restart's unit file may be one of its inputs.
            yield f"systemctl daemon-reload && systemctl {step} {service.name}" if step == "restart" else f"systemctl reload {service.name}"
        if step != "reload" and service.after_start:
            yield service.after_start
        yield f"mkdir -p {STAMPS} && touch {service.stamp}"
    if applied or left_drained:
        yield check
    if drain or left_drained:
        yield f"rm -f {DRAINING_MARK}" + (f" && sleep {drain_seconds}" if drain_seconds else "")


def _step(service: Service, pending: bool, started) -> str | None:
    """What ``service`` needs: ``restart``, ``reload``, only its stamp (``stamp``: started by this
    run, so running its files as they are), or nothing. What an interrupted run left is applied
    the strongest way this service is ever applied (reloaded for NGINX, which never restarts)."""
    if started.did_change():
        return "stamp"
    if (pending and service.restart_on) or any_changed(*service.restart_on)():
        return "restart"
    if pending or any_changed(*service.reload_on)():
        return "reload"
    return None

"""The services: restarted or reloaded only when their inputs changed, then enabled and running."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.server import Command
from pyinfra.operations import server, systemd
from pyinfra.operations.util import any_changed

from .layout import STAMPS

# In the order they are applied: memcached before the Horizon that uses it, NGINX last.
SERVICES = ("memcached", "horizon", "nginx")


@dataclass(frozen=True)
class Changes:
    """
    What deploys did that the services must take in; every deploy that touches a service
    returns one, and ``deploy.py`` adds them up for ``run_services``. For each service: the
    operations whose change needs it restarted, those a reload takes in, and the files on the
    host it reads that the deploy writes (shell globs allowed). The files are how an interrupted
    run is finished: one newer than the service's stamp has the next run apply it.
    """

    restart: tuple[tuple[str, Any], ...] = ()
    reload: tuple[tuple[str, Any], ...] = ()
    files: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, service: str, restart: Sequence = (), reload: Sequence = (), files: Sequence[str] = ()) -> Changes:
        if service not in SERVICES:
            raise ValueError(f"{service} is not one of the services the deploy runs ({', '.join(SERVICES)})")
        return cls(
            tuple((service, operation) for operation in restart),
            tuple((service, operation) for operation in reload),
            tuple((service, path) for path in files),
        )

    def __add__(self, other: Changes) -> Changes:
        return Changes(self.restart + other.restart, self.reload + other.reload, self.files + other.files)

    def operations(self, service: str | None = None) -> list:
        """The operations that matter to ``service`` (by default, to any)."""
        return _of(self.restart + self.reload, service)

    def files_of(self, service: str) -> list[str]:
        return _of(self.files, service)

    def service(self, name: str) -> Service:
        return Service(name, files=self.files_of(name), restart_on=_of(self.restart, name), reload_on=_of(self.reload, name))


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


def _changed_since_last_applied(services: Sequence[Service]) -> set[str]:
    """The services with an input newer than their stamp, or never applied: one command for all."""
    checks = "; ".join(
        f"if [ -e {service.stamp} ]; then [ -z \"$(find {' '.join(service.files)} -newer {service.stamp} -print -quit "
        f"2>/dev/null)\" ] || echo {service.name}; else echo {service.name}; fi"
        for service in services
    )
    return set((host.get_fact(Command, f"{checks}; true") or "").split())


@deploy("Services")
def run_services(changes: Changes):
    """
    Each service restarted or reloaded when this run changed its inputs (``changes``), then
    enabled and running. What an interrupted earlier run left newer than the service's stamp
    is applied the way its restarts are (reloaded for NGINX, which never restarts). memcached
    restarting loses the sessions (users log in again). A unit that is not running yet is
    started instead.
    """
    services = [changes.service(name) for name in SERVICES]
    pending = _changed_since_last_applied(services)
    for service in services:
        _apply(service, service.name in pending)


def _apply(service: Service, pending: bool) -> None:
    # What an interrupted run left is applied the strongest way this service is ever applied.
    restart_pending = pending and bool(service.restart_on)
    reload_pending = pending and not service.restart_on
    restart_needed = any_changed(*service.restart_on)
    reload_needed = any_changed(*service.reload_on)
    restart = systemd.service(
        name=f"Restart {service.name} for its new configuration",
        service=service.name,
        # Its unit file may be one of the inputs.
        daemon_reload=True,
        restarted=True,
        _if=lambda: restart_pending or restart_needed(),
    )
    reload = systemd.service(
        name=f"Reload {service.name} for its new configuration",
        service=service.name,
        reloaded=True,
        _if=lambda: (reload_pending or reload_needed()) and not restart.did_change(),
    )
    # pyinfra restarts and reloads only a running unit; this starts one that is not.
    running = systemd.service(name=f"{service.name} enabled and running", service=service.name, running=True, enabled=True)
    server.shell(
        name=f"Stamp {service.name} as running its current configuration",
        commands=[f"mkdir -p {STAMPS} && touch {service.stamp}"],
        _if=any_changed(restart, reload, running),
    )

"""memcached: the session store the uWSGI workers (and every dashboard node) share, each session
kept by two servers (see ``horizon_deploy.SessionCopies``)."""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.operations import systemd

from . import config_file, retire
from .facts import probe, probed
from .layout import (
    MEMCACHED_CONF,
    MEMCACHED_PACKAGE_LIST,
    MEMCACHED_PIDFILE,
    MEMCACHED_PORT,
    MEMCACHED_REPLICA_CONF,
    MEMCACHED_REPLICA_PIDFILE,
    MEMCACHED_REPLICA_PORT,
    MEMCACHED_REPLICA_SERVICE,
    MEMCACHED_REPLICA_UNIT,
    RUNTIME_FILE,
    SYSTEM_PYTHON,
)
from .service import Changes
from .settings import HorizonConfig

REPLICA_FILES = (MEMCACHED_REPLICA_UNIT, MEMCACHED_REPLICA_CONF)

probe("memcached", lambda: f"ls -d {' '.join(REPLICA_FILES)} 2>/dev/null || true")


@deploy("memcached")
def configure_memcached(config: HorizonConfig) -> Changes:
    """
    The listen address (never every interface), no UDP, and the memory size. The whole file is
    managed: Debian 13's stock one also listens on ::1, which fails where IPv6 is off. On a host
    alone, the same for a second memcached (``memcached-replica``), which keeps the second copy
    of each session; on a host of a fleet, none. memcached restarts for its files, and once it
    answers is given back the sessions it keeps from the other servers (``refill``).
    """
    conf = config_file(
        "memcached configuration", "memcached.conf.j2", MEMCACHED_CONF, config=config, port=MEMCACHED_PORT, pidfile=MEMCACHED_PIDFILE
    )
    changes = Changes.of("memcached", restart=[conf], files=[MEMCACHED_CONF], after_start=refill(config, "memcached"))
    if not config.memcached_replica:
        no_replica()
        return changes
    replica = [
        config_file(f"{MEMCACHED_REPLICA_SERVICE} configuration", "memcached.conf.j2", MEMCACHED_REPLICA_CONF, config=config,
                    port=MEMCACHED_REPLICA_PORT, pidfile=MEMCACHED_REPLICA_PIDFILE),
        config_file(f"{MEMCACHED_REPLICA_SERVICE}.service", "memcached-replica.service.j2", MEMCACHED_REPLICA_UNIT),
    ]
    systemd.daemon_reload(name=f"Reload systemd for {MEMCACHED_REPLICA_SERVICE}", _if=replica[1].did_change)
    # Its package's upgrade restarts memcached.service alone: the next run restarts this one.
    return changes + Changes.of(MEMCACHED_REPLICA_SERVICE, restart=replica, files=[*REPLICA_FILES, MEMCACHED_PACKAGE_LIST],
                                after_start=refill(config, MEMCACHED_REPLICA_SERVICE))


def refill(config: HorizonConfig, service: str) -> str | None:
    """The command that copies into ``service``, just started, the sessions it keeps from the
    other servers: none when Horizon does not use it, uses no other, or keeps sessions in the
    database alone."""
    server, servers = config.memcached_instances[service], config.memcached_servers
    if server not in servers or len(servers) < 2 or config.session_engine == "db":
        return None
    return f"{SYSTEM_PYTHON} {RUNTIME_FILE} refill {server} {' '.join(servers)}"


def no_replica() -> None:
    """A host that joined a fleet (or uses other servers) stops its second memcached and drops
    its files."""
    retire(MEMCACHED_REPLICA_SERVICE, MEMCACHED_REPLICA_UNIT, probed("memcached"), "not on a host of a fleet")

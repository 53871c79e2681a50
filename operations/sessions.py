"""Sessions in a MySQL or MariaDB database (``horizon_session_engine`` ``db`` or ``cached_db``):
the password Horizon connects with, the session table, and the daily deletion of expired ones."""

from __future__ import annotations

from collections.abc import Sequence

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import server, systemd
from pyinfra.operations.util import any_changed

from . import config_file, retire
from .facts import probe, probed
from .layout import CLEANUP_SERVICE, CLEANUP_TIMER, DATABASE_PASSWORD_FILE, HORIZON_USER, SESSIONS_MIGRATED, STAMPS
from .secret import secret_file
from .settings import HorizonConfig

CLEANUP_UNITS = " ".join(path.rpartition("/")[2] for path in (CLEANUP_SERVICE, CLEANUP_TIMER))
# What the host has of the above, the database the table was made in, and whether systemd still
# runs an older definition of the cleanup units than their files (a run stopped between writing
# them and reloading systemd).
PRESENT = (
    f"ls -d {DATABASE_PASSWORD_FILE} {SESSIONS_MIGRATED} {CLEANUP_SERVICE} {CLEANUP_TIMER} 2>/dev/null; "
    f"! systemctl show --property NeedDaemonReload --value {CLEANUP_UNITS} 2>/dev/null | grep -qx yes || echo units-stale; "
    f"sed 's/^/migrated:/' {SESSIONS_MIGRATED} 2>/dev/null || true"
)


probe("sessions", lambda: PRESENT)


def database_password(config: HorizonConfig) -> list:
    """The password in its 0600 file, before the settings that read it (removed, with no
    database, only after the settings that no longer read it passed their check)."""
    if config.session_engine == "cache":
        host.noop("sessions in memcached: no database password")
        return []
    return [
        secret_file(
            name="Session database password",
            path=DATABASE_PASSWORD_FILE,
            user=HORIZON_USER,
            group=HORIZON_USER,
            value=config.database_password,
        )
    ]


@deploy("Session database")
def configure_session_database(config: HorizonConfig, settings: Sequence) -> None:
    """
    The session table created (``manage.py migrate``) whenever the database or the settings
    changed, and a daily timer that deletes expired sessions (``manage.py clearsessions``);
    with sessions in memcached, neither.
    """
    present = set(probed("sessions"))
    if config.session_engine == "cache":
        no_session_database(present)
        return
    database = f"{config.database_user}@{config.database_host}:{config.database_port}/{config.database_name}"
    server.shell(
        name=f"Session table in {database} (manage.py migrate)",
        commands=[
            config.manage("migrate --noinput --verbosity 0"),
            f"mkdir -p {STAMPS} && echo {database} > {SESSIONS_MIGRATED}",
        ],
        _if=lambda: f"migrated:{database}" not in present or any_changed(*settings)(),
        # Hosts sharing the database create its tables at the same time: one of them may find a
        # table the other just made; its second try finds the migration applied.
        _retries=2,
    )
    units = [
        config_file(f"Expired sessions cleanup {path}", source, path, config=config)
        for source, path in (("horizon-clearsessions.service.j2", CLEANUP_SERVICE), ("horizon-clearsessions.timer.j2", CLEANUP_TIMER))
    ]
    units_changed = any_changed(*units)
    systemd.daemon_reload(
        name="Reload systemd for the sessions cleanup", _if=lambda: "units-stale" in present or units_changed()
    )
    systemd.service(name="Expired sessions deleted daily", service="horizon-clearsessions.timer", running=True, enabled=True)


def no_session_database(present: set[str]) -> None:
    """No password, timer, units or stamp left from a database once used (its tables stay in it)."""
    database_files = present & {DATABASE_PASSWORD_FILE, CLEANUP_TIMER, CLEANUP_SERVICE, SESSIONS_MIGRATED}
    retire("horizon-clearsessions.timer", CLEANUP_TIMER, database_files, "sessions in memcached")

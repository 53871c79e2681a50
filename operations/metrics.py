"""Metrics for Prometheus when ``horizon_metrics_listen`` names an address: NGINX's counters
through Debian's ``prometheus-nginx-exporter``, uWSGI's stats through the deploy's own small
exporter (``operations/runtime/horizon_uwsgi_exporter.py``). Without the key neither runs and
their files are gone. NGINX's and uWSGI's own parts (the status server on the loopback, the
stats socket) follow the key in their templates, and so the roll-out."""

from __future__ import annotations

from pathlib import Path

from pyinfra.api import deploy
from pyinfra.operations import apt, server, systemd
from pyinfra.operations.util import any_changed

from . import config_file, public_file, retire
from .facts import probe, probed
from .layout import (
    HORIZON_USER,
    METRICS_FILES,
    METRICS_TMPFILES,
    METRICS_USER,
    NGINX_EXPORTER_DROPIN,
    NGINX_EXPORTER_SERVICE,
    UWSGI_EXPORTER_FILE,
    UWSGI_EXPORTER_SERVICE,
    UWSGI_EXPORTER_UNIT,
    UWSGI_STATS_DIR,
    UWSGI_STATS_DIR_MODE,
)
from .packages import install
from .service import Changes
from .settings import HorizonConfig

EXPORTER_SOURCE = Path(__file__).resolve().parent / "runtime" / "horizon_uwsgi_exporter.py"
NO_METRICS = "horizon_metrics_listen unset"
# The exporters' files on the host, the stats directory's mode and owners, whether the
# exporters' user is there, whether Debian's exporter is installed.
PRESENT = (
    f"ls -d {' '.join(METRICS_FILES)} 2>/dev/null; stat -c 'stats-directory:%a:%U:%G' {UWSGI_STATS_DIR} 2>/dev/null; "
    f"! getent passwd {METRICS_USER} >/dev/null || echo metrics-user; "
    # Installed: "ii".
    f"dpkg-query -W -f '${{db:Status-Abbrev}}' {NGINX_EXPORTER_SERVICE} 2>/dev/null | grep -q ^ii "
    f"&& echo {NGINX_EXPORTER_SERVICE} || true"
)

probe("metrics", lambda: PRESENT)


@deploy("Metrics")
def install_metrics(config: HorizonConfig) -> Changes:
    """
    The exporters on ``horizon_metrics_listen``, under a user of their own that reaches uWSGI's
    stats socket and nothing else of Horizon's, restarted in the roll-out for what changed; or,
    without the key, none of it.
    """
    present = probed("metrics")
    if config.metrics_listen is None:
        retire(UWSGI_EXPORTER_SERVICE, UWSGI_EXPORTER_UNIT, [path for path in present if path in METRICS_FILES], NO_METRICS)
        apt.packages(name=f"{NGINX_EXPORTER_SERVICE} purged: {NO_METRICS}", packages=[NGINX_EXPORTER_SERVICE], present=False, purge=True,
                     _if=lambda: NGINX_EXPORTER_SERVICE in present)
        return Changes()
    server.shell(
        name=f"System user {METRICS_USER}, for the exporters",
        commands=[f"useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin {METRICS_USER}"],
        _if=lambda: "metrics-user" not in present,
    )
    config_file("uWSGI's stats directory, made at every boot", "horizon-metrics.tmpfiles.j2", METRICS_TMPFILES)
    # Whenever the directory is not as the file says (a first run, one stopped before this).
    server.shell(
        name=f"{UWSGI_STATS_DIR} made",
        commands=[f"systemd-tmpfiles --create {METRICS_TMPFILES}"],
        _if=lambda: f"stats-directory:{UWSGI_STATS_DIR_MODE}:{HORIZON_USER}:{METRICS_USER}" not in present,
    )
    # Before the package, whose postinst starts the exporter on every interface otherwise.
    dropin = config_file(f"{NGINX_EXPORTER_SERVICE}: this address, this NGINX", "prometheus-nginx-exporter.conf.j2", NGINX_EXPORTER_DROPIN,
                         config=config)
    script = public_file("uWSGI's exporter", str(EXPORTER_SOURCE), UWSGI_EXPORTER_FILE)
    unit = config_file(f"{UWSGI_EXPORTER_SERVICE}.service", "horizon-uwsgi-exporter.service.j2", UWSGI_EXPORTER_UNIT, config=config)
    systemd.daemon_reload(name="Reload systemd for the exporters", _if=any_changed(dropin, unit))
    installed = install("NGINX's exporter, and what uWSGI's needs", [NGINX_EXPORTER_SERVICE, "python3-prometheus-client", "iproute2"])
    return Changes.of(NGINX_EXPORTER_SERVICE, restart=[dropin], files=[NGINX_EXPORTER_DROPIN]) + Changes.of(
        UWSGI_EXPORTER_SERVICE, restart=[script, unit, *installed], files=[UWSGI_EXPORTER_UNIT, UWSGI_EXPORTER_FILE]
    )

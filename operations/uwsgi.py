"""uWSGI: the application server, its configuration and the `horizon` systemd unit."""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.operations import pip, server, systemd
from pyinfra.operations.util import any_changed

from . import config_file
from .layout import HORIZON_SOCKET_UNIT, HORIZON_UNIT, HORIZON_USER, UPLOAD_MARK, UWSGI_BINARIES, UWSGI_INI, UWSGI_VENV
from .service import Changes
from .settings import HorizonConfig


@deploy("uWSGI")
def install_uwsgi(config: HorizonConfig) -> Changes:
    """
    uWSGI from PyPI in its own virtualenv (or the distribution's), `/etc/uwsgi/horizon.ini`
    and the `horizon` systemd units: the service, and the socket systemd listens on for it so
    that a restart holds requests instead of failing them. Horizon restarts for a changed unit
    (systemd applies one only when the service starts again) and reloads for the rest (a
    graceful reload re-executes the new binary, which re-reads the ini).
    """
    from_pip = config.uwsgi_source == "pip"
    # The virtualenv sees the system's site packages: Horizon and Django come from the
    # distribution's packages, only uWSGI itself from PyPI.
    venv = pip.venv(name="uWSGI virtualenv", path=UWSGI_VENV, python="python3", site_packages=True, present=from_pip)
    changes = [venv]
    if from_pip:
        changes.append(
            pip.packages(
                name=f"uWSGI {config.uwsgi_version} from PyPI",
                packages=[f"uwsgi=={config.uwsgi_version}"],
                virtualenv=UWSGI_VENV,
                # Built as a wheel (Debian 12's pip otherwise falls back to `setup.py install`,
                # which newer pips no longer have), which pip's cache keeps: uWSGI is compiled
                # once per host, not again when the virtualenv is made anew.
                extra_install_args="--use-pep517",
            )
        )
    changes.append(
        config_file("uWSGI configuration", "uwsgi-horizon.ini.j2", UWSGI_INI, group=HORIZON_USER, mode="0640", config=config)
    )
    unit = config_file("horizon.service", "horizon.service.j2", HORIZON_UNIT, config=config)
    socket = config_file("horizon.socket", "horizon.socket.j2", HORIZON_SOCKET_UNIT)
    systemd.daemon_reload(name="Reload systemd for Horizon's units", _if=any_changed(unit, socket))
    # Started with horizon.service (which requires it), never ahead of it: a socket listening
    # before uWSGI takes it would hold requests that nobody answers until the restart below.
    systemd.service(name="horizon.socket enabled", service="horizon.socket", running=None, enabled=True)
    # A listening socket applies a new definition only when it starts again, which systemd
    # refuses while the service it feeds runs. The one change that drops the requests waiting
    # in the socket; its settings come from the layout, so in practice only a new version of
    # this deploy makes it. Horizon restarts for it, in the services' turn.
    server.shell(
        name="horizon.socket restarted for its new definition",
        commands=["! systemctl is-active -q horizon.socket || { systemctl stop horizon.service && systemctl restart horizon.socket; }"],
        _if=socket.did_change,
    )
    return Changes.of(
        "horizon",
        restart=[unit, socket],
        reload=changes,
        files=(UWSGI_INI, HORIZON_UNIT, HORIZON_SOCKET_UNIT, *UWSGI_BINARIES.values()),
        before_stop=uploads_finished(config),
    )


def uploads_finished(config: HorizonConfig) -> str | None:
    """
    In the legacy upload mode, a command that waits until Horizon streams no image to Glance,
    for at most ``horizon_upload_timeout``, and fails naming that key if some still are. Each
    worker's exit waits for its own uploads (``keep_uploads_through_exit``), but a reload waits
    for every worker before any serves again: the site would wait with them.
    """
    if not config.uploads_images:
        return None
    # Only Horizon's user may look at its processes' open files (root in a container may lack
    # CAP_SYS_PTRACE). An upload in flight is a file of Django's, still open and not yet removed:
    # Horizon's thread removes it when Glance has it all, and its worker closes it only later.
    in_flight = (
        f"runuser -u {HORIZON_USER} -- find /proc/[0-9]*/fd -lname '*{UPLOAD_MARK}*' ! -lname '* (deleted)' -print -quit 2>/dev/null"
        " | grep -q ."
    )
    waited = f"image uploads still streaming to Glance after horizon_upload_timeout ({config.upload_timeout} s): Horizon not reloaded"
    return (
        f"waited=0; while {in_flight}; do "
        f"if [ $waited -ge {config.upload_timeout} ]; then echo '{waited}' >&2; exit 1; fi; "
        "sleep 1; waited=$((waited + 1)); done"
    )

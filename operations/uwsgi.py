"""uWSGI: the application server, its configuration and the `horizon` systemd unit."""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.operations import pip, systemd

from . import config_file
from .layout import HORIZON_UNIT, HORIZON_USER, UWSGI_BINARIES, UWSGI_INI, UWSGI_VENV
from .service import Changes
from .settings import HorizonConfig


@deploy("uWSGI")
def install_uwsgi(config: HorizonConfig) -> Changes:
    """
    uWSGI from PyPI in its own virtualenv (or the distribution's), `/etc/uwsgi/horizon.ini`
    and `horizon.service`. Horizon restarts for a changed unit (systemd applies one only when
    the service starts again) and reloads for the rest (a graceful reload re-executes the new
    binary, which re-reads the ini).
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
            )
        )
    changes.append(
        config_file("uWSGI configuration", "uwsgi-horizon.ini.j2", UWSGI_INI, group=HORIZON_USER, mode="0640", config=config)
    )
    unit = config_file("horizon.service", "horizon.service.j2", HORIZON_UNIT, config=config)
    systemd.daemon_reload(name="Reload systemd for horizon.service", _if=unit.did_change)
    return Changes.of("horizon", restart=[unit], reload=changes, files=(UWSGI_INI, HORIZON_UNIT, *UWSGI_BINARIES.values()))

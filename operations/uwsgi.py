"""uWSGI: the application server, its configuration and the `horizon` systemd unit."""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.operations import files, pip, systemd

from . import public_config, template
from .config import HorizonConfig
from .platforms import HORIZON_USER

VENV = "/opt/horizon-uwsgi"
INI = "/etc/uwsgi/horizon.ini"
UNIT = "/etc/systemd/system/horizon.service"
BINARIES = {"pip": f"{VENV}/bin/uwsgi", "distro": "/usr/bin/uwsgi-core"}


@deploy("uWSGI")
def install_uwsgi(config: HorizonConfig) -> list:
    """
    uWSGI from PyPI in its own virtualenv (or the distribution's), `/etc/uwsgi/horizon.ini`
    and `horizon.service`. Returns the operations whose change needs Horizon restarted.
    """
    from_pip = config.uwsgi_source == "pip"
    # The virtualenv sees the system's site packages: Horizon and Django come from the
    # distribution's packages, only uWSGI itself from PyPI.
    venv = pip.venv(name="uWSGI virtualenv", path=VENV, python="python3", site_packages=True, present=from_pip)
    changes = [venv]
    if from_pip:
        changes.append(
            pip.packages(
                name=f"uWSGI {config.uwsgi_version} from PyPI",
                packages=[f"uwsgi=={config.uwsgi_version}"],
                virtualenv=VENV,
            )
        )
    changes.append(
        files.template(
            name="uWSGI configuration",
            src=template("uwsgi-horizon.ini.j2"),
            dest=INI,
            user="root",
            group=HORIZON_USER,
            mode="0640",
            config=config,
        )
    )
    unit = public_config("horizon.service", "horizon.service.j2", UNIT, binary=BINARIES[config.uwsgi_source], ini=INI, config=config)
    systemd.daemon_reload(name="Reload systemd for horizon.service", _if=unit.did_change)
    return [*changes, unit]

"""Apache off: whatever served Horizon before, NGINX owns the web ports."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.systemd import SystemdEnabled
from pyinfra.operations import files, systemd

from .layout import SYSTEMD_UNITS

APACHE_UNIT = "apache2.service"


@deploy("Apache off")
def disable_apache():
    """
    Stop and disable Apache if it is installed, and mask it whether or not it is, so that a
    package that pulls it in later (Ubuntu's openstack-dashboard does) can never start it and
    take the web ports from NGINX. Runs before any package is installed for that reason.
    """
    if APACHE_UNIT in host.get_fact(SystemdEnabled):
        systemd.service(
            name="Stop and disable Apache",
            service=APACHE_UNIT,
            running=False,
            enabled=False,
        )
    else:
        host.noop("Apache is not installed: nothing to stop")
    masked = files.link(
        name="Mask Apache",
        path=f"{SYSTEMD_UNITS}/{APACHE_UNIT}",
        target="/dev/null",
    )
    systemd.daemon_reload(name="Reload systemd after masking Apache", _if=masked.did_change)

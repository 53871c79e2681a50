"""memcached: the session store the uWSGI workers (and every dashboard node) share."""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.operations import files

from . import template
from .config import HorizonConfig


@deploy("memcached")
def configure_memcached(config: HorizonConfig) -> list:
    """
    The listen address (never every interface), no UDP, and the memory size. The whole file is
    managed: Debian 13's stock one also listens on ::1, which fails where IPv6 is off. Returns
    the operations whose change needs memcached restarted.
    """
    return [
        files.template(
            name="memcached configuration",
            src=template("memcached.conf.j2"),
            dest="/etc/memcached.conf",
            user="root",
            group="root",
            mode="0644",
            config=config,
        )
    ]

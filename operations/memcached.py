"""memcached: the session store the uWSGI workers (and every dashboard node) share."""

from __future__ import annotations

from pyinfra.api import deploy

from . import config_file
from .layout import MEMCACHED_CONF, MEMCACHED_PACKAGE_LIST
from .settings import HorizonConfig

# What memcached reads at start (see service.py).
FILES = (MEMCACHED_CONF, MEMCACHED_PACKAGE_LIST)


@deploy("memcached")
def configure_memcached(config: HorizonConfig) -> list:
    """
    The listen address (never every interface), no UDP, and the memory size. The whole file is
    managed: Debian 13's stock one also listens on ::1, which fails where IPv6 is off. Returns
    the operations whose change needs memcached restarted.
    """
    return [config_file("memcached configuration", "memcached.conf.j2", MEMCACHED_CONF, config=config)]

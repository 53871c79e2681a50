"""memcached: the session store the uWSGI workers (and every dashboard node) share."""

from __future__ import annotations

from pyinfra.api import deploy

from . import config_file
from .layout import MEMCACHED_CONF
from .service import Changes
from .settings import HorizonConfig


@deploy("memcached")
def configure_memcached(config: HorizonConfig) -> Changes:
    """
    The listen address (never every interface), no UDP, and the memory size. The whole file is
    managed: Debian 13's stock one also listens on ::1, which fails where IPv6 is off. memcached
    restarts for it.
    """
    conf = config_file("memcached configuration", "memcached.conf.j2", MEMCACHED_CONF, config=config)
    return Changes.of("memcached", restart=[conf], files=[MEMCACHED_CONF])

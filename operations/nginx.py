"""NGINX: the site that serves static files itself and passes the rest to uWSGI."""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.operations import files

from . import config_file
from .layout import (
    DOCROOT,
    HEADERS_SNIPPET,
    NGINX_DEFAULT_SITE,
    NGINX_ENABLED_SITE,
    NGINX_SITE,
    TLS_SNIPPET,
    UWSGI_SNIPPET,
)
from .service import Changes, checked_or_restored
from .settings import HorizonConfig

# What a reload makes NGINX read from this deploy (the certificates come from tls.py).
FILES = (NGINX_SITE, HEADERS_SNIPPET, TLS_SNIPPET, UWSGI_SNIPPET)


@deploy("NGINX")
def configure_nginx(config: HorizonConfig, certificates: Changes) -> Changes:
    """
    The Horizon site enabled, the distribution's default site removed, and the result checked
    with ``nginx -t`` (with the ``certificates`` of this run) before anything reloads it (see
    ``checked_or_restored``). NGINX reloads for them.
    """
    changes = [
        config_file("NGINX security headers for Horizon", "nginx-headers.conf.j2", HEADERS_SNIPPET, config=config),
        config_file("NGINX TLS settings for Horizon", "nginx-tls.conf.j2", TLS_SNIPPET, config=config),
        config_file("NGINX hand-over to uWSGI", "nginx-uwsgi.conf.j2", UWSGI_SNIPPET, config=config),
        config_file("NGINX site for Horizon", "nginx-horizon.conf.j2", NGINX_SITE, config=config),
        files.link(name="Enable the Horizon site", path=NGINX_ENABLED_SITE, target=NGINX_SITE),
        files.link(name="Disable NGINX's default site", path=NGINX_DEFAULT_SITE, present=False),
    ]
    config_file("robots.txt: a dashboard has nothing to index", "robots.txt.j2", f"{DOCROOT}/robots.txt")
    # A certificate that does not match its key fails here too.
    checked_or_restored(
        "nginx", "nginx -t -q", (*FILES, *certificates.files_of("nginx"), NGINX_ENABLED_SITE), [*certificates.operations(), *changes]
    )
    return Changes.of("nginx", reload=changes, files=FILES)

"""NGINX: the site that serves static files itself and passes the rest to uWSGI."""

from __future__ import annotations

from collections.abc import Sequence

from pyinfra.api import deploy
from pyinfra.operations import files

from . import config_file
from .config import HorizonConfig
from .service import checked_or_restored
from .tls import CERTIFICATE, CLIENT_CA, KEY

SITE = "/etc/nginx/sites-available/horizon"
HEADERS_SNIPPET = "/etc/nginx/snippets/horizon-headers.conf"
TLS_SNIPPET = "/etc/nginx/snippets/horizon-tls.conf"
UWSGI_SNIPPET = "/etc/nginx/snippets/horizon-uwsgi.conf"
DOCROOT = "/var/www/horizon"
ENABLED_SITE = "/etc/nginx/sites-enabled/horizon"
# What a reload makes NGINX read (see services.py).
FILES = (SITE, HEADERS_SNIPPET, TLS_SNIPPET, UWSGI_SNIPPET, CERTIFICATE, KEY, CLIENT_CA)


@deploy("NGINX")
def configure_nginx(config: HorizonConfig, certificates: Sequence = ()) -> list:
    """
    The Horizon site enabled, the distribution's default site removed, and the result checked
    with ``nginx -t`` before anything reloads it (see ``checked_or_restored``). Returns the
    operations whose change needs NGINX reloaded.
    """
    changes = [
        *certificates,
        config_file("NGINX security headers for Horizon", "nginx-headers.conf.j2", HEADERS_SNIPPET, config=config),
        config_file("NGINX TLS settings for Horizon", "nginx-tls.conf.j2", TLS_SNIPPET, config=config),
        config_file("NGINX hand-over to uWSGI", "nginx-uwsgi.conf.j2", UWSGI_SNIPPET, config=config),
        config_file(
            "NGINX site for Horizon",
            "nginx-horizon.conf.j2",
            SITE,
            config=config,
            docroot=DOCROOT,
            headers_snippet=HEADERS_SNIPPET,
            tls_snippet=TLS_SNIPPET,
            uwsgi_snippet=UWSGI_SNIPPET,
            certificate=CERTIFICATE,
            key=KEY,
            client_ca=CLIENT_CA if config.tls_client_ca else None,
        ),
        files.link(name="Enable the Horizon site", path=ENABLED_SITE, target=SITE),
        files.link(name="Disable NGINX's default site", path="/etc/nginx/sites-enabled/default", present=False),
    ]
    config_file("robots.txt: a dashboard has nothing to index", "robots.txt.j2", f"{DOCROOT}/robots.txt")
    # A certificate that does not match its key fails here too.
    checked_or_restored("nginx", "nginx -t -q", (*FILES, ENABLED_SITE), changes)
    return changes

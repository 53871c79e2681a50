"""NGINX: the site that serves static files itself and passes the rest to uWSGI."""

from __future__ import annotations

from collections.abc import Sequence

from pyinfra.api import deploy
from pyinfra.operations import files, server
from pyinfra.operations.util import any_changed

from . import public_config
from .config import HorizonConfig
from .tls import CERTIFICATE, KEY

SITE = "/etc/nginx/sites-available/horizon"
HEADERS_SNIPPET = "/etc/nginx/snippets/horizon-headers.conf"
TLS_SNIPPET = "/etc/nginx/snippets/horizon-tls.conf"
UWSGI_SNIPPET = "/etc/nginx/snippets/horizon-uwsgi.conf"
DOCROOT = "/var/www/horizon"


@deploy("NGINX")
def configure_nginx(config: HorizonConfig, certificate: Sequence = ()) -> list:
    """
    The Horizon site enabled, the distribution's default site removed, and the result checked
    with ``nginx -t`` before anything reloads it (a ``certificate`` that does not match its key
    fails there). Returns the operations whose change needs NGINX reloaded.
    """
    changes = [
        *certificate,
        public_config("NGINX security headers for Horizon", "nginx-headers.conf.j2", HEADERS_SNIPPET, config=config),
        public_config("NGINX TLS settings for Horizon", "nginx-tls.conf.j2", TLS_SNIPPET, config=config),
        public_config("NGINX hand-over to uWSGI", "nginx-uwsgi.conf.j2", UWSGI_SNIPPET, config=config),
        public_config(
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
        ),
        files.link(name="Enable the Horizon site", path="/etc/nginx/sites-enabled/horizon", target=SITE),
        files.link(name="Disable NGINX's default site", path="/etc/nginx/sites-enabled/default", present=False),
    ]
    public_config("robots.txt: a dashboard has nothing to index", "robots.txt.j2", f"{DOCROOT}/robots.txt")
    # A failing check stops the deploy for this host before the reload: the running NGINX
    # keeps serving the previous configuration.
    server.shell(name="Check the NGINX configuration", commands=["nginx -t -q"], _if=any_changed(*changes))
    return changes

"""NGINX: the site that serves static files itself and passes the rest to uWSGI."""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.operations import files, server
from pyinfra.operations.util import any_changed

from . import template
from .config import HorizonConfig

SITE = "/etc/nginx/sites-available/horizon"
DOCROOT = "/var/www/horizon"


@deploy("NGINX")
def configure_nginx(config: HorizonConfig) -> list:
    """
    The Horizon site enabled, the distribution's default site removed, and the result checked
    with ``nginx -t`` before anything reloads it. Returns the operations whose change needs
    NGINX reloaded.
    """
    changes = [
        files.template(
            name="NGINX site for Horizon",
            src=template("nginx-horizon.conf.j2"),
            dest=SITE,
            user="root",
            group="root",
            mode="0644",
            config=config,
            docroot=DOCROOT,
        ),
        files.link(name="Enable the Horizon site", path="/etc/nginx/sites-enabled/horizon", target=SITE),
        files.link(name="Disable NGINX's default site", path="/etc/nginx/sites-enabled/default", present=False),
    ]
    files.template(
        name="robots.txt: a dashboard has nothing to index",
        src=template("robots.txt.j2"),
        dest=f"{DOCROOT}/robots.txt",
        user="root",
        group="root",
        mode="0644",
    )
    # A failing check stops the deploy for this host before the reload: the running NGINX
    # keeps serving the previous configuration.
    server.shell(name="Check the NGINX configuration", commands=["nginx -t -q"], _if=any_changed(*changes))
    return changes

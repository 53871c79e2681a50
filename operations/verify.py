"""The last step of a run on a dashboard host: proof that the site serves what the run wrote."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import OperationError, deploy, operation
from pyinfra.facts.server import Command

from . import config_file, with_port
from .horizon import settings_marker
from .layout import CHECK_SITE, NGINX_EXPORTER_PORT, UWSGI_EXPORTER_PORT
from .settings import HorizonConfig


@operation()
def site_serves(check: str = CHECK_SITE):
    """
    Run ``check`` on the host once the run's changes are made; fail the host with its message
    unless it passes. Changes nothing, so a run with nothing else to do still counts none.

    + check: the command that proves the site (``horizon-check-site``)

    **Example:**

    .. code:: python

        site_serves(name="The site serves this run's configuration")
    """
    if not host.state.is_executing:
        host.noop("checked once the run's changes are made")
    else:
        # A fact, so that the command gets the run's sudo; its exit status comes back last.
        output = host.get_fact(Command, f"{check} 2>&1; echo \"exit $?\"") or "exit ?"
        *message, status = output.splitlines()
        if status != "exit 0":
            raise OperationError("\n".join(message) or f"{check} did not run ({status})")
        host.noop("the site serves this run's configuration")
    # An operation yields the commands it needs; this one needs none.
    yield from ()


@deploy("Site check")
def install_site_check(config: HorizonConfig):
    """
    ``horizon-check-site``, the proof that the host serves this run's configuration: through
    NGINX on the host, under the configured scheme, server name and ``WEBROOT``, the workers
    report the settings drop-in this run wrote (waited for, as a reload completes after
    ``systemctl reload`` returns), the login page and its stylesheet answer 200, and each
    metrics exporter says it reads NGINX or uWSGI. Run by each host's roll-out, and by
    ``prove_site`` at the end of every run.
    """
    site = {
        "tls": config.tls,
        "port": config.https_port if config.tls else config.http_port,
        "server_name": config.server_name,
        "webroot": config.webroot,
        "health_path": config.health_path,
        "marker": settings_marker(config),
        "dropin": config.settings_dropin,
        "dropin_dir": config.platform.settings_dropin_dir,
        "client_certificates": bool(config.tls_client_ca),
        # A reload's longest wait: uWSGI waits this long for the requests in flight.
        "wait": config.api_timeout + 30,
        # Each exporter's URL, and the metric that says it reads what it exports.
        "metrics": [
            [f"http://{with_port(config.metrics_listen, port)}/metrics", up]
            for port, up in ((NGINX_EXPORTER_PORT, "nginx_up"), (UWSGI_EXPORTER_PORT, "uwsgi_up"))
        ]
        if config.metrics_listen
        else [],
    }
    config_file(f"Site check {CHECK_SITE}", "horizon-check-site.j2", CHECK_SITE, mode="0755", site=site)


@deploy("The site as users reach it")
def prove_site():
    """The run's last step: a run that leaves the site serving anything but its configuration
    fails, naming what is wrong."""
    site_serves(name="The site serves this run's configuration")

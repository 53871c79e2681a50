"""HAProxy in front of several dashboard hosts, for the `horizon_loadbalancers` inventory group."""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.operations import server, systemd

from . import config_file
from .layout import HAPROXY_CONFIG
from .packages import install
from .settings import LoadBalancerConfig


@deploy("Load balancer")
def balance_dashboards(config: LoadBalancerConfig):
    """
    The distribution's HAProxy, every dashboard host a backend checked through its login page;
    the configuration is validated before HAProxy reloads it.
    """
    install("Install HAProxy", ["haproxy"])
    haproxy_config = config_file("HAProxy configuration", "haproxy.cfg.j2", HAPROXY_CONFIG, config=config)
    # A failing check stops the deploy for this host: the running HAProxy keeps its configuration.
    server.shell(name="Check the HAProxy configuration", commands=[f"haproxy -c -q -f {HAPROXY_CONFIG}"], _if=haproxy_config.did_change)
    systemd.service(name="Reload HAProxy for its new configuration", service="haproxy", reloaded=True, _if=haproxy_config.did_change)
    systemd.service(name="HAProxy enabled and running", service="haproxy", running=True, enabled=True)

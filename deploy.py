"""Converge hosts to the OpenStack dashboard (Horizon) on NGINX + uWSGI.

    pyinfra inventory.py deploy.py

Each step is a deploy from ``operations/``; this file only puts them in order and wires the
changes of one step to the restarts and rebuilds of the next. Hosts of the
``horizon_loadbalancers`` group get HAProxy in front of the dashboard hosts instead.
"""

from pyinfra import host

from operations.apache import disable_apache
from operations.config import is_load_balancer, load_config, load_load_balancer_config
from operations.horizon import configure_horizon
from operations.loadbalancer import balance_dashboards
from operations.memcached import configure_memcached
from operations.nginx import configure_nginx
from operations.packages import install_packages
from operations.repository import configure_repositories
from operations.service import run_services
from operations.tls import install_certificate
from operations.uwsgi import install_uwsgi

# Bad host data stops the run here, before any host has been changed.
if is_load_balancer(host):
    balance_dashboards(load_load_balancer_config(host))
else:
    config = load_config(host)
    sources = configure_repositories(config)
    disable_apache()
    packages = install_packages(config, sources)
    uwsgi = install_uwsgi(config)
    horizon = configure_horizon(config, packages)
    memcached = configure_memcached(config)
    nginx = configure_nginx(config, certificate=install_certificate(config))
    run_services(
        memcached_inputs=[packages, *memcached], uwsgi_inputs=[packages, *uwsgi, *horizon], nginx_inputs=nginx
    )

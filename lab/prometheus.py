"""The lab's Prometheus: Debian's, beside the lab Keystone, scraping every second the exporters of
the dashboards under test.

    HORIZON_LAB_SCRAPE_TARGETS=172.18.0.5:9113,172.18.0.5:9117 pyinfra @docker/horizon-lab-keystone lab/prometheus.py

Lab code, not part of the product: it checks the dashboards' metrics (horizon_metrics_listen) as
an operator's Prometheus would read them. ``HORIZON_LAB_SCRAPE_TARGETS`` (comma-separated
``address:port``) replaces what it scrapes.
"""

import os

from lab.openstack_service import configured, running

config = configured(
    "Prometheus",
    "prometheus",
    "prometheus.yml.j2",
    "/etc/prometheus/prometheus.yml",
    group="prometheus",
    targets=os.environ["HORIZON_LAB_SCRAPE_TARGETS"].split(","),
)
running("Prometheus", "prometheus", [config])

"""The lab's image service: Debian's glance-api beside the lab Keystone, SQLite, images as files,
on plain HTTP and behind HAProxy on HTTPS (a self-signed certificate for the container's name).

    HORIZON_LAB_GLANCE_PASSWORD=... HORIZON_LAB_DASHBOARD_ORIGINS=https://localhost:8443 \\
        pyinfra @docker/horizon-lab-keystone lab/glance.py

Lab code, not part of the product: it gives the dashboards' Images panel, and their uploads, a
real Glance, with an HTTPS endpoint for the browsers that upload to it directly. It runs in the
Keystone container after ``lab/keystone.py`` (it creates its service user with the admin's
``clouds.yaml`` there); ``Keystone.set_services(["image"])`` puts it in the catalog
(``tls=True``: its HTTPS endpoint). The service user's password comes from the environment and
lands in one 0600 file only. ``HORIZON_LAB_DASHBOARD_ORIGINS`` (comma-separated) are the
dashboards allowed to upload from a browser (CORS).
"""

import os

from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.operations import files, server

from lab.identity import GLANCE_CERTIFICATE, SERVICES, TLS_PORTS
from lab.openstack_service import configured, running
from operations.secret import secret_file
from operations.tls import self_signed_certificate

DATABASE = "/var/lib/glance/glance.sqlite"
IMAGES = "/var/lib/glance/images/"
# oslo.config reads every file in this directory after glance-api.conf.
PASSWORD_DROPIN = "/etc/glance/glance-api.conf.d/lab-service-password.conf"
# Seconds an upload's request may take through the HTTPS front: as the dashboards' default.
UPLOAD_TIMEOUT = 600

name = host.name.rpartition("/")[2]

keystone_url = f"http://{name}:5000/v3"
password = os.environ["HORIZON_LAB_GLANCE_PASSWORD"]
origins = os.environ["HORIZON_LAB_DASHBOARD_ORIGINS"].split(",")
database_missing = not host.get_fact(File, path=DATABASE)

config = configured(
    "Glance",
    "glance-api",
    "glance-api.conf.j2",
    "/etc/glance/glance-api.conf",
    group="glance",
    database=DATABASE,
    images=IMAGES,
    keystone_url=keystone_url,
    origins=origins,
)
files.directory(name="glance-api.conf.d", path=os.path.dirname(PASSWORD_DROPIN), user="root", group="glance", mode="0750")
dropin = secret_file(
    name="Glance's service password, for its token checks",
    path=PASSWORD_DROPIN,
    user="glance",
    group="glance",
    value=f"[keystone_authtoken]\npassword = {password}\n",
)
# The user, its project and its role: created, or given the password again, from Glance's own
# file (root reads it); the admin's clouds.yaml (lab/keystone.py) says how to reach Keystone.
server.shell(
    name="Service user glance, admin in project service",
    commands=[
        f"""python3 - <<'PYTHON'
import configparser
import openstack
dropin = configparser.ConfigParser(interpolation=None)
dropin.read("{PASSWORD_DROPIN}")
password = dropin["keystone_authtoken"]["password"]
cloud = openstack.connect(cloud="lab")
project = cloud.identity.find_project("service") or cloud.identity.create_project(name="service", domain_id="default")
user = cloud.identity.find_user("glance")
if user:
    cloud.identity.update_user(user, password=password)
else:
    user = cloud.identity.create_user(name="glance", password=password, domain_id="default", default_project_id=project.id)
cloud.grant_role("admin", user=user.id, project=project.id)
PYTHON"""
    ],
    _if=dropin.did_change,
)
schema = server.shell(
    name="Glance database schema",
    commands=["runuser -u glance -- glance-manage db_sync"],
    _if=lambda: database_missing or config.did_change(),
)
files.directory(name="Image store", path=IMAGES, user="glance", group="glance", mode="0750")
running("Glance", "glance-api", [config, dropin, schema])

front = configured(
    "Glance's HTTPS front",
    "haproxy",
    "glance-haproxy.cfg.j2",
    "/etc/haproxy/haproxy.cfg",
    group="haproxy",
    certificate=GLANCE_CERTIFICATE,
    port=SERVICES["image"][1],
    tls_port=TLS_PORTS["image"],
    timeout=UPLOAD_TIMEOUT,
)
if host.get_fact(File, path=f"{GLANCE_CERTIFICATE}.key"):
    host.noop(f"{GLANCE_CERTIFICATE} exists: kept, as the dashboards that trust it have it")
    certificate = []
else:
    certificate = [self_signed_certificate(f"Glance's HTTPS endpoint at {name}", name, GLANCE_CERTIFICATE, f"{GLANCE_CERTIFICATE}.key")]
running("Glance's HTTPS front", "haproxy", [front, *certificate])

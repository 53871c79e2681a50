"""Images through the dashboard against the lab's real Glance. In the legacy upload mode (the
default) the browser posts the file to Horizon, which streams it to Glance in a thread of its
uWSGI worker after it has answered; in the direct mode a real browser sends it to Glance's HTTPS
endpoint itself."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter

import pytest

from lab import identity, targets
from lab.identity import ADMIN
from operations.layout import HORIZON_TMPDIR, NGINX_BODY_TEMP, UPLOAD_MARK
from tests.integration import images
from tests.integration.browser import log_in
from tests.integration.conftest import describe
from tests.integration.dashboard import title

# What the host still holds of uploads: Django's files in Horizon's private temporary directory,
# NGINX's buffered bodies.
LEFT_ON_DISK = (
    f"find {HORIZON_TMPDIR}/systemd-private-*-horizon.service-*/tmp -name '*{UPLOAD_MARK}*'; "
    f"find {NGINX_BODY_TEMP} -type f"
)
# The uploads Horizon's processes have open and not yet removed, each as /proc/PID/fd/N.
OPEN_UPLOADS = f"runuser -u horizon -- find /proc/[0-9]*/fd -lname '*{UPLOAD_MARK}*' ! -lname '* (deleted)' 2>/dev/null; true"
# What the host has received over the network, in bytes.
RECEIVED = "cat /sys/class/net/eth0/statistics/rx_bytes"
ACCESS_LOG = "/var/log/nginx/access.log"
# uWSGI's workers: the children of Horizon's main process.
WORKERS = "pgrep -P $(systemctl show -P MainPID horizon)"


@pytest.fixture(scope="module")
def gibibyte(tmp_path_factory):
    """A 1 GiB image file and its MD5."""
    path = tmp_path_factory.mktemp("images") / "gibibyte.raw"
    return path, images.image_file(path, 1024)


@pytest.fixture
def admin(fresh, images_in_catalog):
    user = fresh[0].user()
    assert user.login(ADMIN, images_in_catalog.admin_password).status_code == 200
    return user


@pytest.fixture
def direct_uploads(target, ready_glance, tmp_path):
    """The shared host in the direct upload mode, as the README tells an operator to set it up:
    Glance's HTTPS endpoint in the catalog and allowing the dashboard's origin (its port changes
    when the host reboots), its certificate trusted by Horizon. Glance leaves the catalog after."""
    identity.provide_glance(ready_glance, [target.url.rstrip("/")])
    ready_glance.set_services(["image"], tls=True)
    certificate = tmp_path / "glance.pem"
    certificate.write_text(ready_glance.glance_certificate())
    run = target.deploy("horizon_images_upload_mode=direct", f"horizon_api_ca_certificate={certificate}")
    assert run.returncode == 0, describe(run)
    yield target
    ready_glance.set_services([])


def peak_memory_mib(target) -> dict[int, int]:
    """Each uWSGI worker's peak resident memory so far (VmHWM), by PID."""
    output = target.host.check_output(f"for pid in $({WORKERS}); do echo $pid $(awk '/^VmHWM/ {{print $2}}' /proc/$pid/status); done")
    return {int(pid): int(kib) // 1024 for pid, kib in (line.split() for line in output.splitlines())}


def nothing_left_on_disk(target, within: float = 30) -> str:
    """What is left of uploads on the host, once Horizon's threads had time to remove their files
    (after Glance has the image)."""
    deadline = time.monotonic() + within
    while (left := target.host.check_output(LEFT_ON_DISK)) and time.monotonic() < deadline:
        time.sleep(1)
    return left


class Visitor(threading.Thread):
    """Someone loading the login page every 50 ms until stopped: what each load answered, and
    the slowest load's seconds."""

    def __init__(self, target):
        super().__init__()
        self.user, self.answers, self.slowest, self.stopped = target.user(), Counter(), 0.0, threading.Event()

    def run(self):
        while not self.stopped.is_set():
            started = time.monotonic()
            try:
                self.answers[self.user.get("auth/login/").status_code] += 1
            except OSError as error:
                self.answers[type(error).__name__] += 1
            self.slowest = max(self.slowest, time.monotonic() - started)
            time.sleep(0.05)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.join()


def test_the_images_panel_lists_uploads_and_deletes_glances_images(fresh, admin, tmp_path):
    target = fresh[0]
    panel = admin.get(images.IMAGES_PANEL)
    assert panel.status_code == 200 and title(panel.text).startswith("Images"), title(panel.text)
    path = tmp_path / "small.raw"
    checksum = images.image_file(path, 2)
    created = images.upload(admin, "small-image", path)
    assert created.status_code == 201, created.text[-2000:]
    image = images.wait_until_settled(admin, created.json()["id"], within=120)
    assert (image["status"], image["checksum"], image["size"]) == ("active", checksum, 2 << 20)
    assert images.listed(admin)["small-image"]["id"] == image["id"]
    assert images.delete(admin, image["id"]).status_code == 204
    assert "small-image" not in images.listed(admin)
    assert nothing_left_on_disk(target) == ""


def test_a_gibibyte_image_streams_through_in_bounded_memory_while_the_login_page_keeps_answering(fresh, admin, gibibyte):
    target = fresh[0]
    path, checksum = gibibyte
    before = peak_memory_mib(target)
    with Visitor(target) as visitor:
        created = images.upload(admin, "gibibyte", path)
        assert created.status_code == 201, created.text[-2000:]
        image = images.wait_until_settled(admin, created.json()["id"])
    assert (image["status"], image["checksum"], image["size"]) == ("active", checksum, 1 << 30)
    # Every load answered, none after a stall (a worker killed, or busy with the upload alone).
    assert set(visitor.answers) == {200}, visitor.answers
    assert visitor.slowest < 10, f"a load of the login page took {visitor.slowest:.1f} s"
    after = peak_memory_mib(target)
    grown = {pid: after[pid] - before[pid] for pid in before if pid in after}
    assert grown and max(grown.values()) < 128, f"workers' peak memory grew by {grown} MiB"
    assert nothing_left_on_disk(target) == ""
    images.delete(admin, image["id"])


def test_an_upload_over_the_limit_is_refused_with_413_and_leaves_nothing_behind(target, admin, tmp_path):
    run = target.deploy("horizon_upload_max_body_size=2m")
    assert run.returncode == 0, describe(run)
    path = tmp_path / "three.raw"
    images.image_file(path, 3)
    refused = images.upload(admin, "too-large", path)
    assert refused.status_code == 413 and "413 Request Entity Too Large" in refused.text, refused.text[-500:]
    assert "too-large" not in images.listed(admin)
    assert nothing_left_on_disk(target) == ""
    run = target.deploy()
    assert run.returncode == 0, describe(run)


def test_uploads_still_streaming_to_glance_outlive_their_worker_and_hold_the_next_reload(target, admin, gibibyte, images_in_catalog):
    path, checksum = gibibyte
    glance = targets.client().containers.get(images_in_catalog.name)
    created = images.upload(admin, "held", path)
    # Horizon answered once Glance had the image's record; its thread now streams the file, and
    # stalls while Glance is stopped.
    glance.exec_run(["pkill", "-STOP", "-f", "glance-api"])
    try:
        assert created.status_code == 201, created.text[-2000:]
        holders = {int(pid) for pid in re.findall(r"/proc/(\d+)/fd", target.host.check_output(OPEN_UPLOADS))}
        assert len(holders) == 1, holders
        (worker,) = holders
        # As max-requests or a reload asks it: the worker finishes its requests and exits, but
        # first waits for the upload.
        target.host.check_output(f"kill -HUP {worker}")
        time.sleep(5)
        assert target.host.run(f"test -d /proc/{worker}").rc == 0, "the worker exited with its upload unfinished"
        assert target.user().get("auth/login/").status_code == 200

        hurried = target.deploy("horizon_upload_timeout=3")
        assert hurried.returncode != 0 and "horizon_upload_timeout (3 s)" in hurried.stderr, describe(hurried)

        waiting = target.start_deploy()
        deadline = time.monotonic() + 300
        while target.host.run("pgrep -f 'horizon_upload_timeou[t]'").rc != 0 and waiting.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(5)
        assert waiting.poll() is None, "the run did not wait for the upload"
    finally:
        glance.exec_run(["pkill", "-CONT", "-f", "glance-api"])
    run = targets.finish_deploy(waiting)
    assert run.returncode == 0, describe(run)
    image = images.wait_until_settled(admin, created.json()["id"], within=120)
    assert (image["status"], image["checksum"]) == ("active", checksum)
    # The run reloaded Horizon, for what the hurried run wrote and did not apply: after the upload.
    assert target.host.run(f"test -d /proc/{worker}").rc != 0
    assert any("Roll this run's changes out" in name for name in run.changed_operations), run.changed_operations
    images.delete(admin, image["id"])


def test_in_the_direct_mode_a_browser_sends_the_image_to_glance_itself_and_not_through_the_dashboard(
    direct_uploads, ready_glance, browser, gibibyte
):
    target = direct_uploads
    path, checksum = gibibyte
    admin = target.user()
    assert admin.login(ADMIN, ready_glance.admin_password).status_code == 200
    log_in(browser, target.url, ADMIN, ready_glance.admin_password)
    received, logged = int(target.host.check_output(RECEIVED)), int(target.host.check_output(f"wc -l < {ACCESS_LOG}"))
    message = images.create_in_panel(browser, target.url, "direct", path)
    received = int(target.host.check_output(RECEIVED)) - received
    requests_logged = target.host.check_output(f"tail -n +{logged + 1} {ACCESS_LOG}")
    assert message.startswith("Success"), message
    image = images.wait_until_settled(admin, images.listed(admin)["direct"]["id"])
    assert (image["status"], image["checksum"], image["size"]) == ("active", checksum, 1 << 30)
    # Glance's HTTPS front logged the file's PUT: its sender, and the bytes it sent.
    glance = targets.client().containers.get(ready_glance.name)
    put = glance.exec_run(["sh", "-c", f"journalctl -u haproxy -o cat --no-pager | grep ' PUT /v2/images/{image['id']}/file '"])
    (sender, *_, uploaded) = put.output.decode().split()
    assert sender != targets.address(target.name) and int(uploaded.removeprefix("uploaded=")) >= 1 << 30, put.output
    # The dashboard's host saw the pages, the form and Horizon's calls, but not the file.
    assert received < 64 << 20, f"the dashboard's host received {received >> 20} MiB during the upload"
    # Over HTTP/2, as Chromium speaks to the dashboard.
    assert 'PUT /api/glance/images/ HTTP/2.0" 201' in requests_logged, requests_logged
    assert f"POST /{images.IMAGES}" not in requests_logged, requests_logged
    images.delete(admin, image["id"])
    run = target.deploy()
    assert run.returncode == 0, describe(run)

"""Hosts reached as operators reach them: over SSH as an unprivileged user, root through sudo
(passwordless, or asking for a password given as pyinfra's ``_sudo_password`` host data from the
environment), with the README's command line. Meanwhile another user of the host watches
for any secret of the deploy it can read."""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import testinfra

from lab import targets
from lab.identity import ADMIN, provide_database
from tests.conftest import DEFAULT_IMAGES
from tests.integration.apt_repository import PACKAGE, SUITE, served_repository
from tests.integration.conftest import Target, deploy_data, describe, make_certificate, published_ports
from tests.integration.dashboard import PROJECTS, title

NGINX_SITE = "/etc/nginx/sites-available/horizon"
# Another user's view of the host, every 50 ms for the whole run: every file it can read under
# the places an upload or a secret passes through (the shared temporary directories, /run,
# the homes, the secrets' own directories) and every process's command line.
WATCHER = r"""
import os, sys, time
wanted = [line.encode() for line in open(sys.argv[1]).read().splitlines() if line]
stop, report = sys.argv[2], sys.argv[3]
roots = ("/tmp", "/var/tmp", "/run", "/home", "/etc/openstack-dashboard", "/etc/ssl", "/var/lib/horizon-deploy", "/root")
own = os.path.dirname(sys.argv[1])
found, polls, files, seen_root, seen_sudo = set(), 0, 0, 0, 0
while not os.path.exists(stop):
    polls += 1
    paths = [os.path.join(top, name) for root in roots for top, _, names in os.walk(root) if top != own for name in names]
    paths += [f"/proc/{pid}/cmdline" for pid in os.listdir("/proc") if pid.isdigit()]
    for path in paths:
        try:
            with open(path, "rb") as readable:
                content = readable.read(1 << 20)
        except OSError:
            continue
        files += 1
        # Proof that root's command lines are visible to it: the deploy's static build.
        seen_root += b"horizon-build-static" in content and path.startswith("/proc/")
        # And the deploy's sudo commands themselves, as the SSH user's shell or as sudo.
        seen_sudo += path.startswith("/proc/") and (b"sudo -H -" in content or b"sudo\0-H\0-" in content)
        found.update(f"{path} holds secret {index}" for index, secret in enumerate(wanted) if secret in content)
    time.sleep(0.05)
with open(report, "w") as out:
    out.write(f"{polls} {files} {seen_root} {seen_sudo}\n" + "\n".join(sorted(found)))
"""


@dataclass
class SshTarget(Target):
    """A lab host deployed over SSH: ``HORIZON_HOSTS=127.0.0.1 pyinfra inventory.py deploy.py
    --ssh-user deploy --ssh-key KEY --ssh-port PORT --sudo``, with the operator's data and
    secrets (from the environment) on every run."""

    ssh_port: int = 0
    sudo_password: str | None = None
    known_hosts: str = ""
    operator_data: tuple[str, ...] = ()
    secret_env: dict[str, str] = field(default_factory=dict)

    def deploy(self, *data: str, env: dict[str, str] | None = None) -> targets.DeployRun:
        environment = {"HORIZON_HOSTS": "127.0.0.1", **self.secret_env, **(env or {})}
        if self.sudo_password:
            environment["HORIZON_SUDO_PASSWORD"] = self.sudo_password
        flags = ("--ssh-user", targets.SSH_USER, "--ssh-key", str(targets.SSH_KEY), "--ssh-port", str(self.ssh_port), "--sudo")
        # A known_hosts file of the test's own: the lab's hosts are new at every run.
        known = (f"ssh_known_hosts_file={self.known_hosts}", "ssh_strict_host_key_checking=accept-new")
        return targets.run_deploy(
            *deploy_data(self.keystone), *known, *self.operator_data, *data, env=environment, flags=flags
        )


def as_other_user(name: str, command: str, stdin: str | None = None, detach: bool = False) -> None:
    """``command`` run by the host's other user (no sudo), with ``stdin``."""
    subprocess.run(
        ["docker", "exec", *(["-d"] if detach else ["-i"]), name, "runuser", "-u", targets.OTHER_USER, "--", "sh", "-c", command],
        input=stdin, text=True, check=True, capture_output=not detach,
    )


@contextmanager
def watching(host: SshTarget, wanted: list[str]):
    """The other user polls the host while the block runs; then the list yielded holds its
    report: "POLLS FILES SEEN_ROOT", then one line per readable file or command line holding a
    secret."""
    home = f"/home/{targets.OTHER_USER}/watch"
    as_other_user(host.name, f"umask 077 && mkdir {home} && cat >{home}/wanted", "\n".join(wanted))
    as_other_user(host.name, f"cat >{home}/watcher.py", WATCHER)
    as_other_user(host.name, f"exec python3 {home}/watcher.py {home}/wanted {home}/stop {home}/report", detach=True)
    report: list[str] = []
    try:
        yield report
    finally:
        as_other_user(host.name, f"touch {home}/stop")
        deadline = time.monotonic() + 60
        while not host.host.file(f"{home}/report").exists and time.monotonic() < deadline:
            time.sleep(0.5)
        report.extend(host.host.file(f"{home}/report").content_string.splitlines())


@dataclass
class Deployed:
    host: SshTarget
    first: targets.DeployRun
    second: targets.DeployRun
    watcher_report: list[str]
    repository_url: str


# What the other user looks for, in the order the fixture hands them to it.
SECRETS = ("the secret key", "the database password", "the TLS private key", "the customisation module", "the sudo password")


def named(line: str) -> str:
    """A line of the watcher's report ("PATH holds secret N") with the secret named."""
    path, _, index = line.rpartition(" holds secret ")
    return f"{path} holds {SECRETS[int(index)]}"


def sudo_asks_for_a_password(config: pytest.Config, image: str) -> bool:
    """Whether sudo asks the SSH user of ``image``'s host for a password. The two kinds alternate
    over the images (Debian 12 asks, Debian 13 does not), not every kind on every image: the
    difference is sudo's and pyinfra's, not the distribution's, and each host costs six runs."""
    images = config.getoption("image") or DEFAULT_IMAGES
    return images.index(image) % 2 == 0


@pytest.fixture(scope="module")
def ssh(request, image, ready_keystone, tmp_path_factory):
    """A fresh host of ``image`` deployed twice over SSH with the operator's secrets (a TLS
    certificate and key, the secret key, sessions in a database and its password, a
    customisation module) and their signed apt repository, another user watching the host
    throughout the first run."""
    name = re.sub(r"[^a-z0-9]+", "-", f"horizon-test-ssh-{image}")
    directory = tmp_path_factory.mktemp(name)
    with served_repository(name.replace("-ssh-", "-repository-"), directory / "repository") as repository:
        yield from deployed_over_ssh(request, image, ready_keystone, name, directory, repository)


def deployed_over_ssh(request, image, ready_keystone, name, directory, repository):
    """The ``ssh`` fixture's host, with the repository (its URL, its key) served meanwhile."""
    container = targets.start(name, image, publish={22: None, 80: None, 443: None})
    sudo_password = secrets.token_urlsafe(16) if sudo_asks_for_a_password(request.config, image) else None
    ssh_port = targets.open_ssh(container, sudo_password)
    certificate, key = make_certificate(directory / "tls")
    database_password = secrets.token_urlsafe(18)
    provide_database(ready_keystone, database_password)
    marker = f"customisation-{secrets.token_hex(12)}"
    module = directory / "customization.py"
    module.write_text(f"# {marker}\n")
    host = SshTarget(
        name, *published_ports(name), testinfra.get_host(f"docker://{name}"), ready_keystone, str(certificate),
        ssh_port=ssh_port,
        sudo_password=sudo_password,
        known_hosts=str(directory / "known_hosts"),
        operator_data=(
            f"horizon_tls_certificate={certificate}",
            f"horizon_tls_key={key}",
            "horizon_session_engine=cached_db",
            f"horizon_database_host={ready_keystone.name}",
            f"horizon_customization_module={module}",
            f"horizon_apt_repository_url={repository[0]}",
            f"horizon_apt_repository_suite={SUITE}",
            f"horizon_apt_repository_key={repository[1]}",
        ),
        secret_env={"HORIZON_SECRET_KEY": secrets.token_urlsafe(48), "HORIZON_DATABASE_PASSWORD": database_password},
    )
    # In the order of SECRETS; a line of the private key's material stands for the key.
    wanted = [
        host.secret_env["HORIZON_SECRET_KEY"],
        database_password,
        key.read_text().splitlines()[1],
        marker,
        *([sudo_password] if sudo_password else []),
    ]
    with watching(host, wanted) as report:
        first = host.deploy()
    second = host.deploy()
    yield Deployed(host, first, second, report, repository[0])
    targets.remove(name)


def test_a_fresh_host_deployed_over_ssh_with_sudo_logs_in_and_the_second_run_changes_nothing(ssh):
    assert ssh.first.returncode == 0, describe(ssh.first)
    assert ssh.second.returncode == 0 and ssh.second.changed == 0, describe(ssh.second)
    user = ssh.host.user()
    assert title(user.login(ADMIN, ssh.host.keystone.admin_password).text) == PROJECTS
    # Deployed as root through sudo: the files are root's, uWSGI runs as Horizon's user.
    assert ssh.host.host.file(NGINX_SITE).user == "root"
    assert {process.user for process in ssh.host.host.process.filter(comm="uwsgi")} == {"horizon"}


def test_the_operators_signed_repository_is_added_and_apt_trusts_it_through_its_key(ssh):
    assert "Package repositories | Extra OpenStack repository" in ssh.first.changed_operations
    url = ssh.repository_url
    sources = ssh.host.host.file("/etc/apt/sources.list.d/horizon-openstack.sources").content_string
    assert f"URIs: {url}" in sources
    assert "Signed-By: /etc/apt/keyrings/horizon-openstack.asc" in sources
    update = ssh.host.host.run("apt-get update")
    assert update.rc == 0 and "W:" not in update.stdout + update.stderr, update.stderr
    policy = ssh.host.host.check_output(f"apt-cache policy {PACKAGE}")
    assert "Candidate: 1.0" in policy and url in policy


def test_another_user_of_the_host_never_reads_a_secret_of_the_deploy(ssh):
    polls, files, seen_root, seen_sudo = map(int, ssh.watcher_report[0].split())
    # Polled for the whole run, not once or twice, and able to read root's command lines.
    assert polls >= 100 and files > 0 and seen_root > 0 and seen_sudo > 0, ssh.watcher_report[0]
    print(f"watcher: {polls} polls, {files} files read, {seen_sudo} sudo command lines seen")
    # The sudo password included: pyinfra's own way puts it on the remote shell's command line,
    # which this watcher saw before operations/sudo_password.py sent it on sudo's input instead.
    assert [named(line) for line in ssh.watcher_report[1:]] == []
    # Nothing left behind where uploads pass.
    leftovers = ssh.host.host.check_output(f"find /tmp /var/tmp /home/{targets.SSH_USER} /run/horizon-deploy -name 'pyinfra-*'")
    assert leftovers == ""


def test_an_upgrade_between_runs_over_ssh_reports_horizons_upgrade_checks(ssh):
    host = ssh.host.host
    version = host.check_output("dpkg-query -W -f '${Version}' openstack-dashboard")
    host.run_test(
        "set -e; rm -rf /tmp/upgrade && mkdir /tmp/upgrade && cd /tmp/upgrade && "
        "apt-get download -q openstack-dashboard >/dev/null && dpkg-deb -R openstack-dashboard_*.deb package && "
        f"sed -i 's/^Version: .*/Version: {version}+sshtest1/' package/DEBIAN/control && dpkg-deb -b package newer.deb >/dev/null && "
        "DEBIAN_FRONTEND=noninteractive dpkg -i newer.deb >/dev/null && rm -rf /tmp/upgrade"
    )
    run = ssh.host.deploy()
    assert run.returncode == 0, describe(run)
    # Run as root through sudo: as the SSH user it said "did not run".
    assert re.search(r"Horizon's upgrade checks \(manage\.py upgrade_check\): (all passed|warnings)", run.stderr), describe(run)
    assert "| Check: Deprecated Settings" in run.stderr
    assert ssh.host.wait_for("/auth/login/").status == 200
    again = ssh.host.deploy()
    assert again.returncode == 0 and again.changed == 0, describe(again)


def test_a_configuration_nginx_refuses_over_ssh_is_refused_and_the_last_good_files_put_back(ssh):
    site = ssh.host.host.file(NGINX_SITE).content_string
    run = ssh.host.deploy("horizon_nginx_extra_directives=bogus_directive on;")
    assert run.returncode != 0 and 'unknown directive "bogus_directive"' in run.stderr, describe(run)
    assert ssh.host.host.file(NGINX_SITE).content_string == site
    assert ssh.host.get("/auth/login/").status == 200
    again = ssh.host.deploy()
    assert again.returncode == 0 and again.changed == 0, describe(again)

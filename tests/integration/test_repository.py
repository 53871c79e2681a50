"""The extra apt repository, for real: a small repository signed with a key made for the test,
served over the test network by another container, added by the deploy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import docker
import pytest

from lab import targets
from tests.integration.conftest import describe

SUITE = "lab"
PACKAGE = "horizon-lab-marker"
REPO_SERVER = "horizon-test-repo"


def sh(*command: str, cwd: Path | None = None, stdout=None) -> None:
    subprocess.run(command, cwd=cwd, check=True, stdout=stdout)


def build_signed_repository(root: Path) -> Path:
    """A repository with one package, its InRelease signed; returns the public key (armored)."""
    gnupg = root / "gnupg"
    gnupg.mkdir(mode=0o700)
    gpg = ("gpg", "--batch", "--quiet", "--homedir", str(gnupg), "--passphrase", "", "--pinentry-mode", "loopback")
    sh(*gpg, "--quick-gen-key", "Horizon lab repository <lab@example.invalid>", "ed25519", "sign", "never")

    package = root / "build" / PACKAGE
    (package / "DEBIAN").mkdir(parents=True)
    (package / "DEBIAN" / "control").write_text(
        f"Package: {PACKAGE}\nVersion: 1.0\nArchitecture: all\nMaintainer: lab <lab@example.invalid>\n"
        "Description: marker package served by the test repository\n"
    )
    repo = root / "repo"
    (repo / "pool").mkdir(parents=True)
    sh("dpkg-deb", "--root-owner-group", "--build", str(package), str(repo / "pool"), stdout=subprocess.DEVNULL)

    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    dist = repo / "dists" / SUITE
    binary = dist / "main" / f"binary-{arch}"
    binary.mkdir(parents=True)
    with open(binary / "Packages", "w") as packages:
        sh("apt-ftparchive", "packages", "pool", cwd=repo, stdout=packages)
    release_options = [f"-oAPT::FTPArchive::Release::{k}={v}" for k, v in
                       (("Suite", SUITE), ("Codename", SUITE), ("Components", "main"), ("Architectures", arch))]
    with open(dist / "Release", "w") as release:
        sh("apt-ftparchive", *release_options, "release", ".", cwd=dist, stdout=release)
    sh(*gpg, "--clearsign", "--output", str(dist / "InRelease"), str(dist / "Release"))

    key = root / "repository-key.asc"
    with open(key, "w") as out:
        sh(*gpg, "--armor", "--export", stdout=out)
    return key


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    root = tmp_path_factory.mktemp("apt-repository")
    key = build_signed_repository(root)
    targets.remove(REPO_SERVER)
    targets.ensure_network()
    server = targets.client().containers.run(
        targets.ensure_image("debian:12"),
        ["python3", "-m", "http.server", "8000", "--directory", "/srv"],
        name=REPO_SERVER,
        detach=True,
        network=targets.NETWORK,
        volumes={str(root / "repo"): {"bind": "/srv", "mode": "ro"}},
    )
    yield f"http://{REPO_SERVER}:8000", key
    try:
        server.remove(force=True)
    except docker.errors.NotFound:
        pass


@pytest.fixture(scope="module")
def deployed(target_factory, repository):
    url, key = repository
    target = target_factory("extra", "debian:12")
    data = (f"horizon_apt_repository_url={url}", f"horizon_apt_repository_suite={SUITE}", f"horizon_apt_repository_key={key}")
    first = target.deploy(*data)
    second = target.deploy(*data)
    return target, first, second


def test_deploy_with_the_repository_succeeds_and_a_second_run_changes_nothing(deployed):
    _, first, second = deployed
    assert first.returncode == 0, describe(first)
    assert "Package repositories | Extra OpenStack repository" in first.changed_operations
    assert second.returncode == 0 and second.changed == 0, describe(second)


def test_apt_trusts_the_repository_through_its_signed_by_key(deployed, repository):
    target = deployed[0]
    url, _ = repository
    sources = target.host.file("/etc/apt/sources.list.d/horizon-openstack.sources").content_string
    assert f"URIs: {url}" in sources
    assert "Signed-By: /etc/apt/keyrings/horizon-openstack.asc" in sources
    update = target.host.run("apt-get update")
    assert update.rc == 0 and "W:" not in update.stdout + update.stderr, update.stderr
    policy = target.host.check_output(f"apt-cache policy {PACKAGE}")
    assert "Candidate: 1.0" in policy and url in policy

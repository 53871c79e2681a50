"""An extra apt repository, for real: a small repository with one package, signed with a key
made for the test, served over the lab network by another container."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lab import targets

SUITE = "lab"
PACKAGE = "horizon-lab-marker"


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


@contextmanager
def served_repository(name: str, root: Path) -> Iterator[tuple[str, Path]]:
    """A signed repository built under ``root`` and served by the container ``name`` while the
    block runs: its URL and its public key."""
    root.mkdir(parents=True)
    key = build_signed_repository(root)
    targets.remove(name)
    targets.ensure_network()
    targets.client().containers.run(
        targets.ensure_image("debian:12"),
        ["python3", "-m", "http.server", "8000", "--directory", "/srv"],
        name=name,
        detach=True,
        network=targets.NETWORK,
        volumes={str(root / "repo"): {"bind": "/srv", "mode": "ro"}},
    )
    try:
        yield f"http://{name}:8000", key
    finally:
        targets.remove(name)

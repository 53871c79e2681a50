"""Where the OpenStack packages come from: the Ubuntu Cloud Archive or an extra repository."""

from __future__ import annotations

from pathlib import Path

from pyinfra.api import deploy
from pyinfra.operations import apt

from . import public_file
from .layout import APT_KEYRINGS, CLOUD_ARCHIVE_KEYRING
from .packages import install
from .platforms import CLOUD_ARCHIVE_KEYRING_PACKAGE, CLOUD_ARCHIVE_URL
from .settings import HorizonConfig

CLOUD_ARCHIVE_SOURCE = "ubuntu-cloud-archive"
EXTRA_SOURCE = "horizon-openstack"


def _keyring_path(key_file: str) -> str:
    # apt reads armored keys only from files named *.asc, binary ones from *.gpg.
    armored = Path(key_file).read_bytes().lstrip().startswith(b"-----BEGIN PGP")
    return f"{APT_KEYRINGS}/{EXTRA_SOURCE}.{'asc' if armored else 'gpg'}"


@deploy("Package repositories")
def configure_repositories(config: HorizonConfig) -> list:
    """
    Enable the Cloud Archive release on Ubuntu and the extra repository when one is configured;
    remove them when they are no longer wanted. Returns the operations that change apt's sources.
    """
    changes = []
    if config.uses_cloud_archive:
        changes += install("Install the Ubuntu Cloud Archive keyring", [CLOUD_ARCHIVE_KEYRING_PACKAGE])
    changes.append(
        apt.sources_file(
            name=f"Ubuntu Cloud Archive {config.openstack_release}",
            filename=CLOUD_ARCHIVE_SOURCE,
            uris=[CLOUD_ARCHIVE_URL],
            suites=[f"{config.platform.codename}-updates/{config.openstack_release}"],
            components=["main"],
            signed_by=CLOUD_ARCHIVE_KEYRING,
            present=config.uses_cloud_archive,
        )
    )

    repository = config.apt_repository
    if repository:
        keyring = _keyring_path(repository.key_file)
        changes.append(
            public_file("Signing key of the extra OpenStack repository", repository.key_file, keyring)
        )
    changes.append(
        apt.sources_file(
            name="Extra OpenStack repository",
            filename=EXTRA_SOURCE,
            uris=[repository.url] if repository else None,
            suites=[repository.suite] if repository else None,
            components=list(repository.components) if repository else None,
            signed_by=keyring if repository else None,
            present=repository is not None,
        )
    )
    return changes

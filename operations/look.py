"""The operator's themes, logo and favicon, which Horizon's static files are then built from."""

from __future__ import annotations

import atexit
import functools
import shutil
import tarfile
import tempfile
from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import FindDirectories
from pyinfra.operations import files

from . import optional_file, remove_all_but
from .layout import BRANDING_FILES, BRANDING_PATHS, THEMES_DIR
from .settings import HorizonConfig, Theme


@functools.cache
def extracted(archive: str) -> str:
    """A theme archive unpacked on the machine running pyinfra, once per run. The ``data``
    filter refuses absolute paths, links out of the archive and device files."""
    directory = tempfile.mkdtemp(prefix="horizon-theme-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    with tarfile.open(archive) as tar:
        tar.extractall(directory, filter="data")
    return directory


def theme_directory(theme: Theme) -> str:
    return str(Path(extracted(theme.source) if theme.is_archive else theme.source, theme.root))


def installed_theme(theme: Theme):
    return files.sync(
        name=f"Theme {theme.name}",
        src=theme_directory(theme),
        dest=f"{THEMES_DIR}/{theme.name}",
        user="root",
        group="root",
        mode="0644",
        dir_mode="0755",
        delete=True,
    )


def removed_themes(config: HorizonConfig) -> list:
    wanted = [f"{THEMES_DIR}/{theme.name}" for theme in config.themes]
    present = set(host.get_fact(FindDirectories, path=THEMES_DIR, maxdepth=1)) - {THEMES_DIR}
    return remove_all_but(
        "Themes no longer listed",
        wanted,
        present,
        lambda dropped: [files.directory(name=f"Theme {path}: removed", path=path, present=False) for path in dropped],
    )


@deploy("Themes and branding")
def install_look(config: HorizonConfig) -> list:
    """
    ``horizon_themes`` under ``THEMES_DIR``, one directory each (a theme no longer listed is
    removed), and the logos and favicon under ``BRANDING_DIR``. Returns the operations whose
    change needs the static files rebuilt (see ``horizon.configure_horizon``).
    """
    themes = [installed_theme(theme) for theme in config.themes]
    return [*themes, *removed_themes(config), *branding(config)]


def branding(config: HorizonConfig) -> list:
    return [
        operation
        for key, path in BRANDING_PATHS.items()
        for operation in optional_file(f"Branding {BRANDING_FILES[key]}", getattr(config, key), path)
    ]

"""Horizon's settings, secret key and static files."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.facts.server import Command
from pyinfra.operations import files, python, server
from pyinfra.operations.util import any_changed

from . import config_file, optional_file, public_file, render, sessions
from .layout import (
    API_CA_CERTIFICATE,
    BRANDING_DIR,
    BUILD_STATIC,
    CHECK_STATIC,
    COMPRESS,
    COMPRESS_MANIFEST,
    CUSTOMIZATION_DIR,
    CUSTOMIZATION_FILE,
    CUSTOMIZATION_PACKAGE,
    DASHBOARD_PACKAGE_LISTS,
    DATABASE_PASSWORD_FILE,
    DPKG_INFO,
    HORIZON_USER,
    PIP_PLUGINS_RECORD,
    RUNTIME_DIR,
    RUNTIME_FILE,
    SECRET_KEY_FILE,
    SETTINGS_DIR,
    STATIC_BUILT,
    STATIC_FAILED_MARK,
    THEMES_DIR,
)
from .secret import secret_file
from .service import Changes, checked_or_restored
from .settings import HorizonConfig
from .whole import whole_file

# The static files are complete when STATIC_BUILT is newer than the manifest. Absent or older
# than the manifest: a run stopped while building them (or built them before they were
# precompressed). Older than the packages they come from (the JavaScript libraries too):
# upgraded outside a run, whose postinst no longer rebuilds them (see packages.py). Older than
# the themes, the branding or the plugins from PyPI: a run stopped between installing them and
# the build.
PACKAGES_NEWER_THAN_STATIC = (
    f"find {' '.join(DASHBOARD_PACKAGE_LISTS)} {DPKG_INFO}/python3-xstatic*.list -newer {STATIC_BUILT} 2>/dev/null"
)
STATIC_CURRENT = (
    f"[ -e {COMPRESS_MANIFEST} ] && [ {STATIC_BUILT} -nt {COMPRESS_MANIFEST} ] && [ ! -e {STATIC_FAILED_MARK} ] && "
    f"[ -z \"$({PACKAGES_NEWER_THAN_STATIC}; find {THEMES_DIR} {BRANDING_DIR} {PIP_PLUGINS_RECORD} -newer {STATIC_BUILT} 2>/dev/null)\" ]"
)
# The static build as this run finds it, one word a line: `built` once a build completed,
# `upgraded` when Horizon's packages changed since, `stale` when it must be built again.
STATIC_STATE = (
    f"[ ! -e {STATIC_BUILT} ] || echo built; [ -z \"$({PACKAGES_NEWER_THAN_STATIC})\" ] || echo upgraded; "
    f"{STATIC_CURRENT} || echo stale"
)
# Horizon's own checks of its settings against the installed release (oslo.upgradecheck): it
# exits 0 when all pass, 1 with warnings, 2 with failures.
UPGRADE_CHECK_OUTCOMES = {"exit 0": "all passed", "exit 1": "warnings", "exit 2": "failures"}
# The static build's scripts (see their templates): `manage.py compress` made serial, the check
# that the manifest covers the pages Horizon renders, and the whole build, which switches a new
# build in only once it passed that check and leaves the served one untouched otherwise.
STATIC_BUILD_SCRIPTS = (
    ("horizon-compress.j2", COMPRESS),
    ("horizon-check-static.j2", CHECK_STATIC),
    ("horizon-build-static.j2", BUILD_STATIC),
)
RUNTIME_SOURCE = Path(__file__).resolve().parent / "runtime" / "horizon_deploy.py"
# Horizon's own generator: 64 characters from the system's random source.
GENERATE_SECRET_KEY = (
    "python3 -c 'from horizon.utils.secret_key import generate_key; print(generate_key(64), end=\"\")'"
)


def settings_files(config: HorizonConfig) -> tuple[str, ...]:
    """The settings ``manage.py check`` vets, and the last good copy of which is kept."""
    return (
        f"{SETTINGS_DIR}/local_settings.py",
        config.settings_dropin,
        CUSTOMIZATION_FILE,
        DATABASE_PASSWORD_FILE,
        RUNTIME_FILE,
    )


def service_files(config: HorizonConfig) -> tuple[str, ...]:
    """What Horizon reads that this deploy writes (see service.py): the settings, every drop-in
    (a removed one changes their directory), the key, the static files' manifest."""
    dropins = config.platform.settings_dropin_dir
    return (*settings_files(config), dropins, f"{dropins}/*.py", SECRET_KEY_FILE, API_CA_CERTIFICATE, COMPRESS_MANIFEST)


def loose_dropins(config: HorizonConfig) -> str:
    """Any drop-in not root:horizon or readable beyond that group (none before the package is in)."""
    return (
        f"find {config.platform.settings_dropin_dir} -name '*.py' "
        f"\\( ! -user root -o ! -group {HORIZON_USER} -o -perm /0137 \\) -print 2>/dev/null || true"
    )


@functools.cache
def settings_marker(config: HorizonConfig) -> str:
    """A digest of the settings drop-in this run writes (rendered without its own marker): the
    running workers report it, so a run can tell whether they run what it wrote. Rendered once
    per configuration: the settings step and the site check at the end of the run both need it."""
    unmarked = render("horizon-settings.py.j2", config=config, settings_marker="")
    return hashlib.sha256(unmarked.encode()).hexdigest()[:16]


def runtime_module():
    """The deploy's own code in Horizon (see ``operations/runtime``), which the settings import."""
    files.directory(name=f"Directory {RUNTIME_DIR}", path=RUNTIME_DIR, user="root", group="root", mode="0755")
    return public_file("The deploy's code in Horizon", str(RUNTIME_SOURCE), RUNTIME_FILE)


def customization_module(local: str | None):
    """The operator's customisation module, readable by Horizon only; its directory removed
    without one."""
    if not local:
        return files.directory(name="No customisation module", path=CUSTOMIZATION_DIR, present=False)
    for directory in (CUSTOMIZATION_DIR, f"{CUSTOMIZATION_DIR}/{CUSTOMIZATION_PACKAGE}"):
        files.directory(name=f"Directory {directory}", path=directory, user="root", group=HORIZON_USER, mode="0750")
    return whole_file(
        name="Customisation module",
        path=CUSTOMIZATION_FILE,
        content=Path(local).read_bytes(),
        user="root",
        group=HORIZON_USER,
        mode="0640",
    )


def report_upgrade_check(config: HorizonConfig) -> None:
    """``manage.py upgrade_check``'s table in pyinfra's output: a warning unless every check passed."""
    # A fact, not host.run_shell_command: a fact's command gets the run's --sudo (and its user,
    # password...), a bare command inside a callback runs as whoever pyinfra connected as.
    output = host.get_fact(Command, config.manage("upgrade_check 2>&1; echo \"exit $?\""))
    *table, status = (output or "exit ?").splitlines()
    outcome = UPGRADE_CHECK_OUTCOMES.get(status, f"did not run ({status})")
    report = logger.info if status == "exit 0" else logger.warning
    report(f"{host.name}: Horizon's upgrade checks (manage.py upgrade_check): {outcome}\n" + "\n".join(table))


def upgrade_checked(config: HorizonConfig, packages: Sequence, static_state: set[str]):
    """Horizon's upgrade checks, after its packages were upgraded outside a run or by this one."""
    packages_changed = any_changed(*packages)
    return python.call(
        name="Horizon's upgrade checks (manage.py upgrade_check)",
        function=report_upgrade_check,
        config=config,
        _if=lambda: "upgraded" in static_state or ("built" in static_state and packages_changed()),
    )


def warn_if_keystone_is_silent(config: HorizonConfig) -> None:
    """A Keystone that does not answer from the host is worth a warning, not a failure: the
    dashboard may well be deployed before the cloud behind it."""
    url = urlsplit(config.keystone_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    answered = host.get_fact(
        Command, f"timeout 5 bash -c '</dev/tcp/{url.hostname}/{port}' 2>/dev/null && echo answered || true"
    )
    if not answered:
        logger.warning(
            f"{host.name}: Keystone ({config.keystone_url}) does not answer from this host: "
            "the dashboard is deployed anyway, and logins fail until it answers"
        )


@deploy("Horizon settings and static files")
def configure_horizon(config: HorizonConfig, packages: Sequence, look: Sequence) -> Changes:
    """
    The secret key, ``local_settings.py`` and the settings drop-in, every drop-in readable by
    Horizon only; then ``collectstatic``, the branding, ``compress`` and the gzip twins when
    anything they depend on changed (``packages``, the settings, ``look``: themes and branding)
    or their last build is stale or unfinished.
    """
    warn_if_keystone_is_silent(config)
    secret = secret_file(
        name="Django secret key",
        path=SECRET_KEY_FILE,
        user=HORIZON_USER,
        group=HORIZON_USER,
        generate=GENERATE_SECRET_KEY,
        value=config.secret_key,
    )
    api_ca = optional_file("CA certificates of the OpenStack APIs", config.api_ca_certificate, API_CA_CERTIFICATE)
    customization = customization_module(config.customization_module)
    database_password = sessions.database_password(config)
    runtime = runtime_module()
    marker = settings_marker(config)
    settings = [
        config_file(
            f"Horizon settings {path}", source, path, group=HORIZON_USER, mode="0640", config=config, settings_marker=marker
        )
        for source, path in (
            ("local_settings.py.j2", f"{SETTINGS_DIR}/local_settings.py"),
            ("horizon-settings.py.j2", config.settings_dropin),
        )
    ]
    # Django loads the settings, the URLs, every dashboard and the customisation module, as a
    # starting worker would, and runs its system checks.
    checked_or_restored("horizon", config.manage("check >/dev/null"), settings_files(config), [*settings, customization, runtime])
    # The Security Guide's checks 01 and 02 hold for the distribution's drop-ins too: they come
    # root:root 0644 with the package (and again with every upgrade).
    loose = host.get_fact(Command, loose_dropins(config))
    dropins = config.platform.settings_dropin_dir
    server.shell(
        name="Settings drop-ins owned by root, readable by Horizon only",
        commands=[f"chown root:{HORIZON_USER} {dropins}/*.py", f"chmod 0640 {dropins}/*.py"],
        _if=lambda: bool(loose) or any_changed(*packages)(),
    )
    # The offline-compression manifest embeds WEBROOT and STATIC_URL: stale, it makes every
    # page answer 500, so it is rebuilt with anything that can change it.
    scripts = [
        config_file(f"Static build script {path}", source, path, mode="0755", config=config, settings_marker=marker)
        for source, path in STATIC_BUILD_SCRIPTS
    ]
    static_state = set((host.get_fact(Command, STATIC_STATE) or "").split())
    inputs_changed = any_changed(*settings, *packages, *look, *scripts)
    static = server.shell(
        name="Build the static files, check them against the settings",
        commands=[BUILD_STATIC],
        _if=lambda: "stale" in static_state or inputs_changed(),
    )
    upgrade_checked(config, packages, static_state)
    # NGINX reloads for a static build: its open_file_cache would go on serving a replaced file
    # that keeps its name (a logo, an image, a library) from the old inode for up to a minute.
    return Changes.of(
        "horizon", reload=[secret, *database_password, *settings, customization, runtime, *api_ca, static], files=service_files(config)
    ) + Changes.of("nginx", reload=[static])

"""Horizon's settings, secret key and static files."""

from __future__ import annotations

from collections.abc import Sequence

from urllib.parse import urlsplit

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.facts.server import Command
from pyinfra.operations import server
from pyinfra.operations.util import any_changed

from . import config_file
from .config import HEALTH_CHECK, POLICY_SERVICES, HorizonConfig
from .policy import POLICY_OVERRIDES_DIR
from .platforms import DASHBOARD_DIR, HORIZON_USER, MANAGE_PY, SETTINGS_DIR, SETTINGS_DROPIN_DIR, STATIC_ROOT
from .secret import secret_file
from .service import STAMPS

SECRET_KEY_FILE = f"{SETTINGS_DIR}/secret_key"
# Sorted after the distribution's drop-ins (Debian's _0006_debian_cache.py forces a per-process
# cache that breaks logins across uWSGI workers), so that these settings win.
SETTINGS_DROPIN = f"{SETTINGS_DROPIN_DIR}/_9000_nginx_uwsgi.py"
# Horizon sets COMPRESS_OUTPUT_DIR to "dashboard".
COMPRESS_MANIFEST = f"{STATIC_ROOT}/dashboard/manifest.json"
# The dashboard's file lists, which dpkg rewrites when it installs or upgrades the packages.
DASHBOARD_PACKAGE_LISTS = (
    "/var/lib/dpkg/info/openstack-dashboard.list",
    "/var/lib/dpkg/info/python3-django-horizon.list",
)
# What a restart makes Horizon read (see services.py): settings, key, static files' manifest,
# and its packages.
FILES = (
    f"{SETTINGS_DIR}/local_settings.py",
    SETTINGS_DROPIN_DIR,
    f"{SETTINGS_DROPIN_DIR}/*.py",
    SECRET_KEY_FILE,
    COMPRESS_MANIFEST,
    *DASHBOARD_PACKAGE_LISTS,
)
# Touched when the static files are complete. Absent or older than the manifest: a run stopped
# while building them (or built them before they were precompressed). Older than the packages
# they come from (the JavaScript libraries too): upgraded outside a run, whose postinst no
# longer rebuilds them (see packages.py).
STATIC_BUILT = f"{STAMPS}/static-files"
STATIC_STALE = (
    f"[ -e {COMPRESS_MANIFEST} ] && [ {STATIC_BUILT} -nt {COMPRESS_MANIFEST} ] && "
    f"[ -z \"$(find {' '.join(DASHBOARD_PACKAGE_LISTS)} /var/lib/dpkg/info/python3-xstatic*.list "
    f"-newer {STATIC_BUILT} 2>/dev/null)\" ] || echo stale"
)
# `manage.py compress` made serial (see the template); operators can run it by hand too.
COMPRESS = "/usr/local/sbin/horizon-compress"
# Any drop-in not root:horizon or readable beyond that group (empty before the package is in).
LOOSE_DROPINS = (
    f"find {SETTINGS_DROPIN_DIR} -name '*.py' \\( ! -user root -o ! -group {HORIZON_USER} -o -perm /0137 \\) "
    "-print 2>/dev/null || true"
)
# Text files get a gzip twin that NGINX sends as it is (gzip_static) to browsers that accept it,
# instead of compressing them again on every request; under 1 KiB compression gains nothing.
PRECOMPRESS = (
    f"find {STATIC_ROOT} -type f \\( -name '*.css' -o -name '*.js' -o -name '*.svg' -o -name '*.html' "
    "-o -name '*.json' -o -name '*.map' -o -name '*.txt' -o -name '*.eot' -o -name '*.ttf' \\) -size +1k -print0 "
    "| xargs -0 -r -n 200 -P \"$(nproc)\" gzip -k -f -n -6"
)
# Horizon's own generator: 64 characters from the system's random source.
GENERATE_SECRET_KEY = (
    "python3 -c 'from horizon.utils.secret_key import generate_key; print(generate_key(64), end=\"\")'"
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
def configure_horizon(config: HorizonConfig, packages: Sequence) -> list:
    """
    The secret key, ``local_settings.py`` and the settings drop-in, every drop-in readable by
    Horizon only; then ``collectstatic``, ``compress`` and the gzip twins when anything they
    depend on changed (``packages``, the settings) or their last build is stale or unfinished.
    Returns the operations whose change needs Horizon reloaded.
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
    settings = [
        config_file(
            f"Horizon settings {path}",
            source,
            path,
            group=HORIZON_USER,
            mode="0640",
            config=config,
            secret_key_file=SECRET_KEY_FILE,
            policy_services=POLICY_SERVICES,
            policy_overrides_dir=POLICY_OVERRIDES_DIR,
            health_check=HEALTH_CHECK,
        )
        for source, path in (
            ("local_settings.py.j2", f"{SETTINGS_DIR}/local_settings.py"),
            ("horizon-settings.py.j2", SETTINGS_DROPIN),
        )
    ]
    # The Security Guide's checks 01 and 02 hold for the distribution's drop-ins too: they come
    # root:root 0644 with the package (and again with every upgrade).
    loose_dropins = host.get_fact(Command, LOOSE_DROPINS)
    server.shell(
        name="Settings drop-ins owned by root, readable by Horizon only",
        commands=[f"chown root:{HORIZON_USER} {SETTINGS_DROPIN_DIR}/*.py", f"chmod 0640 {SETTINGS_DROPIN_DIR}/*.py"],
        _if=lambda: bool(loose_dropins) or any_changed(*packages)(),
    )
    # The offline-compression manifest embeds WEBROOT and STATIC_URL: stale, it makes every
    # page answer 500, so it is rebuilt with anything that can change it.
    compress = config_file(
        f"Serial static compression {COMPRESS}",
        "horizon-compress.j2",
        COMPRESS,
        mode="0755",
        dashboard_dir=DASHBOARD_DIR,
        manage_py=MANAGE_PY,
    )
    stale = bool(host.get_fact(Command, STATIC_STALE))
    inputs_changed = any_changed(*settings, *packages, compress)
    static = server.shell(
        name="Collect, compress and precompress static files",
        commands=[
            f"python3 {MANAGE_PY} collectstatic --noinput --clear --verbosity 0",
            f"{COMPRESS} --force --verbosity 0",
            PRECOMPRESS,
            f"mkdir -p {STAMPS} && touch {STATIC_BUILT}",
        ],
        _if=lambda: stale or inputs_changed(),
    )
    return [secret, *settings, static]

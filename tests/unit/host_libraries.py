"""Stand-ins for the parts of Django, Horizon, keystoneauth and django-compressor that the
deploy's code in Horizon uses (operations/runtime/horizon_deploy.py and the settings drop-in):
none of them is installed where the unit tests run. Each keeps only the behaviour the deploy's
code relies on, so that a test can drive it."""

from __future__ import annotations

import sys
import types
from contextlib import contextmanager
from pathlib import Path

RUNTIME_DIR = Path(__file__).resolve().parents[2] / "operations" / "runtime"


# Debian 12's.
HORIZON_VERSION = "23.0.0"


class CreateError(Exception):
    pass


class UpdateError(Exception):
    pass


class CacheSessionStore:
    """Django's cache sessions; ``failing`` makes ``save`` raise as Django does when memcached
    could not store the session."""

    failing: type[Exception] | None = None

    def __init__(self):
        self._session_key = None
        self.modified = False
        self.keys = iter(range(1, 100))

    def _get_new_session_key(self):
        return f"key-{next(self.keys)}"

    def save(self, must_create=False):
        if self.failing:
            raise self.failing()


class Session:
    """keystoneauth1's session: a timeout of None waits forever."""

    def __init__(self, timeout=None):
        self.timeout = timeout


class Signal:
    def __init__(self):
        self.receivers = []

    def connect(self, receiver, weak=True):
        self.receivers.append(receiver)


class HttpResponse(dict):
    def __init__(self, content="", content_type=None, status=200):
        super().__init__()
        self.content, self.status_code = content, status


def _modules(settings: dict) -> dict[str, types.ModuleType]:
    def module(name, **attributes):
        made = types.ModuleType(name)
        made.__dict__.update(attributes)
        return made

    return {
        "compressor": module("compressor"),
        "compressor.exceptions": module("compressor.exceptions", OfflineGenerationError=type("OfflineGenerationError", (Exception,), {})),
        "django": module("django"),
        "django.conf": module("django.conf", settings=types.SimpleNamespace(**settings)),
        "django.contrib": module("django.contrib"),
        "django.contrib.sessions": module("django.contrib.sessions"),
        "django.contrib.sessions.backends": module("django.contrib.sessions.backends"),
        "django.contrib.sessions.backends.cache": module(
            "django.contrib.sessions.backends.cache", SessionStore=CacheSessionStore, CreateError=CreateError, UpdateError=UpdateError
        ),
        "django.core": module("django.core"),
        "django.core.cache": module("django.core.cache"),
        "django.core.cache.backends": module("django.core.cache.backends"),
        "django.core.cache.backends.memcached": module(
            "django.core.cache.backends.memcached", PyMemcacheCache=type("PyMemcacheCache", (), {"close": lambda self, **kwargs: None})
        ),
        "django.core.signals": module("django.core.signals", got_request_exception=Signal()),
        "django.http": module("django.http", HttpResponse=HttpResponse),
        "horizon": module("horizon"),
        "horizon.utils": module("horizon.utils"),
        "horizon.version": module(
            "horizon.version", version_info=types.SimpleNamespace(version_string=lambda: HORIZON_VERSION)
        ),
        "horizon.utils.secret_key": module("horizon.utils.secret_key", read_from_file=lambda path: f"read:{path}"),
        "keystoneauth1": module("keystoneauth1"),
        "keystoneauth1.session": module("keystoneauth1.session", Session=Session),
    }


@contextmanager
def host_libraries(**settings):
    """The stand-ins importable (``django.conf.settings`` holding ``settings``), and the deploy's
    module in Horizon imported fresh with them; everything as it was afterwards."""
    saved_modules, saved_path = dict(sys.modules), list(sys.path)
    sys.modules.pop("horizon_deploy", None)
    sys.modules.update(_modules(settings))
    sys.path.insert(0, str(RUNTIME_DIR))
    try:
        yield sys.modules
    finally:
        sys.modules.clear()
        sys.modules.update(saved_modules)
        sys.path[:] = saved_path

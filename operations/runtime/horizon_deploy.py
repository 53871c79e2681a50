"""What the deploy adds to Horizon itself: code that runs in Horizon's workers on the host.

Installed beside Horizon (``layout.RUNTIME_DIR``) and imported by the deploy's settings drop-in
(``templates/horizon-settings.py.j2``), which names the classes below in Django's settings and
calls the functions with this host's values. Here, not in the template, so that a linter and the
unit tests (``tests/unit/test_runtime.py``) reach it. Django, Horizon and keystoneauth are the
distribution's, on the host.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import sys
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote

from compressor.exceptions import OfflineGenerationError
from django.contrib.sessions.backends import cache as cache_sessions
from django.core.cache.backends.memcached import PyMemcacheCache
from django.core.signals import got_request_exception
from keystoneauth1 import session as keystoneauth_session


def bound_api_sessions(timeout: float) -> None:
    """Horizon's API clients, Keystone's included, wait for an answer without limit: a service
    that accepts connections and never answers would hold the worker until uWSGI's harakiri
    kills it, and the user would get NGINX's 502. Every keystoneauth session Horizon makes gets
    ``timeout`` instead, unless its maker chose one, and the page shows Horizon's own error."""
    session_init = keystoneauth_session.Session.__init__

    def init(self, *args, **kwargs):
        session_init(self, *args, **kwargs)
        if self.timeout is None:
            self.timeout = float(timeout)

    keystoneauth_session.Session.__init__ = init


def merged_logging(deploys: dict, operators: dict) -> dict:
    """Python logging configuration: the operator's named formatters, filters, handlers and
    loggers over the deploy's (one of the same name replaced), and the operator's root logger
    instead of the deploy's."""
    merged = dict(deploys)
    for section, entries in operators.items():
        merged[section] = entries if section == "root" else {**deploys.get(section, {}), **entries}
    return merged


def landing_page(user) -> str:
    """Horizon's default landing page is the project overview, which needs compute: a cloud
    without it would greet every user with a 403. The first dashboard whose default panel the
    user's catalog and roles allow instead (the overview wherever there is compute)."""
    import horizon

    for dashboard in horizon.get_dashboards():
        panel = dashboard.get_panel(dashboard.default_panel)
        needs = (*getattr(dashboard, "permissions", ()), *getattr(panel, "permissions", ()))
        if user.has_perms(needs):
            return panel.get_absolute_url()
    return horizon.get_default_dashboard().get_absolute_url()


class ServiceUnavailableMiddleware:
    """Most pages catch a service that does not answer and show Horizon's error message; a few
    let the connection error escape (the project overview asks Neutron for its extensions
    unguarded) and would answer 500. Those answer 503 with the same message, in the dashboard's
    own frame."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.http import HttpResponse
        from django.template import engines
        from horizon import exceptions
        from openstack_dashboard.exceptions import RECOVERABLE

        if not isinstance(exception, RECOVERABLE) or not request.user.is_authenticated:
            return None
        exceptions.handle(request, "A service this page needs does not answer.")
        page = engines["django"].from_string(
            '{% extends "base.html" %}{% block title %}Service unavailable{% endblock %}'
        )
        return HttpResponse(page.render({}, request), status=503)


class SessionStore(cache_sessions.SessionStore):
    """Django's cache sessions (this module is the SESSION_ENGINE), except when memcached has lost
    a session or cannot store one: Django then answers 400 (a session gone during the request)
    or 500 (after trying 10,000 new keys). Here the request completes without a stored session,
    and the next page asks the user to log in again."""

    def create(self):
        self._session_key = self._get_new_session_key()
        self.save(must_create=True)
        self.modified = True

    def save(self, must_create=False):
        try:
            super().save(must_create)
        except (cache_sessions.CreateError, cache_sessions.UpdateError):
            logging.getLogger(__name__).warning("memcached did not store a session: is it running?")


class PersistentPyMemcacheCache(PyMemcacheCache):
    """Django's pymemcache backend, keeping its connections between requests. Django closes
    every memcached connection when a request ends (to clean up after clients that leak them),
    so each request opened new TCP connections to every server it used; pymemcache's pool
    manages them well. Measured (benchmarks/speed, login page, 2 cores): +16 % requests/s."""

    def close(self, **kwargs):
        pass


# Each session is kept by this many memcached servers (of two or more): one of them restarting,
# or its host going away, logs nobody out.
SESSION_COPIES = 2
# The sessions' keys begin with it (the sessions' cache KEY_PREFIX): what refill copies.
SESSIONS_KEY_PREFIX = "horizon-sessions"
# What a deleted session's servers keep for as long as the session could have lasted.
DELETED = "horizon-deploy:deleted-session"
# A server that failed is not asked again for this long, doubled at each failure in a row up to
# the most: a host that is gone would otherwise cost every request its connect timeout. Short at
# first, so that a restarted one is written to again at once; refill waits for that.
DOWN_SECONDS = 1.0
MOST_DOWN_SECONDS = 30.0


def session_servers(servers: list[str], key: str, copies: int = SESSION_COPIES) -> list[str]:
    """The servers that keep ``key``: the ``copies`` ranking highest for it (rendezvous hashing).
    A server joining takes a place among a key's servers only by outranking them, so at least
    one of a key's servers before it joined is still one after; the same holds when one leaves."""
    return sorted(servers, key=lambda server: _rank(server, key), reverse=True)[:copies]


def _rank(server: str, key: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{server}/{key}".encode(), digest_size=8).digest(), "big")


class SessionCopies:
    """The client Django's memcached backend talks to, keeping each key on its servers
    (``session_servers``): a write goes to each server; a read asks each and gives a server
    that answered without the key (restarted outside a run, by hand or by a package upgrade)
    its copy back, kept ``repair_expire`` seconds; a deletion leaves ``DELETED``, which wins
    over a copy found elsewhere; a server that cannot be reached is skipped
    for ``DOWN_SECONDS`` or more. ``clients`` maps each server to a pymemcache client; ``down``
    are the errors of a server that cannot be reached, ``refused`` those of a call it refused
    (a value over memcached's item size), which fail that call alone. Django keeps a cache
    per thread, so each uWSGI thread has its own."""

    def __init__(self, clients: dict, down: tuple[type[BaseException], ...], refused: tuple[type[BaseException], ...] = (),
                 repair_expire: int = 0):
        self.clients = clients
        self.down = down
        self.refused = refused
        self.repair_expire = repair_expire
        self.down_until = dict.fromkeys(clients, 0.0)
        self.failures = dict.fromkeys(clients, 0)

    def _answers(self, key: str, ask):
        """(server, answer) of each of ``key``'s servers that answered."""
        for server in session_servers(list(self.clients), key):
            if time.monotonic() < self.down_until[server]:
                continue
            try:
                answer = _twice(ask, self.clients[server], self.down)
            except self.down:
                self.failures[server] += 1
                down = min(DOWN_SECONDS * 2 ** (self.failures[server] - 1), MOST_DOWN_SECONDS)
                self.down_until[server] = time.monotonic() + down
                continue
            except self.refused:
                continue
            self.failures[server] = 0
            yield server, answer

    def get(self, key, default=None):
        answers = dict(self._answers(key, lambda client: client.get(key)))
        if DELETED in answers.values():
            # A server skipped when the session was deleted still has it: a logout stays one.
            self._spread(key, DELETED, [server for server, answer in answers.items() if answer not in (None, DELETED)])
            return default
        value = next((value for value in answers.values() if value is not None), None)
        if value is None:
            return default
        self._spread(key, value, [server for server, answer in answers.items() if answer is None])
        return value

    def _spread(self, key, value, servers: list[str]) -> None:
        for server in servers:
            try:
                # Not over a copy written meanwhile; a deletion over anything.
                store = self.clients[server].set if value == DELETED else self.clients[server].add
                store(key, value, self.repair_expire, noreply=False)
            except self.down + self.refused:
                pass

    def _each(self, key, ask) -> bool:
        """Whether any of ``key``'s servers said yes."""
        return any([answer for _, answer in self._answers(key, ask)])

    def set(self, key, value, expire=0, noreply=None):
        return self._each(key, lambda client: client.set(key, value, expire, noreply=False))

    def add(self, key, value, expire=0, noreply=None):
        return self._each(key, lambda client: client.add(key, value, expire, noreply=False))

    def delete(self, key, noreply=None):
        # A mark rather than nothing: a copy on a server skipped meanwhile is not given back.
        return self._each(key, lambda client: client.set(key, DELETED, self.repair_expire, noreply=False))

    def touch(self, key, expire=0, noreply=None):
        return self._each(key, lambda client: client.touch(key, expire, noreply=False))


def _twice(ask, client, errors):
    """``ask`` the client, and once more on a new connection: the pool's connection to a server
    that restarted fails once."""
    try:
        return ask(client)
    except errors:
        return ask(client)


class ReplicatedPyMemcacheCache(PersistentPyMemcacheCache):
    """The sessions' cache: Django's pymemcache backend over ``SessionCopies``, one connection
    pool per server. Only what Django's cache sessions use (get, add, set, delete, touch)."""

    @cached_property
    def _cache(self):
        from pymemcache import PooledClient
        from pymemcache.exceptions import MemcacheError, MemcacheUnexpectedCloseError

        options = {name: value for name, value in self._options.items() if name not in ("use_pooling", "ignore_exc")}
        clients = {server: PooledClient(_address(server), **options) for server in self.client_servers}
        # A session's own expiry is not known to a read: a copy given back lasts the cache's
        # TIMEOUT, the session timeout, which Horizon enforces from the session's content anyway.
        unreachable = (OSError, MemcacheUnexpectedCloseError)
        return SessionCopies(clients, unreachable, (MemcacheError,), self.get_backend_timeout(self.default_timeout))


def _address(server: str) -> tuple[str, int]:
    name, _, port = server.rpartition(":")
    return name.strip("[]"), int(port)


def release_series() -> int:
    """Horizon's major version, the sessions' cache version: nodes of two releases never read
    each other's sessions, which hold pickled objects of openstack_auth that a release may
    change (and 2026.1 changes how sessions are serialized)."""
    from horizon import version

    return int(version.version_info.version_string().split(".")[0])


class Memcached:
    """One memcached server over its text protocol, for what pymemcache has no call for:
    listing the keys it holds (``lru_crawler metadump``) with their expiry."""

    def __init__(self, server: str, timeout: float = 5):
        self.connection = socket.create_connection(_address(server), timeout=timeout)
        self.replies = self.connection.makefile("rb")

    def _send(self, command: bytes) -> None:
        self.connection.sendall(command)

    def keys(self, prefix: str, attempts: int = 50) -> list[tuple[str, int]]:
        """The keys beginning with ``prefix``, each with its expiry (Unix time, 0 for none)."""
        self._send(b"lru_crawler metadump all\r\n")
        found = []
        while (line := self.replies.readline().rstrip(b"\r\n")) != b"END":
            if line.startswith(b"BUSY") and attempts > 1:
                # memcached's own crawler is at work; it takes milliseconds.
                time.sleep(0.1)
                return self.keys(prefix, attempts - 1)
            if not line.startswith(b"key="):
                raise OSError(f"lru_crawler metadump answered {line!r}")
            fields = dict(field.split(b"=", 1) for field in line.split())
            key = unquote(fields[b"key"].decode())
            if key.startswith(prefix):
                found.append((key, max(int(fields[b"exp"]), 0)))
        return found

    def get(self, key: str) -> tuple[int, bytes] | None:
        """The value's flags and bytes, as stored."""
        self._send(b"get " + key.encode() + b"\r\n")
        header = self.replies.readline().split()
        if header == [b"END"]:
            return None
        if len(header) != 4 or header[0] != b"VALUE":
            raise OSError(f"get answered {b' '.join(header)!r}")
        flags, size = int(header[2]), int(header[3])
        data = self.replies.read(size + 2)[:size]
        self.replies.readline()  # END
        return flags, data

    def add(self, key: str, flags: int, expires: int, data: bytes) -> bool:
        """Stores unless the key is there already: a copy written since counts, not this one."""
        self._send(b"add %s %d %d %d\r\n%s\r\n" % (key.encode(), flags, expires, len(data), data))
        return self.replies.readline().strip() == b"STORED"


def refill(into: str, servers: list[str], wait: float = 30) -> int:
    """Copies into ``into``, a memcached of ``servers`` just restarted (empty), each session it
    keeps (``session_servers``) from the other servers keeping it, with its expiry. Waits first
    until it answers and every worker that found it down once or twice while it restarted has
    asked it again (``DOWN_SECONDS``), so that what they write is there before the copies, which
    do not replace it; not when no other server holds a session (a first deploy). Returns how
    many were copied."""
    deadline = time.monotonic() + wait
    while True:
        try:
            target = Memcached(into)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    peers = [server for server in servers if server != into]
    if not any(_from_peer(server, _count_sessions) for server in peers):
        return 0
    time.sleep(DOWN_SECONDS * 3 + 0.5)
    return sum(_from_peer(server, lambda source: _copy(source, target, into, servers)) for server in peers)


def _from_peer(server: str, action: Callable[[Memcached], int]) -> int:
    """``action`` on ``server``; 0 when it is down, or not deployed yet (a fleet's first run):
    what it has cannot be given, and a read gives a user's session back when they come."""
    try:
        return action(Memcached(server))
    except (OSError, ValueError, KeyError) as error:
        print(f"{server} skipped: {error}", file=sys.stderr)
        return 0


def _count_sessions(source: Memcached) -> int:
    return sum(1 for _ in source.keys(SESSIONS_KEY_PREFIX))


def _copy(source: Memcached, target: Memcached, into: str, servers: list[str]) -> int:
    copied = 0
    for key, expires in source.keys(SESSIONS_KEY_PREFIX):
        if expires and expires <= time.time() or into not in session_servers(servers, key):
            continue
        value = source.get(key)
        if value is not None and target.add(key, value[0], expires, value[1]):
            copied += 1
    return copied


def mark_static_files_failed(mark: str) -> None:
    """A page that fails because the offline manifest lacks one of its blocks leaves ``mark``:
    the next deploy run finds it and builds the static files again instead of reporting
    nothing to do."""

    def marked(sender, request=None, **kwargs):
        if isinstance(sys.exc_info()[1], OfflineGenerationError):
            try:
                Path(mark).touch()
            except OSError:
                pass  # outside uWSGI (manage.py), where the directory may not exist

    got_request_exception.connect(marked, weak=False)


class HealthCheckMiddleware:
    """``WEBROOT`` + the settings' ``HORIZON_DEPLOY_HEALTH_CHECK`` answers 200 from a loaded
    application, before sessions, CSRF, authentication or the Host check: what a load balancer
    or a monitor needs to know, without a session, a cookie or a template per check. To this
    host alone it also names the settings that run (``HORIZON_DEPLOY_SETTINGS``), for the
    deploy's own check (horizon-check-site)."""

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.path = f"/{settings.HORIZON_DEPLOY_HEALTH_CHECK}"
        self.marker = settings.HORIZON_DEPLOY_SETTINGS

    def __call__(self, request):
        from django.http import HttpResponse

        if request.path_info == self.path:
            response = HttpResponse("OK\n", content_type="text/plain")
            if request.META.get("REMOTE_ADDR") in ("127.0.0.1", "::1"):
                response["X-Horizon-Settings"] = self.marker
            return response
        return self.get_response(request)


class RequestTimeLimitMiddleware:
    """Each request's time limit, for uWSGI to kill a worker stuck in one (a hung call): the
    settings' ``HORIZON_DEPLOY_REQUEST_TIME_LIMITS``, (seconds, a regular expression of the
    upload URLs, seconds for those). uWSGI's own ``harakiri`` cannot be used: it is one deadline
    per worker, which any thread's ending request clears and a large body's read then sets in
    1970 (see the ini). Here too the worker has one deadline (uWSGI's user harakiri), set by
    each request as it starts and cleared by uWSGI as any request ends: the master acts on it
    only once the request that set it last has run past its own limit. Outside uWSGI (manage.py,
    the tests) it does nothing."""

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        limit, upload_urls, upload_limit = settings.HORIZON_DEPLOY_REQUEST_TIME_LIMITS
        self.limit, self.upload_urls, self.upload_limit = limit, re.compile(upload_urls), upload_limit
        try:
            import uwsgi
        except ImportError:
            self.set_limit = None
        else:
            self.set_limit = uwsgi.set_user_harakiri

    def __call__(self, request):
        if self.set_limit:
            # Set before Horizon reads the body: Django's copy of an upload counts.
            self.set_limit(self.upload_limit if self.upload_urls.match(request.path_info) else self.limit)
        return self.get_response(request)


def uploads_in_flight(mark: str, fds: str = "/proc/self/fd") -> int:
    """How many files whose name holds ``mark`` (Django's uploaded files) this process has open
    and not yet removed: Horizon's thread removes one when Glance has it all, and the file is
    closed only when the garbage collector gets to it."""
    count = 0
    for fd in os.listdir(fds):
        try:
            target = os.readlink(f"{fds}/{fd}")
        except OSError:
            continue  # closed meanwhile
        count += mark in target and not target.endswith(" (deleted)")
    return count


def keep_uploads_through_exit(timeout: float, mark: str, fds: str = "/proc/self/fd") -> None:
    """In the legacy upload mode, Horizon answers an image's upload once Glance has its record,
    and a thread of the worker streams the file to Glance afterwards: a worker that exits (a
    graceful reload, ``max-requests``) killed it, and the image stayed in ``saving`` for good.
    A worker about to exit waits, up to ``timeout`` seconds, until it holds no uploaded file
    (named with ``mark``) open, which Horizon's thread closes and removes when it is done; the
    ini's ``worker-reload-mercy`` lets it. Outside uWSGI it does nothing."""
    try:
        import uwsgi
    except ImportError:
        return
    then = getattr(uwsgi, "atexit", None)

    def wait_for_uploads():
        deadline = time.monotonic() + timeout
        while uploads_in_flight(mark, fds) and time.monotonic() < deadline:
            time.sleep(0.5)
        if then:
            then()

    uwsgi.atexit = wait_for_uploads


if __name__ == "__main__":
    # python3 horizon_deploy.py refill SERVER SERVERS..., run by the deploy's roll-out as root.
    command, into, *all_servers = sys.argv[1:]
    if command != "refill" or into not in all_servers:
        sys.exit(f"usage: {sys.argv[0]} refill SERVER SERVERS... (SERVER one of SERVERS)")
    print(f"{refill(into, all_servers)} sessions copied into {into}")

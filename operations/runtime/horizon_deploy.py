"""What the deploy adds to Horizon itself: code that runs in Horizon's workers on the host.

Installed beside Horizon (``layout.RUNTIME_DIR``) and imported by the deploy's settings drop-in
(``templates/horizon-settings.py.j2``), which names the classes below in Django's settings and
calls the functions with this host's values. Here, not in the template, so that a linter and the
unit tests (``tests/unit/test_runtime.py``) reach it. Django, Horizon and keystoneauth are the
distribution's, on the host.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

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

"""Logging in to a freshly deployed dashboard against the lab's real Keystone, as a browser's
form post does, and what the user then sees."""

from __future__ import annotations

import pytest

from lab.identity import ADMIN
from tests.integration.dashboard import LOGIN_PAGE, PROJECTS, error_messages, listed_projects, project_panel_groups, title

# The article's four parts of a cloud, as the Project dashboard groups their panels.
CLOUD_PARTS = {"compute": "compute", "network": "network", "volumev3": "volumes", "object-store": "object_store"}
# The pages that call the (dead) services as soon as they render: each part's main page, and the
# project overview, where users land when the cloud has compute.
SERVICE_PAGES = ["project/", "project/instances/", "project/networks/", "project/volumes/", "project/containers/"]


@pytest.fixture
def user(fresh, ready_keystone):
    target = fresh[0]
    return target.user()


def test_admin_logs_in_and_lands_on_a_page_that_lists_the_admin_project(user, ready_keystone):
    page = user.login(ADMIN, ready_keystone.admin_password)
    assert page.status_code == 200, title(page.text)
    # With only identity in the catalog the project overview (compute) would answer 403.
    assert page.url == user.url + "identity/"
    assert title(page.text) == PROJECTS
    assert ADMIN in listed_projects(page.text)


def test_a_login_leaves_no_python_warnings_in_the_journal(fresh, user, ready_keystone):
    # Horizon turns DeprecationWarnings on and oslo.policy warns on every page: silenced, the
    # journal keeps what operators can act on.
    target = fresh[0]
    cursor = target.journal_cursor()
    user.login(ADMIN, ready_keystone.admin_password)
    user.get("identity/")
    journal = target.journal_after(cursor)
    assert "Login successful" in journal
    assert [line for line in journal.splitlines() if "Warning" in line] == []


def test_wrong_password_gets_horizons_invalid_credentials(user):
    page = user.login(ADMIN, "not-the-password")
    assert page.status_code == 200
    assert title(page.text) == LOGIN_PAGE
    assert error_messages(page.text) == ["Invalid credentials."]


def test_logout_ends_the_session(user, ready_keystone):
    assert user.login(ADMIN, ready_keystone.admin_password).status_code == 200
    assert title(user.get("identity/").text) == PROJECTS
    user.logout()
    page = user.get("identity/")
    assert page.url == user.url + "auth/login/?next=/identity/"
    assert title(page.text) == LOGIN_PAGE


def test_with_identity_alone_the_dashboard_offers_no_other_part_of_a_cloud(user, ready_keystone):
    page = user.login(ADMIN, ready_keystone.admin_password)
    assert project_panel_groups(page.text).isdisjoint(CLOUD_PARTS.values())


@pytest.fixture
def whole_cloud_catalog(ready_keystone):
    """Compute, network, block storage and object store registered; none of them answers."""
    ready_keystone.set_services(list(CLOUD_PARTS))
    yield
    ready_keystone.set_services([])


def test_the_four_parts_of_a_cloud_appear_when_the_catalog_has_them(user, ready_keystone, whole_cloud_catalog):
    user.login(ADMIN, ready_keystone.admin_password)
    page = user.get("identity/")
    assert project_panel_groups(page.text) >= set(CLOUD_PARTS.values())


def test_pages_whose_service_does_not_answer_show_horizons_error_not_a_500(user, ready_keystone, whole_cloud_catalog):
    landing = user.login(ADMIN, ready_keystone.admin_password)
    assert landing.url == user.url + "project/"
    # Every page in one test (see tests/conftest.py).
    for path in SERVICE_PAGES:
        page = user.get(path)
        # 503 where Horizon itself lets the error escape (the overview): the frame and the message
        # are the dashboard's, the status says which service-side condition it is.
        assert page.status_code in (200, 503) and page.url == user.url + path, f"{path}: {page.status_code} {title(page.text)}"
        assert project_panel_groups(page.text) >= set(CLOUD_PARTS.values()), path
        if path != "project/containers/":
            # The object store's page is an Angular shell: its errors come later, from the browser.
            assert any(message.startswith("Error:") for message in error_messages(page.text)), path

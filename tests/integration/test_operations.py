"""What operators set beside the dashboard itself: the health check load balancers probe, log
rotation and level, policy overrides, regions, domains, branding and themes, plugins, sessions
kept in a database."""

from __future__ import annotations

import json
import re
import secrets
import shlex
import time

from lab import targets
from lab.identity import ADMIN, provide_database
from operations.layout import CLEANUP_SERVICE, CLEANUP_TIMER, DATABASE_PASSWORD_FILE, STATIC_BUILT, STATIC_ROOT
from tests.integration.conftest import compiled_css, describe
from tests.integration.dashboard import (
    DASHBOARD_VERSION,
    LOGIN,
    PROJECTS,
    THEME_MARKER,
    current_region,
    dashboard_package_upgraded_to,
    image_source,
    project_panel_groups,
    select_options,
    theme_choices,
    theme_made_default,
    title,
)
from tests.integration.traffic import READING_SECONDS, Traffic

IDENTITY_OVERRIDES = "/etc/openstack-dashboard/policy-overrides/identity/horizon-deploy.yaml"
ROLES_PANEL = 'href="/identity/roles/"'
API_CA = "/etc/openstack-dashboard/api-ca.pem"
SETTINGS_DROPIN = "/etc/openstack-dashboard/local_settings.d/_9000_nginx_uwsgi.py"
CUSTOMIZATION = "/etc/openstack-dashboard/python/dashboard_operator/customization.py"
# Horizon's documented way of removing a panel, in a customisation module.
WITHOUT_ROLES_PANEL = """\
import horizon

identity = horizon.get_dashboard("identity")
identity.unregister(identity.get_panel("roles").__class__)
"""
SSO_KEYSTONE = "https://keystone.example.com:5000/v3"
HEAT_DROPIN = "/etc/openstack-dashboard/local_settings.d/_1699_orchestration_settings.py"
HEAT_PANEL = "/usr/lib/python3/dist-packages/openstack_dashboard/local/enabled/_1610_project_orchestration_panel.py"
# heat-dashboard's releases for the distributions' Horizon, Zed (23.0) and Epoxy (25.3): 8.0.0
# and 13.0.0, spelled as pip would not print them, which must not make every run reinstall them.
HEAT_FROM_PYPI = {"debian:12": "Heat_Dashboard==8.0", "debian:13": "heat_dashboard==13.0"}
THEME = "/usr/local/share/openstack-dashboard/themes/acme"
# Over 1 KiB, so that the static build gives it a gzip twin NGINX prefers.
LOGO = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><!-- test logo %s --></svg>\n' % ("x" * 2000)
FAVICON = b"\x00\x00\x01\x00\x01\x00" + bytes(range(64))


def readme_fleet_commands() -> list[list[str]]:
    """The README's ad hoc commands for the fleet, as written there."""
    readme = (targets.ROOT / "README.md").read_text()
    return [shlex.split(line)[1:] for line in re.findall(r"^pyinfra inventory\.py --limit horizon .*$", readme, re.M)]


def service_states(target, ran) -> list[str]:
    """What the status command printed for the host, one state per service."""
    return re.findall(rf"^\[@docker/{re.escape(target.name)}\] (active|inactive|failed)$", ran.stdout + ran.stderr, re.M)


def horizon_master(target) -> str:
    return target.host.check_output("systemctl show --property MainPID --value horizon")


def access_log_lines(target) -> int:
    return int(target.host.check_output("wc -l < /var/log/nginx/access.log"))


def back_to_the_defaults_without(target, keystone, path: str) -> None:
    """A run with the default data removes ``path``, the Roles panel is back, and a second run
    changes nothing."""
    back = target.deploy()
    assert back.returncode == 0, describe(back)
    assert not target.host.file(path).exists
    assert ROLES_PANEL in target.user().login(ADMIN, keystone.admin_password).text
    again = target.deploy()
    assert again.returncode == 0 and again.changed == 0, describe(again)


def test_health_check_answers_without_session_cookie_or_log_line_and_fails_with_horizon(target):
    logged = access_log_lines(target)
    response = target.get("/healthz")
    assert (response.status, response.body) == (200, "OK\n")
    assert "Set-Cookie" not in response.headers
    assert access_log_lines(target) == logged
    target.host.run_test("systemctl stop horizon.socket horizon")
    try:
        assert target.get("/healthz").status == 502, "Horizon is stopped: the check must say so"
    finally:
        target.host.run_test("systemctl start horizon")
    assert target.wait_for("/healthz").status == 200


def test_nginx_logs_are_rotated_and_nginx_goes_on_logging_into_the_new_file(target):
    assert target.host.service("logrotate.timer").is_enabled
    # Something to rotate: Debian's rule leaves an empty log alone (notifempty).
    assert target.get("/auth/login/").status == 200
    target.host.run_expect([0], "logrotate --force /etc/logrotate.d/nginx")
    assert target.host.file("/var/log/nginx/access.log.1").exists
    # The rotation's postrotate makes NGINX reopen its logs.
    deadline = time.monotonic() + 10
    while "GET /auth/login/" not in target.host.file("/var/log/nginx/access.log").content_string:
        assert time.monotonic() < deadline, "NGINX did not log into the new access.log"
        target.get("/auth/login/")
        time.sleep(0.5)


def test_policy_overrides_and_log_level_apply_and_removing_an_override_removes_its_file(target, ready_keystone):
    cursor = target.journal_cursor()
    # The Roles panel needs only this rule ("!": never allowed).
    overrides = json.dumps({"identity": {"identity:list_roles": "!"}})
    run = target.deploy(f"horizon_policy_overrides={overrides}", "horizon_log_level=DEBUG")
    assert run.returncode == 0, describe(run)
    overrides_file = target.host.file(IDENTITY_OVERRIDES)
    assert (overrides_file.user, overrides_file.group, overrides_file.mode) == ("root", "horizon", 0o640)
    page = target.user().login(ADMIN, ready_keystone.admin_password)
    assert title(page.text) == PROJECTS
    assert ROLES_PANEL not in page.text, "listing roles is forbidden: the panel is not offered"
    journal = target.journal_after(cursor)
    assert any(line.startswith("DEBUG ") for line in journal.splitlines()), "horizon_log_level=DEBUG"

    back_to_the_defaults_without(target, ready_keystone, IDENTITY_OVERRIDES)


def test_login_page_offers_regions_domains_sso_branding_and_theme_and_a_login_goes_through_the_second_region(
    target, ready_keystone, tmp_path
):
    # Two regions, both the lab's Keystone: once by name, once by address.
    address = target.host.check_output(f"getent hosts {target.keystone.name}").split()[0]
    by_address = ready_keystone.url.replace(target.keystone.name, address)
    regions = json.dumps({"Lab": ready_keystone.url, "Lab by address": by_address})
    (tmp_path / "logo.svg").write_text(LOGO)
    (tmp_path / "favicon.ico").write_bytes(FAVICON)
    horizons_splash = target.user().get(image_source(target.user().get(LOGIN).text, "img/logo-splash.svg")).content
    served_build = served_static_build(target)
    run = target.deploy(
        f"horizon_keystone_regions={regions}",
        "horizon_keystone_multidomain=true",
        "horizon_keystone_domain_choices=Default",
        "horizon_site_branding=Example Cloud",
        "horizon_help_url=https://help.example.com/",
        f"horizon_api_ca_certificate={target.trusted_certificate()}",
        *theme_made_default(tmp_path),
        "horizon_selectable_themes=acme,default",
        f"horizon_logo_splash={tmp_path / 'logo.svg'}",
        f"horizon_favicon={tmp_path / 'favicon.ico'}",
        'horizon_websso_choices={"credentials": "Keystone Credentials", "acme": "ACME"}',
        'horizon_websso_idp_mapping={"acme": ["acme-idp", "saml2"]}',
        f"horizon_websso_keystone_url={SSO_KEYSTONE}",
    )
    assert run.returncode == 0, describe(run)
    login_page = target.user().get(LOGIN).text
    assert title(login_page) == "Login - Example Cloud"
    # The operator's theme is the default one, logo and icon theirs (fetched gzip-encoded, as
    # browsers do: the twin was built from the new file).
    assert THEME_MARKER in compiled_css(target, login_page)
    assert target.user().get(image_source(login_page, "img/logo-splash.svg")).text == LOGO
    assert target.user().get(image_source(login_page, "img/favicon.ico")).content == FAVICON
    # Offered in the order given, by position.
    assert select_options(login_page, "region") == {"0": "Lab", "1": "Lab by address"}
    assert select_options(login_page, "domain") == {"Default": "Default"}
    assert select_options(login_page, "auth_type") == {"credentials": "Keystone Credentials", "acme": "ACME"}
    # Choosing the identity provider sends the browser to Keystone, which sends it back here.
    sso = target.user().login("", "", follow=False, auth_type="acme")
    assert sso.status_code == 302
    assert sso.headers["Location"] == (
        f"{SSO_KEYSTONE}/auth/OS-FEDERATION/identity_providers/acme-idp/protocols/saml2/websso"
        f"?origin=https://localhost:{target.tls_port}/auth/websso/"
    )
    page = target.user().login(ADMIN, ready_keystone.admin_password, region="1", domain="Default", auth_type="credentials")
    assert title(page.text) == "Projects - Example Cloud"
    assert current_region(page.text) == "Lab by address"
    assert 'href="https://help.example.com"' in page.text, "the user menu's Help entry"
    assert theme_choices(page.text) == ["acme", "default"], "in the order given"
    # Keystone here speaks plain HTTP: the CA is proven placed and named, not used.
    ca = target.host.file(API_CA)
    assert (ca.user, ca.mode) == ("root", 0o644)
    assert target.django_settings("OPENSTACK_SSL_CACERT") == {"OPENSTACK_SSL_CACERT": API_CA}

    back = target.deploy()
    assert back.returncode == 0, describe(back)
    login_page = target.user().get(LOGIN).text
    assert title(login_page) == "Login - OpenStack Dashboard"
    assert all(select_options(login_page, name) == {} for name in ("region", "domain", "auth_type"))
    assert not target.host.file(API_CA).exists
    assert not target.host.file(THEME).exists
    assert THEME_MARKER not in compiled_css(target, login_page)
    assert target.user().get(image_source(login_page, "img/logo-splash.svg")).content == horizons_splash
    # Rolled back, the inputs are those of the build served before: it is switched back in, not
    # built again.
    assert served_static_build(target) == served_build, "the static files were built again"
    again = target.deploy()
    assert again.returncode == 0 and again.changed == 0, describe(again)


def served_static_build(target) -> str:
    """The served static build's directory, by its inode (a rename keeps it, a build makes a new one)."""
    return target.host.check_output(f"stat -c %i {STATIC_ROOT}")


def test_operators_settings_and_customisation_apply_and_a_typo_fails_the_run_with_the_site_kept(
    target, ready_keystone, tmp_path
):
    module = tmp_path / "customization.py"
    module.write_text(WITHOUT_ROLES_PANEL)
    customization = f"horizon_customization_module={module}"
    run = target.deploy('horizon_extra_settings={"SESSION_REFRESH": false}', customization)
    assert run.returncode == 0, describe(run)
    assert target.django_settings("SESSION_REFRESH") == {"SESSION_REFRESH": False}
    page = target.user().login(ADMIN, ready_keystone.admin_password)
    assert title(page.text) == PROJECTS
    assert ROLES_PANEL not in page.text, "the customisation module removed the Roles panel"
    installed = target.host.file(CUSTOMIZATION)
    assert (installed.user, installed.group, installed.mode) == ("root", "horizon", 0o640)

    # A typo Django finds: the run fails with its message before any restart, and the files
    # that passed the check are back, so that a restart still serves the site.
    dropin_before = target.host.file(SETTINGS_DROPIN).content_string
    module.write_text(WITHOUT_ROLES_PANEL.replace("import horizon", "import horizn"))
    broken = target.deploy('horizon_extra_settings={"SESSION_REFRESH": true}', customization)
    assert broken.returncode != 0, describe(broken)
    assert "No module named 'horizn'" in broken.stderr
    assert target.host.file(CUSTOMIZATION).content_string == WITHOUT_ROLES_PANEL
    assert target.host.file(SETTINGS_DROPIN).content_string == dropin_before
    target.host.run_test("systemctl restart horizon")
    page = target.user().login(ADMIN, ready_keystone.admin_password)
    assert title(page.text) == PROJECTS and ROLES_PANEL not in page.text

    back_to_the_defaults_without(target, ready_keystone, CUSTOMIZATION)


def test_the_readmes_fleet_commands_report_status_reload_and_restart_one_host_at_a_time(target):
    status, reload, restart = readme_fleet_commands()
    ran = targets.ad_hoc(target.name, *status)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert service_states(target, ran) == ["active", "active", "active"]
    target.host.run_test("systemctl stop memcached")
    try:
        assert service_states(target, targets.ad_hoc(target.name, *status)) == ["active", "active", "inactive"]
    finally:
        target.host.run_test("systemctl start memcached")

    # A reload keeps uWSGI's master (its workers are replaced); a restart starts a new one.
    master = horizon_master(target)
    ran = targets.ad_hoc(target.name, *reload)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert horizon_master(target) == master
    assert target.wait_for("/healthz").status == 200
    ran = targets.ad_hoc(target.name, *restart)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert horizon_master(target) != master
    assert target.wait_for("/healthz").status == 200


def test_a_package_upgrade_outside_a_run_is_noticed_checked_rebuilt_and_restarted_under_traffic_failing_nothing(
    target, ready_keystone
):
    # The host's own openstack-dashboard under a newer version, installed by dpkg.
    newer = f"{target.host.check_output(DASHBOARD_VERSION)}+upgradetest1"
    target.host.run_test(dashboard_package_upgraded_to(newer))
    assert target.host.package("openstack-dashboard").version == newer
    master = horizon_master(target)
    built = target.host.file(STATIC_BUILT).mtime
    users = [target.user() for _ in range(2)]
    for user in users:
        assert title(user.login(ADMIN, ready_keystone.admin_password).text) == PROJECTS

    # People use the site throughout (tests/integration/traffic.py): the restart holds their
    # requests in systemd's socket instead of failing them.
    with Traffic(target.url, target.trusted_certificate(), 2, users, READING_SECONDS) as traffic:
        run = target.deploy()
    assert run.returncode == 0, describe(run)
    figures = traffic.figures
    assert figures.requests > 100, figures.summary()
    assert (figures.failures, figures.missing_assets, figures.logged_out) == ([], [], 0), figures.summary()
    # Its table, in pyinfra's output. Warnings here: Horizon's list of the settings it knows
    # predates the installed Django's (DEFAULT_AUTO_FIELD, SECURE_REFERRER_POLICY...).
    assert re.search(r"Horizon's upgrade checks \(manage\.py upgrade_check\): (all passed|warnings)", run.stderr), describe(run)
    assert "| Check: Deprecated Settings" in run.stderr and "| Result: Success" in run.stderr
    assert target.host.file(STATIC_BUILT).mtime > built, "static files rebuilt"
    assert horizon_master(target) != master, "Horizon restarted"
    assert target.wait_for(f"/{LOGIN}").status == 200
    again = target.deploy()
    assert again.returncode == 0 and again.changed == 0, describe(again)


def test_a_plugin_from_the_distribution_or_pypi_adds_its_panels_where_its_service_is_in_the_catalog_and_leaves_nothing_when_dropped(
    target, image, ready_keystone
):
    ready_keystone.set_services(["orchestration"])
    try:
        user = target.user()
        assert title(user.login(ADMIN, ready_keystone.admin_password).text) == PROJECTS
        run = target.deploy("horizon_plugins=heat")
        assert run.returncode == 0, describe(run)
        # Horizon reloads, memcached is left alone: whoever was logged in stays so, and sees it.
        page = user.get("identity/")
        assert "orchestration" in project_panel_groups(page.text), "Project → Orchestration in the navigation"
        dropin = target.host.file(HEAT_DROPIN)
        assert (dropin.user, dropin.group, dropin.mode) == ("root", "horizon", 0o640)

        # The same plugin from PyPI instead: the package is purged, pip's is registered.
        run = target.deploy(f"horizon_pip_plugins={HEAT_FROM_PYPI[image]}")
        assert run.returncode == 0, describe(run)
        assert not target.host.package("python3-heat-dashboard").is_installed
        assert target.host.file(HEAT_PANEL).linked_to.startswith("/opt/horizon-uwsgi/lib/")
        page = target.user().login(ADMIN, ready_keystone.admin_password)
        assert "orchestration" in project_panel_groups(page.text), "Project → Orchestration, from PyPI's heat-dashboard"
        again = target.deploy(f"horizon_pip_plugins={HEAT_FROM_PYPI[image]}")
        assert again.returncode == 0 and again.changed == 0, describe(again)

        back_to_the_defaults_without(target, ready_keystone, HEAT_PANEL)
        assert target.host.run("/opt/horizon-uwsgi/bin/pip show heat-dashboard").rc == 1
        assert not target.host.file(HEAT_DROPIN).exists
        page = target.user().login(ADMIN, ready_keystone.admin_password)
        assert "orchestration" not in project_panel_groups(page.text)
    finally:
        ready_keystone.set_services([])


def test_sessions_in_a_database_outlive_a_memcached_restart_and_its_password_stays_secret(target, ready_keystone):
    password = secrets.token_urlsafe(18)
    provide_database(ready_keystone, password)
    # The password as the README recommends giving it: through the environment.
    environment = {"HORIZON_DATABASE_PASSWORD": password}
    data = ("horizon_session_engine=cached_db", f"horizon_database_host={ready_keystone.name}")
    run = target.deploy(*data, env=environment)
    assert run.returncode == 0, describe(run)
    assert password not in run.stdout + run.stderr
    secret = target.host.file(DATABASE_PASSWORD_FILE)
    assert (secret.user, secret.group, secret.mode) == ("horizon", "horizon", 0o600)

    user = target.user()
    assert title(user.login(ADMIN, ready_keystone.admin_password).text) == PROJECTS
    target.host.run_expect([0], "systemctl restart memcached memcached-replica")
    assert title(user.get("identity/").text) == PROJECTS, "the session did not outlive memcached"
    stored = targets.client().containers.get(ready_keystone.name).exec_run(
        ["mariadb", "-N", "-e", "SELECT COUNT(*) FROM horizon.django_session"]
    )
    assert stored.exit_code == 0 and int(stored.output) >= 1, stored.output
    # The daily cleanup, started now: it runs against the same database and succeeds.
    assert target.host.service("horizon-clearsessions.timer").is_enabled
    target.host.run_expect([0], "systemctl start horizon-clearsessions.service")
    again = target.deploy(*data, env=environment)
    assert again.returncode == 0 and again.changed == 0, describe(again)
    # A run stopped after writing the cleanup unit and before reloading systemd: systemd still
    # runs another definition than the file's. The next run reloads systemd, changing no file.
    target.host.run_expect([0], f"cp {CLEANUP_SERVICE} /root/unit && echo '# older' >> {CLEANUP_SERVICE} "
                           f"&& systemctl daemon-reload && cp /root/unit {CLEANUP_SERVICE}")
    assert target.host.check_output("systemctl show -P NeedDaemonReload horizon-clearsessions.service") == "yes"
    reloaded = target.deploy(*data, env=environment)
    assert reloaded.returncode == 0, describe(reloaded)
    assert [name.rpartition(" | ")[2] for name in reloaded.changed_operations] == ["Reload systemd for the sessions cleanup"]
    assert target.host.check_output("systemctl show -P NeedDaemonReload horizon-clearsessions.service") == "no"

    # Sessions in memcached alone again (where losing both logs users out: test_faults.py).
    back_to_the_defaults_without(target, ready_keystone, DATABASE_PASSWORD_FILE)
    assert not target.host.file(CLEANUP_TIMER).exists

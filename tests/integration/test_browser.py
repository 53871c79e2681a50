"""A real browser (Debian's Chromium, headless) logs in to the freshly deployed dashboard."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from lab.identity import ADMIN
from tests.integration.browser import log_in, screenshot


def test_admin_logs_in_with_a_browser_and_sees_the_admin_project(browser, fresh, ready_keystone, image):
    log_in(browser, fresh[0].url, ADMIN, ready_keystone.admin_password)
    projects = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#tenants tbody td:nth-child(2)")]
    assert ADMIN in projects
    assert browser.find_element(By.CSS_SELECTOR, ".user-menu .user-name").text == ADMIN
    screenshot(browser, f"logged-in-{image}")

"""A real browser on Flower's dashboard: headless Chromium from Debian's packages
(``chromium``, ``chromium-driver``; never a downloaded browser) driven by selenium.

Locally the test is skipped when Chromium is missing; in CI (``CI`` set) it fails
(``.ci/run`` installs both packages). ``TOKY_GHL_SCREENSHOT=docs/flower.png``
also saves the screenshot there (``make screenshot``).
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.integration.harness import REPO

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.integration.flower_support"]  # the synced_flower fixture

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-dev-shm-usage", "--disable-quic", "--no-first-run", "--disable-sync",
    "--disable-component-update", "--disable-extensions", "--window-size=1900,1000",
)


@pytest.fixture
def browser(tmp_path):
    """Headless Debian Chromium, or a skip (locally) / failure (CI) naming the packages."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        message = (f"{', '.join(missing)} missing: apt-get install -y chromium chromium-driver")
        if IN_CI:
            pytest.fail(f"{message} (.ci/run installs them; required in CI)")
        pytest.skip(f"{message} (skipped locally only; required in CI)")
    os.environ["SE_OFFLINE"] = "true"  # selenium must never fetch a browser or driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _with_basic_auth(driver, user: str, password: str) -> None:
    """Send the credentials with every request of the page (XHRs included), via CDP."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                           {"headers": {"Authorization": f"Basic {token}"}})


def test_the_dashboard_shows_the_worker_and_a_synced_task(synced_flower, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 30)
    # Given the browser sends Flower's credentials
    _with_basic_auth(browser, *synced_flower.auth)
    # When it opens the dashboard, the worker is listed
    browser.get(f"{synced_flower.url}/")
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), "w1@"))
    # And on the tasks page a synced task shows by its event label, state SUCCESS
    browser.get(f"{synced_flower.url}/tasks")
    wait.until(ec.text_to_be_present_in_element((By.ID, "tasks-table"), "evt=s-004"))
    table = browser.find_element(By.ID, "tasks-table").text
    assert "call.ended call:8c1e5d02… evt=s-004" in table
    assert "SUCCESS" in table
    assert "toky_ghl.apply_event" in table
    screenshot = tmp_path / "flower.png"
    assert browser.save_screenshot(str(screenshot))
    target = os.environ.get("TOKY_GHL_SCREENSHOT")
    if target:
        shutil.copyfile(screenshot, REPO / target)


def test_without_credentials_the_browser_gets_401(synced_flower, browser):
    from selenium.webdriver.common.by import By

    # Given no credentials, When the browser opens the tasks page
    browser.get(f"{synced_flower.url}/tasks")
    # Then it shows nothing of Flower (headless Chromium answers the challenge with a blank page)
    assert "evt=" not in browser.find_element(By.TAG_NAME, "body").text
    assert "tasks-table" not in browser.page_source

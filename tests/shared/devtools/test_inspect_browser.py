"""The inspector page in a real browser: Debian's headless Chromium driven by Selenium through
Debian's chromedriver (nothing is downloaded), against a real `runrun serve` with two worker
processes, fed by the real `runrun send`.

Where Chromium or Selenium is missing every test here is skipped with one loud reason
(`./dev test` installs both where it can). With INSPECTOR_SCREENSHOT=<file.png> set, the
page is also saved there once the scenario has run (how docs/inspector.png is made).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.runrun_scenarios.corpus import ROOT
from tests.support.runrun_scenarios.processes import Server, base_env, runrun

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_SECONDS = 30  # bounded: every wait below gives up after this
SECRETS = {
    "GITHUB_WEBHOOK_SECRET": "browser-github",
    "STRIPE_WEBHOOK_SECRET": "whsec_browserstripe",
    "SLACK_SIGNING_SECRET": "browser-slack",
}
# The targets of main.py, plus a processor that fails while a marker file exists.
FLAKY_MAIN = """
import os
from pathlib import Path

from main import *  # noqa: F403
from main import runrun_hooks  # the bundle's hooks: the star leaves them out
from functions.processors import registry


# Undecorated and not named as a target: left alone, as Cloud Functions would leave it.
@registry.register(source="github_webhook", event_type="issues", name="flaky")
def flaky(delivery, runtime):
    if Path(os.environ["INSPECT_FAIL_MARK"]).exists():
        raise RuntimeError("flaky is down")
"""


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed (pip install -r requirements-dev.txt)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return None


MISSING = _missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"BROWSER TESTS SKIPPED: {MISSING}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    folder = tmp_path_factory.mktemp("inspect-browser")
    source = folder / "flaky_main.py"
    source.write_text(FLAKY_MAIN)
    mark = folder / "fail"
    env = base_env(
        folder / "state",
        PYTHONPATH=str(ROOT),
        INSPECT_FAIL_MARK=str(mark),
        RUNRUN_QUEUE_MAX_ATTEMPTS="2",
        **SECRETS,
    )
    server = runrun("inspect-server", source, env, folder, "--workers", "2", "--dev")
    try:
        server.wait_ready("/_runrun/health")
        yield server, mark
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def send(server: Server, *args: str) -> str:
    """`python -m runrun send` as a person runs it; its output."""
    url = f"http://127.0.0.1:{server.port}/{args[0]}"
    done = subprocess.run(
        [sys.executable, "-m", "runrun", "send", *args, "--url", url],
        cwd=ROOT,
        env={name: value for name, value in server.env.items() if name != "PORT"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return f"exit {done.returncode}\n{done.stdout}{done.stderr}"


def delivery_id(output: str) -> str:
    found = re.search(r'"delivery_id": "([^"]+)"', output)
    assert found, output
    return found.group(1)


def wait_until(browser: Any, condition: Any, message: str) -> Any:
    """Poll `condition(driver)` until truthy (bounded). The page redraws its tables every
    second, so an element found a moment ago may be gone: that is retried, not a failure."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(
        browser,
        WAIT_SECONDS,
        poll_frequency=0.2,
        ignored_exceptions=(StaleElementReferenceException,),
    )
    return wait.until(condition, message=f"{message} (gave up after {WAIT_SECONDS} s)")


def wait_for_row(browser: Any, selector: str, text: str = "") -> str:
    """The text of the first row matching `selector` that contains `text`, once there is one."""
    from selenium.webdriver.common.by import By

    def found(driver: Any) -> str | bool:
        texts = [r.text for r in driver.find_elements(By.CSS_SELECTOR, selector)]
        return next((t for t in texts if text in t), False)

    return str(wait_until(browser, found, f"no {selector} containing {text!r}"))


def test_a_sent_delivery_appears_on_the_page(served: tuple[Server, Path], browser: Any) -> None:
    server, _ = served
    browser.get(f"http://127.0.0.1:{server.port}/_runrun/inspect")
    output = send(server, "github_webhook", "--event", "push", "--repeat", "2")
    assert output.startswith("exit 0"), output
    pushed = delivery_id(output)

    row = wait_for_row(browser, f'#deliveries tr[data-delivery-id="{pushed}"]', "accepted")
    assert "github_webhook" in row and "push" in row and "200" in row
    wait_for_row(browser, f'#deliveries tr[data-delivery-id="{pushed}"]', "replayed")
    wait_for_row(browser, f'#runs tr[data-delivery-id="{pushed}"]', "store")
    wait_for_row(browser, f'#records tr[data-key="{pushed}"]', "completed")

    refused = send(server, "slack_events", "--bad-signature")
    assert refused.startswith("exit 1"), refused
    rejected = wait_for_row(browser, '#deliveries tr[data-outcome="rejected"]', "slack_events")
    assert "signature does not match" in rejected
    assert "browser-" not in browser.page_source  # no secret, anywhere


def test_a_dead_lettered_delivery_is_replayed_from_the_page(
    served: tuple[Server, Path], browser: Any
) -> None:
    server, mark = served
    browser.get(f"http://127.0.0.1:{server.port}/_runrun/inspect")
    mark.write_text("")
    output = send(server, "github_webhook", "--event", "issues")
    assert output.startswith("exit 0"), output
    issue = delivery_id(output)

    dead = wait_for_row(
        browser, f'#queue tr[data-delivery-id="{issue}"][data-state="dead-lettered"]'
    )
    assert "RuntimeError" in dead
    wait_for_row(browser, f'#runs tr[data-delivery-id="{issue}"][data-outcome="failed"]', "flaky")

    mark.unlink()
    from selenium.webdriver.common.by import By

    button = f'#queue tr[data-delivery-id="{issue}"] button.replay'

    def press(driver: Any) -> bool:
        driver.find_element(By.CSS_SELECTOR, button).click()
        return True

    wait_until(browser, press, "the Replay button could not be pressed")
    wait_for_row(browser, f'#runs tr[data-delivery-id="{issue}"][data-outcome="ran"]', "flaky")
    wait_until(
        browser,
        lambda d: not d.find_elements(By.CSS_SELECTOR, f'#queue tr[data-delivery-id="{issue}"]'),
        "the replayed message never left the queue",
    )

    screenshot = os.environ.get("INSPECTOR_SCREENSHOT")
    if screenshot:
        send(server, "stripe_webhook", "--event", "invoice.paid")
        wait_for_row(browser, "#deliveries tr", "invoice.paid")
        browser.save_screenshot(screenshot)

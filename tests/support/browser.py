"""Browser tests: Playwright for Python driving Debian's Chromium (never a browser download).

``chromium_path()`` is ``SIGNALBOX_CHROMIUM`` or the ``chromium`` on PATH; without one the
browser tests skip, saying how to get it (``apt-get install chromium``; ``.ci/run`` installs
it). ``sign_in(browser, url, token)`` opens a fresh context (its own cookies), signs in at
/login and returns the page on the board. ``accessibility_problems(page)`` runs axe-core
(bundled by axe-playwright-python) in the page and returns its serious and critical
violations, as readable lines.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.sync_api import Browser, Page

__all__ = ["DOCS", "accessibility_problems", "chromium_path", "screenshot", "sign_in"]

DOCS = Path(__file__).resolve().parents[2] / "docs"
NO_CHROMIUM = (
    "no Chromium: the browser tests drive Debian's Chromium (apt-get install chromium, as "
    ".ci/run does) or the one SIGNALBOX_CHROMIUM names"
)


def chromium_path() -> str | None:
    named = os.environ.get("SIGNALBOX_CHROMIUM")
    if named:
        return named if Path(named).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def sign_in(browser: Browser, url: str, token: str, *, path: str = "/") -> Page:
    """A new browser context signed in with ``token``, its page at ``path``."""
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"/login?next={path}")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}{path}")
    return page


def accessibility_problems(page: Page) -> list[str]:
    """axe-core's serious and critical violations on ``page`` (none: an empty list)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for violation in results.response.get("violations", []):
        if violation.get("impact") in ("serious", "critical"):
            targets = [", ".join(node.get("target", [])) for node in violation.get("nodes", [])]
            found.append(
                f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}"
            )
    return found


def screenshot(page: Page, name: str, folder: Path) -> Path:
    """A PNG of what ``page`` shows, ``NAME.png`` in ``folder``; in docs/ instead (for the
    README) when SIGNALBOX_SCREENSHOTS=docs, as `make screenshots` sets it. Returns it."""
    target = (DOCS if os.environ.get("SIGNALBOX_SCREENSHOTS") == "docs" else folder) / f"{name}.png"
    page.screenshot(path=str(target), full_page=False)
    assert target.stat().st_size > 0
    return target

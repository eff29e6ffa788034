"""The phone-sized Chromium of the browser tests, which fails a test on any Content-Security-Policy
violation: every later page is held to the policy (docs/security.md).

Chromium reports a violation as a console error ("Refused to ... because it violates the following
Content Security Policy directive"), and each document fires `securitypolicyviolation`, which an init
script (injected by the browser, so not itself subject to the policy) turns into a console error too.
Whatever the context's pages logged so is collected; the fixture's teardown fails the test on any."""

from __future__ import annotations

import contextlib
import os

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        # This machine's network is closed: keep Chromium from calling home at start.
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at "
                + e.sourceFile + ":" + e.lineNumber + " on " + document.location.pathname);
});
"""


def is_violation(text: str) -> bool:
    return "Content Security Policy" in text or text.startswith("CSP violation:")


@contextlib.contextmanager
def phone_context(monkeypatch):
    """A browser context of a phone-sized screen; raises AssertionError at its end if any of its pages
    violated the Content-Security-Policy."""
    assert os.access(CHROMIUM, os.X_OK), "Debian's chromium is missing at /usr/bin/chromium (scripts/test installs it)"
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    violations: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("console", lambda message: violations.append(message.text) if is_violation(message.text) else None)
        try:
            yield context
        finally:
            context.close()
            browser.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)

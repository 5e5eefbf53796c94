"""The Content-Security-Policy holds in Chromium, and the browser tests would see a violation.

Every browser test fails on a violation Chromium reports (tests/e2e/conftest.py); this proves
that net catches one, by putting inline code into a portal page the way an injection would.
"""

from playwright.sync_api import Page, expect


def test_inline_script_and_style_are_refused_and_reported(page: Page, csp_violations):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.evaluate(
        """() => {
          const box = document.createElement("div");
          box.innerHTML = '<img src="/static/img/isseg-logo.svg" onload="window.ran = true">'
            + '<p style="color: rgb(255, 0, 0)" id="styled">x</p>';
          document.body.append(box);
          const script = document.createElement("script");
          script.textContent = "window.inlineRan = true";
          document.body.append(script);
        }"""
    )
    expect(page.locator("#styled")).to_be_attached()
    page.wait_for_timeout(500)
    assert page.evaluate("window.ran === undefined && window.inlineRan === undefined")
    color = page.evaluate("getComputedStyle(document.getElementById('styled')).color")
    assert color != "rgb(255, 0, 0)"
    refused = "\n".join(csp_violations)
    assert "script-src" in refused
    assert "style-src" in refused
    csp_violations.clear()  # seen and expected here; any other test fails on one

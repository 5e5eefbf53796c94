"""Accessibility checks with axe-core, run inside the page the browser shows.

axe-core comes from npm (a devDependency in package.json, installed by `make setup` with `npm
ci`), never from a CDN: the tests reach only the portal's own localhost. It is injected into
the page as it is, with every rule axe enables by default (WCAG 2.x A and AA, and its best
practices); a violation of impact "serious" or "critical" fails the test, the rest is reported
by axe but tolerated.
"""

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.conf import settings
from playwright.sync_api import Page

AXE_SCRIPT = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = frozenset({"serious", "critical"})

# axe reports an id that two elements share, when ARIA or a <label> refers to it, as "needs
# review" rather than as a violation: it cannot know which of the two the page meant. The portal
# never means both (the label or the name goes to the wrong element, or to none), so here it is
# a violation, with the impact axe gives the rule.
REVIEW_AS_VIOLATION = ["duplicate-id-aria"]

# Only what a failure message needs travels back from the page: a long page's full result
# (passes, inapplicable, every node's HTML) would cost more than the check itself.
_RUN = """
async (reviewAsViolation) => {
  const results = await axe.run(document, {resultTypes: ["violations", "incomplete"]});
  const reviewed = results.incomplete.filter((item) => reviewAsViolation.includes(item.id));
  return results.violations.concat(reviewed).map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    helpUrl: violation.helpUrl,
    nodes: violation.nodes.map((node) => ({
      target: node.target.map((part) => JSON.stringify(part)).join(" "),
      summary: node.failureSummary || node.any.map((check) => check.message).join(" "),
    })),
  }));
}
"""


@cache
def _axe_source() -> str:
    return AXE_SCRIPT.read_text(encoding="utf-8")


def violations(page: Page) -> list[dict]:
    """Every axe violation on the page as it is now, whatever its impact."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the page's Content-Security-Policy does
        # not govern (an injected <script> element would be refused as inline), so the browser
        # tests keep the policy on and see every violation the pages themselves cause.
        page.evaluate(_axe_source())
    return page.evaluate(_RUN, REVIEW_AS_VIOLATION)


def blocking(found: list[dict]) -> list[dict]:
    return [violation for violation in found if violation["impact"] in BLOCKING_IMPACTS]


def describe(found: list[dict]) -> str:
    """One violation per paragraph: impact, rule, what it asks, and each element with why."""
    lines = []
    for violation in found:
        lines.append(
            f"[{violation['impact']}] {violation['id']}: {violation['help']} "
            f"({violation['helpUrl']})"
        )
        for node in violation["nodes"]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


def assert_accessible(page: Page, *, where: str = "") -> None:
    """Fail when axe finds a serious or critical violation on the page."""
    found = blocking(violations(page))
    assert not found, f"axe-core on {where or page.url}:\n{describe(found)}"


@dataclass
class AccessibilityAudit:
    """The axe findings of many pages, to report them all at once at the end of a journey.

    A journey test keeps going after a page with a problem, so that one run lists every page's
    problems (and takes every screenshot) instead of stopping at the first.
    """

    # Where (the journey's name for the page) -> (its URL, its blocking violations).
    findings: dict[str, tuple[str, list[dict]]] = field(default_factory=dict)
    # Every violation of every page, whatever its impact, for the report kept as an artefact.
    everything: dict[str, dict] = field(default_factory=dict)
    pages_checked: int = 0

    def check(self, page: Page, where: str) -> None:
        self.pages_checked += 1
        found = violations(page)
        self.everything[where] = {"url": page.url, "violations": found}
        if blocking(found):
            self.findings[where] = (page.url, blocking(found))

    def write_report(self, path: Path) -> None:
        path.write_text(json.dumps(self.everything, ensure_ascii=False, indent=2))

    def assert_clean(self) -> None:
        report = "\n\n".join(
            f"{where} ({url}):\n{describe(found)}" for where, (url, found) in self.findings.items()
        )
        assert not self.findings, (
            f"axe-core found serious or critical problems on {len(self.findings)} of "
            f"{self.pages_checked} pages:\n\n{report}"
        )

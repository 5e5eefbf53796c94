"""The apps depend on each other one way only:

    demo -> (dashboard, operations) -> surveys -> loans -> (signatures, affiliates) -> isseg_portal

A module of the product may import its own app and the apps below it, never one above it nor
a sibling (the apps in parentheses know nothing of each other). Tests and benchmarks may import
anything. Every `import` counts, at the top of a module or inside a function.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Each app's layer: an app imports only apps of a lower layer, and itself.
LAYERS = {
    "isseg_portal": 0,
    "signatures": 1,
    "affiliates": 1,
    "loans": 2,
    "surveys": 3,
    "dashboard": 4,
    "operations": 4,
    "demo": 5,
}


def imported_apps(source: str) -> list[tuple[int, str]]:
    """(line, app) of every import of one of the portal's apps in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            app = name.split(".")[0]
            if app in LAYERS:
                found.append((node.lineno, app))
    return found


def violations(root: Path) -> list[str]:
    """Every import against the order in the apps under `root`, as "path:line: a -> b"."""
    found = []
    for app, layer in LAYERS.items():
        for path in sorted((root / app).rglob("*.py")):
            for line, imported in imported_apps(path.read_text()):
                if imported != app and LAYERS[imported] >= layer:
                    found.append(f"{path.relative_to(root)}:{line}: {app} -> {imported}")
    return found


def test_every_app_imports_only_the_apps_below_it():
    assert violations(ROOT) == []


@pytest.mark.parametrize(
    ("app", "line"),
    [
        ("isseg_portal", "from loans.models import LoanApplication"),
        ("signatures", "import loans.signing"),
        ("affiliates", "from signatures.models import SignedDocument"),  # a sibling
        ("loans", "    from surveys import receivers"),  # inside a function
        ("surveys", "from dashboard.reporting import tally_refresh_stale"),
        ("operations", "from dashboard import reporting"),  # a sibling
        ("dashboard", "from demo.products import seed_products"),
    ],
)
def test_an_import_against_the_order_is_found(tmp_path, app, line):
    for name in LAYERS:
        (tmp_path / name).mkdir()
    module = tmp_path / app / "module.py"
    body = f"def later():\n{line}\n" if line.startswith(" ") else f"{line}\n"
    module.write_text(body)
    assert violations(tmp_path) == [
        f"{app}/module.py:{2 if line.startswith(' ') else 1}: "
        f"{app} -> {line.split()[1].split('.')[0]}"
    ]


def test_imports_of_the_app_itself_and_below_are_allowed(tmp_path):
    for name in LAYERS:
        (tmp_path / name).mkdir()
    (tmp_path / "surveys" / "module.py").write_text(
        "from surveys.models import Survey\nfrom loans.models import LoanApplication\n"
        "import isseg_portal.background\nfrom django.db import models\n"
    )
    assert violations(tmp_path) == []

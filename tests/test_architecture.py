"""The apps depend on each other one way only:

    demo -> (dashboard, operations) -> surveys -> loans -> (signatures, affiliates) -> isseg_portal

A module of the product may import its own app and the apps below it, never one above it nor
a sibling (the apps in parentheses know nothing of each other). Tests and benchmarks may import
any app. Every `import` counts, at the top of a module or inside a function.

The tests depend on each other one way only too: a module under tests/ never imports a test
module (test_*.py) nor a conftest.py, which pytest loads itself. What tests share lives in
modules named after what they hold (tests/builders.py, tests/pages.py, ...) and in conftest.py
fixtures.
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


# --- The tests ---------------------------------------------------------------------------------


def _pytest_loads(module: str) -> bool:
    """A test module or a conftest: pytest imports it, nobody else should."""
    name = module.rsplit(".", 1)[-1]
    return name.startswith("test_") or name == "conftest"


def _absolute(path: Path, root: Path, node: ast.ImportFrom) -> str:
    """The module an import names, relative ones (`from .x import y`) made absolute."""
    if node.level == 0:
        return node.module or ""
    package = list(path.relative_to(root).parent.parts)
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of_test_modules(root: Path) -> list[str]:
    """Every import of a test module or a conftest by a module under `root`/tests, as
    "path:line: module"."""
    found = []
    for path in sorted((root / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = _absolute(path, root, node)
                if module.split(".")[0] != "tests":
                    continue
                # `from tests.loans import test_wizard` names the module in the imported names.
                modules = [module, *(f"{module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for module in modules:
                if module.split(".")[0] == "tests" and _pytest_loads(module):
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {module}")
                    break
    return found


def test_no_module_of_the_tests_imports_a_test_module_or_a_conftest():
    assert imports_of_test_modules(ROOT) == []


@pytest.mark.parametrize(
    ("line", "module"),
    [
        ("from tests.loans.test_wizard import draft_for", "tests.loans.test_wizard"),
        ("import tests.test_pages", "tests.test_pages"),
        ("from tests.signatures import test_seal", "tests.signatures.test_seal"),
        ("from tests.e2e.conftest import sign_in", "tests.e2e.conftest"),
        ("    from tests.signatures.test_signing import sign", "tests.signatures.test_signing"),
        ("from .test_documents import post_file", "tests.loans.test_documents"),
        ("from ..test_pages import element", "tests.test_pages"),
    ],
)
def test_an_import_of_a_test_module_is_found(tmp_path, line, module):
    (tmp_path / "tests" / "loans").mkdir(parents=True)
    body = f"def later():\n{line}\n" if line.startswith(" ") else f"{line}\n"
    (tmp_path / "tests" / "loans" / "helpers.py").write_text(body)
    assert imports_of_test_modules(tmp_path) == [
        f"tests/loans/helpers.py:{2 if line.startswith(' ') else 1}: {module}"
    ]


def test_imports_of_the_tests_shared_modules_are_allowed(tmp_path):
    (tmp_path / "tests" / "loans").mkdir(parents=True)
    (tmp_path / "tests" / "loans" / "test_module.py").write_text(
        "from tests.builders import complete_draft_for\nfrom tests import pages\n"
        "from tests.loans.factories import LoanProductFactory\nfrom . import addresses\n"
        "from django.test import Client\nimport pytest\n"
    )
    assert imports_of_test_modules(tmp_path) == []

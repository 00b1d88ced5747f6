"""Dependencies between apps run one way (DESIGN.md, "Layout"): an app imports only the apps
below it in LAYERS, never one above. Every import counts: at the top of a module and inside
a function alike. pipeline_crm/ sits above every app and may import any of them. An app not
in LAYERS sits above all the listed ones; two such apps are in no order, so neither may import
the other until LAYERS places them."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lowest first: each app may import only those before it.
LAYERS = ["users", "accounts", "projects", "pipeline", "forecasting", "reviews", "demo"]


def _rank(app: str) -> int:
    """An app's place in LAYERS; an app not listed sits above every listed one."""
    return LAYERS.index(app) if app in LAYERS else len(LAYERS)


def _app_of(module: str) -> str | None:
    """`apps.pipeline.models` → "pipeline"; None for anything outside apps/."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "apps" else None


def _modules():
    """Every Python module of apps/, not its tests nor its migrations."""
    for path in sorted((ROOT / "apps").rglob("*.py")):
        parts = path.relative_to(ROOT / "apps").parts
        if "tests" in parts or "migrations" in parts:
            continue
        yield path


def _package_of(path: Path) -> str:
    """The dotted package `path` belongs to (for relative imports)."""
    return ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])


def _imported(path: Path):
    """(line, module imported, how it was written) for every import of an `apps.` module in
    `path`, wherever it stands; `from apps import x` imports `apps.x`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ast.unparse(node)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: resolve against the module's package
                package = _package_of(path).split(".")
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            if module == "apps":
                for alias in node.names:
                    yield node.lineno, f"apps.{alias.name}", ast.unparse(node)
            else:
                yield node.lineno, module, ast.unparse(node)


def imports_against_the_flow() -> list[str]:
    """Each import of an app that is not below the importing app: "file:line: import"."""
    found = []
    for path in _modules():
        importer = path.relative_to(ROOT / "apps").parts[0]
        for line, module, written in _imported(path):
            imported = _app_of(module)
            if imported is None or imported == importer:
                continue
            if _rank(imported) >= _rank(importer):
                where = path.relative_to(ROOT)
                found.append(f"{where}:{line}: {importer} imports {imported}: {written}")
    return found


def test_apps_import_only_the_apps_below_them():
    offending = imports_against_the_flow()
    assert not offending, (
        f"Imports against the flow {' < '.join(LAYERS)} (DESIGN.md, Layout):\n"
        + "\n".join(offending)
    )


@pytest.mark.parametrize(
    ("app", "source", "expected"),
    [
        ("projects", "from apps.pipeline.models import Stage\n", ["projects imports pipeline"]),
        (
            "projects",
            "def f():\n    from apps.reviews import models\n",
            ["projects imports reviews"],
        ),
        ("projects", "import apps.forecasting.kept\n", ["projects imports forecasting"]),
        ("projects", "from apps import pipeline\n", ["projects imports pipeline"]),
        ("projects", "from ..pipeline.models import Stage\n", ["projects imports pipeline"]),
        ("projects", "from . import selectors\n", []),
        ("projects", "from apps.accounts.models import Account\n", []),
        ("projects", "from pipeline_crm.errors import DomainError\n", []),
        ("users", "from apps.accounts.models import Account\n", ["users imports accounts"]),
        ("demo", "from apps.reviews.models import ReviewMeeting\n", []),
        # An app not in LAYERS sits above every listed one.
        ("activities", "from apps.demo import people\n", []),
        ("reviews", "from apps.activities import models\n", ["reviews imports activities"]),
    ],
)
def test_the_check_sees_every_kind_of_import(tmp_path, monkeypatch, app, source, expected):
    """The walker finds imports at the top and inside functions, written any way, and skips
    the tests."""
    package = tmp_path / "apps" / app
    (package / "tests").mkdir(parents=True)
    (package / "views.py").write_text(source)
    (package / "tests" / "test_anything.py").write_text("from apps.zzz import models\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    found = imports_against_the_flow()
    assert [line.split(": ", 1)[1].split(":")[0] for line in found] == expected

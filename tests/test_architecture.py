"""The shape of the package, checked on its source: imports run one way, and one composition
root builds the services (``ErrorAnalyticsService.from_settings`` and the service's ``review``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import error_analytics

PACKAGE = Path(error_analytics.__file__).parent


def modules(folder: Path = PACKAGE) -> dict[str, ast.Module]:
    return {
        str(path.relative_to(PACKAGE)): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(folder.rglob("*.py"))
    }


def imported_modules(relative: str, tree: ast.Module) -> set[str]:
    """Every module ``relative`` imports (also under ``TYPE_CHECKING`` and in functions), as
    dotted names inside the package."""
    package = ["error_analytics", *Path(relative).with_suffix("").parts]
    package = package[:-1]  # the module's own package
    if relative.endswith("__init__.py"):
        package = ["error_analytics", *Path(relative).parent.parts]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def calls_of(tree: ast.Module, name: str) -> int:
    return sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == name)
            or (isinstance(node.func, ast.Attribute) and node.func.attr == name)
        )
    )


def test_the_import_helper_sees_relative_and_deferred_imports():
    tree = ast.parse(
        "from ..service import X\n"
        "def f():\n    from .identity import fingerprint_of\n"
        "if True:\n    import error_analytics.api\n"
    )
    found = imported_modules("review/refresh.py", tree)
    assert {"error_analytics.service", "error_analytics.review.identity"} <= found
    assert "error_analytics.api" in found


def test_lower_layers_never_import_the_service_or_the_edges():
    edges = ("error_analytics.service", "error_analytics.api", "error_analytics.cli")
    for relative, tree in modules().items():
        top = relative.split("/")[0]
        if top in {"service.py", "api", "cli", "__init__.py", "__main__.py", "documents.py"}:
            continue
        wrong = {name for name in imported_modules(relative, tree) if name.startswith(edges)}
        assert not wrong, f"{relative} imports {sorted(wrong)}"


def test_the_api_never_imports_the_cli():
    for relative, tree in modules(PACKAGE / "api").items():
        wrong = {
            name
            for name in imported_modules(f"api/{relative}", tree)
            if name.startswith("error_analytics.cli")
        }
        assert not wrong, f"api/{relative} imports {sorted(wrong)}"


def test_one_place_builds_the_review_service_and_opens_the_state():
    builders = {
        relative: calls_of(tree, "ClusterReviewService") for relative, tree in modules().items()
    }
    assert {relative: count for relative, count in builders.items() if count} == {"service.py": 1}
    state_openers = {
        relative: calls_of(tree, "open_state_engine")
        for relative, tree in modules().items()
        if not relative.startswith("store/")
    }
    assert {relative: count for relative, count in state_openers.items() if count} == {
        "service.py": 1
    }

"""Does every import of the installed package work with only its declared dependencies?

Run by ``scripts/wheel-check`` with the Python of a fresh venv that holds the wheel alone
(no extras), from a folder outside the checkout. Two passes:

1. every ``broadcaster.*`` module is imported (``pkgutil.walk_packages``; ``__main__`` runs
   the CLI, so it is left out);
2. every module any of them imports *anywhere* -- inside functions too, where the heavy
   ones are deferred (google-auth's transport, Pillow, oauthlib) -- is imported as well,
   except those under ``if TYPE_CHECKING:``. This pass is what finds a dependency that only
   a later code path needs: google-auth's urllib3 transport needing ``packaging``.

A module of an optional extra (``OPTIONAL``) must fail with ImportError here: if it imports,
the venv is not the bare one this check is about. Its missing-extra message is checked by
running ``broadcast`` (a config error naming the ``pip install`` line, exit 2).
Exit status 0, or 1 listing every import that failed.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path

import broadcaster

#: top-level module -> the extra that brings it
OPTIONAL = {
    "apprise": "apprise",
    "psycopg": "postgres",
    "starlette": "serve",
    "uvicorn": "serve",
    "multipart": "serve",
    "python_multipart": "serve",
}
#: our own modules that need an extra (``broadcast serve`` checks for it and says so first)
EXTRA_PACKAGES = {"broadcaster.serve.": "serve"}
#: modules Alembic runs inside its own context, never imported on their own
RUN_BY_ALEMBIC = {"broadcaster.ledger.migrations.env"}


def extra_of(name: str) -> str | None:
    """The extra that ``name`` (a module or a name in one) needs, if any."""
    if name.split(".")[0] in OPTIONAL:
        return OPTIONAL[name.split(".")[0]]
    light = ("broadcaster.serve", "broadcaster.serve.run")
    if name in light:
        return None
    return next(
        (extra for prefix, extra in EXTRA_PACKAGES.items() if name.startswith(prefix)), None
    )


def package_modules() -> list[str]:
    found = pkgutil.walk_packages(broadcaster.__path__, "broadcaster.")
    return sorted(m.name for m in found if not m.name.endswith(".__main__"))


def imported_by(module: str) -> set[str]:
    """Every absolute module name ``module``'s source imports, at any depth, outside
    ``if TYPE_CHECKING:`` blocks."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    names: set[str] = set()
    package = module if spec.submodule_search_locations else module.rpartition(".")[0]
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except the bodies of ``if TYPE_CHECKING:``."""
    result: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        result.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return result


def try_import(name: str) -> str | None:
    """None if ``name`` imports (as a module, or as a name in its parent module)."""
    try:
        importlib.import_module(name)
        return None
    except ModuleNotFoundError as exc:
        parent, _, attr = name.rpartition(".")
        if parent and exc.name == name:  # `from x import y` where y is a name, not a module
            try:
                if hasattr(importlib.import_module(parent), attr):
                    return None
            except Exception as inner:
                return f"{type(inner).__name__}: {inner}"
        return f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def main() -> int:
    modules = [m for m in package_modules() if m not in RUN_BY_ALEMBIC]
    failures: list[str] = []
    optional = 0
    for name in modules + sorted({n for m in modules for n in imported_by(m)} - set(modules)):
        problem = try_import(name)
        extra = extra_of(name)
        if extra is None:
            if problem is not None:
                failures.append(f"{name}: {problem}")
            continue
        optional += 1
        if problem is None and name.split(".")[0] in OPTIONAL:
            failures.append(f"{name}: imports, but extra [{extra}] is not installed")
        elif problem is not None and not problem.startswith("ModuleNotFoundError"):
            failures.append(f"{name} (extra [{extra}]): {problem}")
    wanted = {n for m in modules for n in imported_by(m)} - set(modules)
    for line in failures:
        print(f"IMPORT FAILED {line}", file=sys.stderr)
    print(
        f"imports: {len(modules)} broadcaster modules and the {len(wanted)} modules they "
        f"import ({optional} of optional extras, absent as they should be): "
        f"{len(failures)} failed"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""The layers stay one-way (docs/decisions/0005-typed-boundary.md), read from the imports.

endpoints -> service -> repository inside a domain; a domain reaches another only through its
service; `kit` imports no domain; SQL lives in repositories; transactions end only in
`kit.db.UnitOfWork`.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "openbooking"
EDGE = {"app", "cli", "deps", "auth", "__main__"}  # may import any domain's endpoints/service
NOT_DOMAINS = {"kit", "models", "migrations", "config", *EDGE}
SQL_NAMES = {"select", "update", "delete", "insert", "text", "union_all", "func", "bindparam"}
# Where SQL may be written: repositories, the busy-time sources they read, the engine, tables.
SQL_HOMES = ("repository.py", "availability/busy.py", "kit/db.py", "models/", "migrations/")


@cache
def modules() -> dict[str, ast.Module]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = ast.parse(path.read_text("utf-8"))
    return found


def imports(tree: ast.Module) -> set[str]:
    """Every `openbooking...` module a module imports (type-checking imports included)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in names if name.startswith("openbooking")}


def top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def role(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def test_kit_imports_no_domain() -> None:
    wrong = {
        (module, imported)
        for module, tree in modules().items()
        if top(module) == "kit"
        for imported in imports(tree)
        if top(imported) not in {"kit", "config", ""}
    }
    assert not wrong, sorted(wrong)


def test_only_the_app_mounts_endpoints() -> None:
    wrong = {
        (module, imported)
        for module, tree in modules().items()
        for imported in imports(tree)
        if role(imported) == "endpoints"
        and top(imported) != top(module)
        and module != "openbooking.app"
    }
    assert not wrong, sorted(wrong)


def test_repositories_are_private_to_their_domain() -> None:
    wrong = {
        (module, imported)
        for module, tree in modules().items()
        for imported in imports(tree)
        if role(imported) == "repository" and top(imported) != top(module)
    }
    assert not wrong, sorted(wrong)


def test_rules_never_import_the_request_edge() -> None:
    wrong = {
        (module, imported)
        for module, tree in modules().items()
        if role(module) in {"service", "repository", "schemas", "render"}
        for imported in imports(tree)
        if role(imported) == "endpoints" or top(imported) in EDGE
    }
    assert not wrong, sorted(wrong)


def test_sql_lives_in_repositories() -> None:
    writers = set()
    for module, tree in modules().items():
        path = module.removeprefix("openbooking.").replace(".", "/") + ".py"
        if path.endswith(SQL_HOMES) or any(
            home in path for home in SQL_HOMES if home.endswith("/")
        ):
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("sqlalchemy")
                and SQL_NAMES & {alias.name for alias in node.names}
            ):
                writers.add(module)
    assert not writers, sorted(writers)


def test_transactions_end_only_in_the_unit_of_work() -> None:
    """No endpoint, service or repository calls commit() or rollback()."""
    calls = {
        module
        for module, tree in modules().items()
        if module != "openbooking.kit.db" and top(module) not in {"migrations"}
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in {"commit", "rollback"}
    }
    assert not calls, sorted(calls)


def test_domains_form_no_cycle() -> None:
    """Outside the request edge (endpoints, auth, deps, app, cli), domains import each other in
    one direction only."""
    edges: dict[str, set[str]] = {}
    for module, tree in modules().items():
        source = top(module)
        if source in NOT_DOMAINS or role(module) in {"endpoints", "cli"}:
            continue
        for imported in imports(tree):
            target = top(imported)
            if target != source and target not in NOT_DOMAINS and target:
                edges.setdefault(source, set()).add(target)

    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(
            nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt}))
            for nxt in edges.get(start, ())
        )

    cycles = sorted(domain for domain in edges if reaches(domain, domain))
    assert not cycles, f"domains in an import cycle: {cycles}; edges: {edges}"


def test_the_checks_see_the_code() -> None:
    """A guard against a walk that finds nothing (and so passes everything)."""
    found = modules()
    assert "openbooking.bookings.service" in found
    assert "openbooking.bookings.repository" in imports(found["openbooking.bookings.service"])

"""Every raise and warning in spacy_mtl/ uses a coded message from errors.py, each code is
defined once and used, and a code reads as spaCy's do."""

import ast
from pathlib import Path
from typing import Iterator, List, Set, Tuple

import pytest

import spacy_mtl
from spacy_mtl.errors import Errors, Warnings

PACKAGE = Path(spacy_mtl.__file__).parent
ERRORS = PACKAGE / "errors.py"


def package_files() -> List[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if path != ERRORS)


def coded(node: ast.AST, owner: str) -> bool:
    """`owner.E001` or `owner.E001.format(...)` (owner "Errors" or "Warnings")."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "format":
            node = node.func.value
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == owner
    )


def raises(tree: ast.AST) -> Iterator[Tuple[int, ast.Raise]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            yield node.lineno, node


def returns_coded(function: ast.FunctionDef) -> bool:
    """Whether every value `function` returns is a coded message."""
    returned = [node.value for node in ast.walk(function) if isinstance(node, ast.Return)]
    return bool(returned) and all(
        value is not None and coded(value, "Errors") for value in returned
    )


def passes_on(node: ast.AST) -> bool:
    """Whether an expression holds `str(name)`: another exception's (coded) message."""
    return any(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Name)
        and n.func.id == "str"
        and len(n.args) == 1
        and isinstance(n.args[0], ast.Name)
        for n in ast.walk(node)
    )


def uncoded_raises(path: Path) -> List[str]:
    """`raise SomeError(message)` whose message is not a code. Fine: a bare `raise`,
    `raise error` (a caught exception passed on), a message held in a variable or
    attribute (checked where it is made), an exception built without arguments
    or from another one (`SomeError(error)`, `SomeError(str(error))`), a message from a
    helper of the same module that returns coded messages only, and the AttributeError
    of a module's `__getattr__` (Python's own protocol)."""
    tree = ast.parse(path.read_text(), str(path))
    helpers = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    protocol = {
        id(raised)
        for function in helpers.values()
        if function.name == "__getattr__"
        for raised in ast.walk(function)
        if isinstance(raised, ast.Raise)
    }
    found = []
    for line, node in raises(tree):
        exc = node.exc
        if not isinstance(exc, ast.Call) or not exc.args or id(node) in protocol:
            continue
        first = exc.args[0]
        if (
            coded(first, "Errors")
            or isinstance(first, (ast.Name, ast.Attribute))
            or passes_on(first)
        ):
            continue
        if isinstance(first, ast.Call):
            func = first.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in helpers and returns_coded(helpers[name]):
                continue
        found.append(f"{path.relative_to(PACKAGE.parent)}:{line}")
    return found


def uncoded_warnings(path: Path) -> List[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "warn"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "warnings"
            and not (node.args and coded(node.args[0], "Warnings"))
        ):
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def defined_codes() -> List[str]:
    names = []
    for node in ast.parse(ERRORS.read_text()).body:
        if isinstance(node, ast.ClassDef) and node.name in ("Errors", "Warnings"):
            for item in node.body:
                if isinstance(item, ast.Assign):
                    names.extend(t.id for t in item.targets if isinstance(t, ast.Name))
    return names


def used_codes() -> Set[str]:
    used = set()
    for path in package_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if coded(node, "Errors") or coded(node, "Warnings"):
                attribute = node.func.value if isinstance(node, ast.Call) else node
                used.add(attribute.attr)  # type: ignore[union-attr]
    return used


def test_every_raise_in_the_package_uses_a_code():
    assert [where for path in package_files() for where in uncoded_raises(path)] == []


def test_every_warning_in_the_package_uses_a_code():
    assert [where for path in package_files() for where in uncoded_warnings(path)] == []


def test_each_code_is_defined_once_and_used():
    names = defined_codes()
    assert sorted(name for name in set(names) if names.count(name) > 1) == []
    assert all(name[0] == "E" for name in names if hasattr(Errors, name) and name.startswith("E"))
    assert sorted(set(names) - used_codes()) == []


@pytest.mark.parametrize("owner,code", [(Errors, "E001"), (Warnings, "W001")])
def test_a_code_reads_as_spacys_do(owner, code):
    assert getattr(owner, code).startswith(f"(spacy-mtl) [{code}] ")

"""The entry points in pyproject.toml are exactly the names the package registers.

spaCy finds factories, architectures, readers, loggers, schedules and weightings by
entry point; a name registered in code but missing from pyproject.toml works in the
tests (which import the module) and fails for a user's `spacy train`, and an entry
point whose target moved fails on first use.
"""

import importlib
import pkgutil
import sys

import catalogue

import spacy_mtl

from helpers import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Entry-point group -> the catalogue namespace its names are registered in.
GROUPS = {
    # Language.factory registers a factory in the internal namespace; spaCy finds
    # an uninstalled one through the spacy_factories entry points.
    "spacy_factories": ("spacy", "internal_factories"),
    "spacy_architectures": ("spacy", "architectures"),
    "spacy_readers": ("spacy", "readers"),
    "spacy_loggers": ("spacy", "loggers"),
    "spacy_scorers": ("spacy", "scorers"),
    "thinc_schedules": ("thinc", "schedules"),
    "thinc_mtl_weightings": ("thinc", "mtl_weightings"),
    "thinc_mtl_tasks": ("thinc", "mtl_tasks"),
}


def entry_points():
    with (REPO / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["project"]["entry-points"]


def registered_by_the_package():
    """(group, name) -> "module:attribute" of everything spacy_mtl's modules register."""
    for module in pkgutil.walk_packages(spacy_mtl.__path__, "spacy_mtl."):
        importlib.import_module(module.name)
    namespaces = {namespace: group for group, namespace in GROUPS.items()}
    found = {}
    for key, func in catalogue.REGISTRY.items():
        group = namespaces.get(key[:2])
        module = getattr(func, "__module__", "") or ""
        if group is not None and module.startswith("spacy_mtl."):
            found[(group, key[2])] = f"{module}:{func.__name__}"
    return found


def test_entry_points_name_exactly_what_the_package_registers():
    declared = {
        (group, name): target
        for group, names in entry_points().items()
        if group in GROUPS
        for name, target in names.items()
    }
    assert declared == registered_by_the_package()


def test_every_entry_point_target_imports():
    for group, names in entry_points().items():
        for name, target in names.items():
            module, _, attribute = target.partition(":")
            assert hasattr(importlib.import_module(module), attribute), (group, name, target)

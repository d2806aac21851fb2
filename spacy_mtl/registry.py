"""The registry this package adds to spaCy's.

`mtl_weightings` holds the multi-task weighting strategies. A config picks one with
``@mtl_weightings = "spacy_mtl.static.v1"``. Every other name this package registers
is listed in the entry points of ``pyproject.toml``.
"""

from typing import TYPE_CHECKING, Callable, Dict, Type, TypeVar

from catalogue import Registry
from spacy.util import registry

if TYPE_CHECKING:
    from .weighting.base import Weighting

if not hasattr(registry, "mtl_weightings"):
    registry.create("mtl_weightings", entry_points=True)

#: The strategies, by registered name. thinc's `registry.create` adds the registry to
#: spaCy's `registry` class at run time, where a type checker cannot see it.
mtl_weightings: Registry = getattr(registry, "mtl_weightings")  # noqa: B009

W = TypeVar("W", bound="Type[Weighting]")


def register_weighting(name: str) -> Callable[[W], W]:
    """Register a `Weighting` subclass in `mtl_weightings` under `name`.

    The class itself is the registered function: a config's settings are the
    arguments of its `__init__`, and the class takes `name` as its own name (for
    messages and traces). User strategies register the same way:
    ``@spacy_mtl.register_weighting("my_weighting.v1")``.

    name (str): the registered name, e.g. "spacy_mtl.static.v1".
    RETURNS (Callable): the class decorator.
    """

    def register(cls: W) -> W:
        cls.name = name
        mtl_weightings.register(name, func=cls)
        return cls

    return register


def registered_weightings(prefix: str = "spacy_mtl.") -> Dict[str, str]:
    """The registered strategies whose names start with `prefix` (installed packages'
    entry points included), sorted by name, by their short name.

    prefix (str): the names' common start.
    RETURNS (Dict[str, str]): e.g. {"dwa": "spacy_mtl.dwa.v1", "famo": "spacy_mtl.famo.v1", ...}.
    """
    names = sorted(name for name in mtl_weightings.get_all() if name.startswith(prefix))
    return {name[len(prefix) :].rsplit(".", 1)[0]: name for name in names}

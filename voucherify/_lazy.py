"""Lazy attribute exports (PEP 562) so that importing a package loads none of its modules.

A package declares what it exports once, as one mapping of module to names passed to
:func:`lazy_exports`, which derives the package's ``__all__``, ``__getattr__`` and
``__dir__`` from it. Static checkers cannot run that mapping, so the package also imports
the same names under ``if TYPE_CHECKING:`` in the explicit re-export form
``from module import Name as Name`` (what ``mypy --strict`` and pyright accept as exported);
``test/test_imports.py`` checks that those imports and the mapping agree exactly.
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any, Callable, Mapping, Sequence

EVERY_NAME = ("*",)
"""In place of a list of names: every name in that module's ``__all__``, as
``from module import *`` would bring (that module is then imported for ``__all__``/``dir``)."""


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Set ``package.__all__`` from ``exports``; return its ``(__getattr__, __dir__)``.

    ``exports`` maps a module to the names the package takes from it. A name whose module is
    ``package.name`` is that submodule itself. A resolved name is stored in the package's
    namespace, so the lookup runs once per name. ``__all__`` is set at once unless a module
    exports :data:`EVERY_NAME`; then it is computed on first use, so import stays light. The
    package binds the pair itself so that static checkers see a module ``__getattr__``, as
    they always have.
    """
    namespace = vars(sys.modules[package])
    table = {name: module for module, names in exports.items() for name in names if name != "*"}
    wholesale = [module for module, names in exports.items() if "*" in names]

    def every_name() -> dict[str, str]:
        full = dict(table)
        for module in wholesale:
            full.update(dict.fromkeys(importlib.import_module(module).__all__, module))
        return full

    def getattr_(name: str) -> Any:
        if name == "__all__":
            namespace[name] = sorted(every_name())
            return namespace[name]
        module_name = table.get(name)
        if module_name is None and wholesale and not name.startswith("_"):
            module_name = every_name().get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(module_name)
        value = module if module_name == f"{package}.{name}" else getattr(module, name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(every_name()) | set(namespace) | {"__all__"})

    if not wholesale:
        namespace["__all__"] = sorted(table)
    return getattr_, dir_


def snake_case(class_name: str) -> str:
    """The module name the generated layout gives a class: ``EventsCreateRequestBody`` ->
    ``events_create_request_body``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()

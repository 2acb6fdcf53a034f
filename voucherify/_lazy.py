"""Lazy attribute exports (PEP 562) so that importing a package loads none of its modules."""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any, Callable


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package`` resolving ``name -> module`` on use.

    A name whose module is ``package.name`` is that submodule itself. A resolved name is
    stored in the package's namespace, so the lookup runs once per name.
    """

    def getattr_(name: str) -> Any:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(module_name)
        value = module if module_name == f"{package}.{name}" else getattr(module, name)
        setattr(sys.modules[package], name, value)
        return value

    def dir_() -> list[str]:
        return sorted(set(exports) | set(vars(sys.modules[package])))

    return getattr_, dir_


def snake_case(class_name: str) -> str:
    """The module name the generated layout gives a class: ``EventsCreateRequestBody`` ->
    ``events_create_request_body``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()

"""The contract package re-exports every public name of its modules: one import path for every name."""

from __future__ import annotations

import importlib
import pkgutil

import msgspec

import services.common.contract as contract


def test_every_public_name_of_every_module_is_exported() -> None:
    missing: list[str] = []
    for info in pkgutil.iter_modules(contract.__path__):
        module = importlib.import_module(f"{contract.__name__}.{info.name}")
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", module.__name__) == module.__name__
            public = not name.startswith("_") and (name.isupper() or isinstance(value, type))
            if public and defined_here and getattr(contract, name, None) is not value:
                missing.append(f"{info.name}.{name}")
    assert missing == []
    assert sorted(contract.__all__) == contract.__all__
    # One Struct a name across the package: the OpenAPI components are named after them.
    structs = [n for n in contract.__all__ if isinstance(getattr(contract, n), type)]
    assert all(issubclass(getattr(contract, n), msgspec.Struct) for n in structs)
    assert {"Diagnosis", "Summary", "ProjectSelection", "ReportRequest", "DIAGNOSIS"} <= set(contract.__all__)

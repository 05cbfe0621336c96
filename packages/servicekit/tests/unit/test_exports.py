"""The public surface is what we meant it to be (httpx's test_exported_members pattern)."""

from __future__ import annotations

import servicekit
import servicekit.resilience


def test_every_exported_name_exists_and_nothing_private_leaks() -> None:
    for module in (servicekit, servicekit.resilience):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name} is exported but missing"
        public = {
            name
            for name in vars(module)
            if not name.startswith("_") and not isinstance(vars(module)[name], type(servicekit))
        }
        assert public - set(module.__all__) == set(), f"{module.__name__} exposes names outside __all__"

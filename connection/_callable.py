"""Let a module be called as the function it is named after.

``connection.reliability`` is both a module and, in the public API, the function
``cx.reliability(data, constructs)``. Python's import system binds ``connection.reliability`` to the
module as soon as anything imports it, so a lazily re-exported function of the same name would be
replaced by the module. Making the module callable keeps both ``cx.reliability(...)`` and
``cx.reliability.htmt`` working, whatever was imported first.
"""

from __future__ import annotations

import sys
import types

__all__ = ["make_module_callable"]


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return getattr(self, self.__name__.rsplit(".", 1)[-1])(*args, **kwargs)


def make_module_callable(module_name: str) -> None:
    """Make ``sys.modules[module_name]`` callable as its same-named function."""
    sys.modules[module_name].__class__ = _CallableModule

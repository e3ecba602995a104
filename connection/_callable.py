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
import warnings

__all__ = ["make_module_callable"]


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        function = getattr(self, self.__name__.rsplit(".", 1)[-1])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = function(*args, **kwargs)
        _reissue(caught, sys._getframe(1))
        return result


def _reissue(caught, caller) -> None:
    """Re-issue warnings under the user's filters; those that would point at this wrapper
    (``stacklevel=2`` inside the function) point at the caller's line instead."""
    for w in caught:
        if w.filename == __file__:
            registry = caller.f_globals.setdefault("__warningregistry__", {})
            warnings.warn_explicit(w.message, w.category, caller.f_code.co_filename,
                                   caller.f_lineno, module=caller.f_globals.get("__name__"),
                                   registry=registry)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno,
                                   source=w.source)


def make_module_callable(module_name: str) -> None:
    """Make ``sys.modules[module_name]`` callable as its same-named function."""
    sys.modules[module_name].__class__ = _CallableModule

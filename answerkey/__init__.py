"""answerkey: verified answer keys.

Importing the package first puts `answerkey.sources`' loader in place, so every
later module of the engine and of `solutions` runs the exact source its digests
hash. `sources` itself is compiled here from its bytes, never taken from bytecode.
"""

import sys as _sys
from importlib.machinery import ModuleSpec as _ModuleSpec
from pathlib import Path as _Path
from types import ModuleType as _ModuleType


def _load_sources() -> None:
    name = f"{__name__}.sources"
    if name in _sys.modules:
        return
    path = str(_Path(__file__).with_name("sources.py"))
    data = _Path(path).read_bytes()
    module = _ModuleType(name)
    module.__file__ = path
    module.__spec__ = _ModuleSpec(name, None, origin=path)
    module.__spec__.has_location = True
    _sys.modules[name] = module
    try:
        exec(compile(data, path, "exec", dont_inherit=True), module.__dict__)
    except BaseException:
        del _sys.modules[name]
        raise
    module.adopt(path, data)
    module.install()


_load_sources()

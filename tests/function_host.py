"""Loading ``cloud/azure/functions/function_app.py`` as the Functions host does.

`cloud/` is not a package on the path: each load imports the file afresh under a new
module name, so every test gets a new FunctionApp and its own udo App.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path
from types import ModuleType

FUNCTIONS = Path(__file__).resolve().parents[1] / "cloud/azure/functions"
_loaded = itertools.count()


def load_function_app() -> ModuleType:
    """Import function_app.py afresh (a new FunctionApp, nothing built yet)."""
    name = f"udo_function_app_{next(_loaded)}"
    spec = importlib.util.spec_from_file_location(name, FUNCTIONS / "function_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module

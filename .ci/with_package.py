"""Runs Python with fpscore imported from a given folder, ahead of any installed copy (an
editable install's import hook included, unless the folder is that install's source tree):
python .ci/with_package.py PKG -c CODE | -m MODULE ARGS."""

import runpy
import sys
from pathlib import Path

folder, mode, target, *rest = sys.argv[1:]
# A folder without its compiled core is an editable install's source tree: that install's import
# hook maps it, core included, to its build folder, so it is left to the hook. Otherwise the
# folder's copy goes first.
if any(p.suffix in (".so", ".pyd") for p in Path(folder, "fpscore").glob("_core*")):
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__]
    sys.path.insert(0, folder)
sys.argv = [target, *rest]
if mode == "-c":
    exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})
elif mode == "-m":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    raise SystemExit(f"usage: {sys.argv[0]} PKG (-c CODE | -m MODULE) [ARGS...]")

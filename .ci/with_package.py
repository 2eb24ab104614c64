"""Runs Python with fpscore imported from a given folder, ahead of any installed copy (an
editable install's import hook included): python .ci/with_package.py PKG -c CODE | -m MODULE ARGS."""

import runpy
import sys

folder, mode, target, *rest = sys.argv[1:]
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__]
sys.path.insert(0, folder)
sys.argv = [target, *rest]
if mode == "-c":
    exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})
elif mode == "-m":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    raise SystemExit(f"usage: {sys.argv[0]} PKG (-c CODE | -m MODULE) [ARGS...]")

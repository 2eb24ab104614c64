"""The public names of DESIGN §6, the type stub of the compiled module, and the SDEs against closed forms."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.resources
import inspect
import math
import pathlib
import re

import numpy as np
import pytest
from scipy.integrate import quad

import fpscore
import fpscore._core as core

# --------------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------------


def test_version() -> None:
    assert isinstance(fpscore.__version__, str)
    assert re.fullmatch(r"\d+\.\d+\.\d+", fpscore.__version__), fpscore.__version__
    assert fpscore.__version__ == importlib.metadata.version("fpscore")


def test_version_matches_cmake_project() -> None:
    cmake = pathlib.Path(__file__).resolve().parents[1] / "CMakeLists.txt"
    if not cmake.is_file():
        pytest.skip("source tree not available")
    found = re.search(r"project\(\s*fpscore\s+VERSION\s+([0-9.]+)", cmake.read_text())
    assert found, "no project(fpscore VERSION ...) in CMakeLists.txt"
    assert fpscore.__version__ == found.group(1)


def test_backends() -> None:
    if not core.cuda_compiled():
        assert fpscore.has_cuda() is False
        assert fpscore.available_backends() == ["cpu"]
    assert fpscore.available_backends()[0] == "cpu"


@pytest.mark.parametrize("name", ["__version__", "has_cuda", "available_backends", "VESDE", "VPSDE",
                                  "ConstantSDE", "solve_log_density", "SparseLU", "SingularMatrixError",
                                  "ConvergenceError", "fp_system"])
def test_design_names_exist(name: str) -> None:
    assert hasattr(fpscore, name), f"fpscore.{name} is missing"


def test_all_is_consistent() -> None:
    for name in fpscore.__all__:
        assert hasattr(fpscore, name), f"fpscore.__all__ lists {name!r}, which does not exist"
    assert len(set(fpscore.__all__)) == len(fpscore.__all__)


def test_kinds_of_public_objects() -> None:
    for cls in (fpscore.VESDE, fpscore.VPSDE, fpscore.ConstantSDE):
        assert inspect.isclass(cls) and issubclass(cls, fpscore.SDE)
    assert inspect.isclass(fpscore.SparseLU)
    for fn in (fpscore.solve_log_density, fpscore.fp_system, fpscore.has_cuda, fpscore.available_backends):
        assert callable(fn)
    for exc in (fpscore.SingularMatrixError, fpscore.ConvergenceError):
        assert inspect.isclass(exc) and issubclass(exc, Exception)
    assert fpscore.SingularMatrixError is core.SingularMatrixError
    assert fpscore.ConvergenceError is core.ConvergenceError


def test_solve_log_density_signature() -> None:
    """The DESIGN §6 keyword names and defaults; backend is "auto" (the CPU unless CUDA is present
    or FPSCORE_BACKEND says otherwise)."""
    params = inspect.signature(fpscore.solve_log_density).parameters
    expected = {"n_steps": 20, "T": 1.0, "h": 1.0, "bc": "zero", "bc_values": None, "scheme": "central",
                "iteration": "picard", "tol": 1e-8, "max_iter": 50, "backend": "auto"}
    assert list(params)[:2] == ["m0", "sde"]
    for name, default in expected.items():
        assert name in params, name
        assert params[name].default == default, (name, params[name].default)


def test_sparse_lu_signature() -> None:
    params = inspect.signature(fpscore.SparseLU).parameters
    assert next(iter(params)) == "A"
    assert params["ordering"].default == "auto"


# --------------------------------------------------------------------------------------------------
# The stub of fpscore._core
# --------------------------------------------------------------------------------------------------

STUB = pathlib.Path(fpscore.__file__).parent / "_core.pyi"


def _stub_tree() -> ast.Module:
    assert STUB.is_file(), f"{STUB} is missing"
    return ast.parse(STUB.read_text(), filename=str(STUB))


def _declared(body: list[ast.stmt]) -> dict[str, ast.stmt]:
    names: dict[str, ast.stmt] = {}
    for node in body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = node
    return names


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def test_stub_declares_every_module_attribute() -> None:
    declared = _declared(_stub_tree().body)
    public = [n for n in dir(core) if not _is_dunder(n)]
    assert public, "fpscore._core has no attributes"
    missing = sorted(set(public) - set(declared))
    assert not missing, f"_core.pyi does not declare {missing}"
    assert "__version__" in declared


def test_stub_declares_nothing_that_does_not_exist() -> None:
    declared = _declared(_stub_tree().body)
    extra = sorted(n for n in declared if not hasattr(core, n))
    assert not extra, f"_core.pyi declares {extra}, which fpscore._core lacks"


def test_stub_classes_declare_their_members() -> None:
    declared = _declared(_stub_tree().body)
    for name, node in declared.items():
        obj = getattr(core, name, None)
        if not isinstance(node, ast.ClassDef) or obj is None or issubclass(obj, BaseException):
            continue
        members = _declared(node.body)
        runtime = [m for m in dir(obj) if not m.startswith("_")]
        missing = sorted(set(runtime) - set(members))
        assert not missing, f"_core.pyi class {name} lacks {missing}"
        extra = sorted(m for m in members if not _is_dunder(m) and not hasattr(obj, m))
        assert not extra, f"_core.pyi class {name} declares {extra}, which the runtime class lacks"
        for member, member_node in members.items():
            if isinstance(inspect.getattr_static(obj, member, None), property):
                assert isinstance(member_node, ast.FunctionDef) and any(
                    isinstance(d, ast.Name) and d.id == "property" for d in member_node.decorator_list
                ), f"{name}.{member} is a property at run time but not in the stub"


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current)
    return parts


def _runtime_parameters(fn: object) -> list[str] | None:
    """Parameter names from a pybind11 signature line, e.g. 'f(a: int, b: str = 'x') -> None'."""
    doc = (getattr(fn, "__doc__", None) or "").lstrip()
    first = doc.splitlines()[0] if doc else ""
    match = re.match(r"\w+\((.*)\)\s*->", first)
    if not match:
        return None
    names = [p.split(":")[0].split("=")[0].strip() for p in _split_top_level(match.group(1))]
    return [n for n in names if n]


def _stub_parameters(node: ast.FunctionDef) -> list[str]:
    args = node.args
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]


def test_stub_signatures_match_runtime() -> None:
    declared = _declared(_stub_tree().body)
    checked = 0
    for name, node in declared.items():
        if isinstance(node, ast.FunctionDef):
            runtime = _runtime_parameters(getattr(core, name))
            if runtime is not None:
                stub = _stub_parameters(node)
                assert stub == runtime, f"{name}: stub {stub} vs {runtime}"
                checked += 1
        elif isinstance(node, ast.ClassDef):
            cls = getattr(core, name)
            for member, member_node in _declared(node.body).items():
                if not isinstance(member_node, ast.FunctionDef) or member_node.decorator_list:
                    continue
                runtime = _runtime_parameters(getattr(cls, member))
                if runtime is not None:
                    assert _stub_parameters(member_node) == runtime, (
                        f"{name}.{member}: stub {_stub_parameters(member_node)} vs {runtime}")
                    checked += 1
    assert checked >= 5, f"only {checked} signatures could be compared"


def test_py_typed_ships() -> None:
    assert (pathlib.Path(fpscore.__file__).parent / "py.typed").is_file()
    assert importlib.resources.files("fpscore").joinpath("py.typed").is_file()
    assert importlib.resources.files("fpscore").joinpath("_core.pyi").is_file()


# --------------------------------------------------------------------------------------------------
# SDEs against closed forms and quadrature
# --------------------------------------------------------------------------------------------------

TIMES = [0.0, 0.05, 0.3, 0.5, 1.0, 1.7]


@pytest.mark.parametrize("sigma", [0.5, 2.0, 5.0, 25.0])
def test_vesde(sigma: float) -> None:
    sde = fpscore.VESDE(sigma)
    for t in TIMES:
        g2_integral, _ = quad(lambda s: (sigma**s) ** 2, 0.0, t, epsabs=0.0, epsrel=1e-13)
        closed = (sigma ** (2 * t) - 1.0) / (2.0 * math.log(sigma))
        assert math.isclose(g2_integral, closed, rel_tol=1e-11, abs_tol=1e-300)
        assert math.isclose(float(sde.g(t)), sigma**t, rel_tol=1e-14)
        assert math.isclose(float(sde.marginal_std(t)) ** 2, closed, rel_tol=1e-12, abs_tol=1e-300)
        assert math.isclose(float(sde.diffusion_integral(t)), g2_integral, rel_tol=1e-11, abs_tol=1e-300)
        assert float(sde.alpha(t)) == 1.0
    assert sde.grid_drift(0.5, (4, 5), 1.0) is None
    t = np.array(TIMES)
    expected = np.sqrt((sigma ** (2 * t) - 1.0) / (2.0 * math.log(sigma)))
    np.testing.assert_allclose(sde.marginal_std(t), expected, rtol=1e-12)
    assert sde.g(t).shape == t.shape


def test_vesde_small_t_is_accurate() -> None:
    """λ(t)² ≈ t for t → 0 (g(0) = 1); no cancellation in (σ^{2t} − 1)."""
    sde = fpscore.VESDE(2.0)
    for t in (1e-6, 1e-10, 1e-14):
        ref, _ = quad(lambda s: 4.0**s, 0.0, t, epsabs=0.0, epsrel=1e-13)
        assert math.isclose(float(sde.marginal_std(t)) ** 2, ref, rel_tol=1e-9), t


@pytest.mark.parametrize(("beta_min", "beta_max"), [(0.1, 20.0), (1.0, 1.0), (0.5, 8.0)])
def test_vpsde(beta_min: float, beta_max: float) -> None:
    sde = fpscore.VPSDE(beta_min, beta_max)

    def beta(s: float) -> float:
        return beta_min + s * (beta_max - beta_min)

    for t in TIMES:
        B, _ = quad(beta, 0.0, t, epsabs=0.0, epsrel=1e-13)
        alpha = float(sde.alpha(t))
        lam = float(sde.marginal_std(t))
        assert math.isclose(alpha**2 + lam**2, 1.0, rel_tol=1e-13)
        assert math.isclose(alpha, math.exp(-0.5 * B), rel_tol=1e-12)
        assert math.isclose(lam**2, -math.expm1(-B), rel_tol=1e-11, abs_tol=1e-300)
        assert math.isclose(float(sde.g(t)) ** 2, beta(t), rel_tol=1e-13)
        assert math.isclose(float(sde.diffusion_integral(t)), B, rel_tol=1e-12, abs_tol=1e-300)


@pytest.mark.parametrize(("shape", "h"), [((4, 5), 1.0), ((7, 3), 0.25), ((6, 6), 2.0)])
@pytest.mark.parametrize("t", [0.0, 0.4, 1.0])
def test_vpsde_grid_drift(shape: tuple[int, int], h: float, t: float) -> None:
    sde = fpscore.VPSDE(0.1, 20.0)
    x, y = fpscore.grid_coordinates(shape, h)
    H, W = shape
    # x follows the column index, y the row index, both centred on the grid
    np.testing.assert_allclose(x, np.tile((np.arange(W) - (W - 1) / 2.0) * h, (H, 1)), rtol=0, atol=1e-15)
    np.testing.assert_allclose(y, np.tile(((np.arange(H) - (H - 1) / 2.0) * h)[:, None], (1, W)), rtol=0,
                               atol=1e-15)
    beta = 0.1 + t * (20.0 - 0.1)
    drift = sde.grid_drift(t, shape, h)
    assert drift.shape == (2, H, W)
    np.testing.assert_allclose(drift[0], -0.5 * beta * x, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(drift[1], -0.5 * beta * y, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("g", [0.5, 1.0, 3.0])
def test_constant_sde(g: float) -> None:
    sde = fpscore.ConstantSDE(g)
    for t in TIMES:
        ref, _ = quad(lambda s: g * g, 0.0, t)
        assert math.isclose(float(sde.diffusion_integral(t)), ref, rel_tol=1e-13, abs_tol=1e-300)
        assert math.isclose(float(sde.marginal_std(t)), g * math.sqrt(t), rel_tol=1e-13, abs_tol=1e-300)
        assert float(sde.g(t)) == g
        assert float(sde.alpha(t)) == 1.0
    assert sde.grid_drift(0.5, (4, 5), 1.0) is None


def test_sde_reprs() -> None:
    assert "2.0" in repr(fpscore.VESDE(2.0))
    assert "0.1" in repr(fpscore.VPSDE(0.1, 20.0)) and "20.0" in repr(fpscore.VPSDE(0.1, 20.0))
    assert "0.5" in repr(fpscore.ConstantSDE(0.5))


# --------------------------------------------------------------------------------------------------
# Layout: the public names, without torch and with it
# --------------------------------------------------------------------------------------------------


def test_import_and_cli_without_torch() -> None:
    """`import fpscore`, the CLI's parser and the torch-free subpackages work with torch blocked;
    the names that need torch say how to get it."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import fpscore, fpscore.cli, fpscore.sampling\n"
        "import fpscore.numerics.verify, fpscore.embedding.show, fpscore.evaluation.experiment\n"
        "fpscore.cli.build_parser().parse_args(['sample', 'run'])\n"
        "assert 'heun' in fpscore.sampling.SAMPLER_NAMES\n"
        "assert fpscore.data.load is fpscore.data.loaders.load\n"
        "for name in ('Trainer', 'UNet', 'EmbeddedDataset', 'losses'):\n"
        "    try:\n        getattr(fpscore, name)\n    except ImportError as e:\n        print(name, e)\n"
        "try:\n    fpscore.samplers.heun_ode\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.count("pip install torch==2.13.0") == 5, out


@pytest.mark.parametrize(
    "name",
    ["UNet", "EDMPreconditioned", "EpsilonScore", "Objective", "Trainer", "InMemoryDataset",
     "load_trained", "run_demo", "EmbeddedDataset", "experiment", "baselines", "samplers", "losses",
     "metrics", "models"],
)
def test_lazy_names(name: str) -> None:
    pytest.importorskip("torch")
    assert getattr(fpscore, name) is not None


def test_sde_dict_round_trip() -> None:
    from fpscore.sde import SDE_KINDS, make_sde, sde_from_dict
    from fpscore.training.config import SDEConfig

    for sde in (fpscore.VESDE(3.0), fpscore.VPSDE(0.2, 10.0), fpscore.ConstantSDE(0.5)):
        spec = sde.to_dict()
        assert spec["type"] == type(sde).__name__
        assert repr(sde_from_dict(spec)) == repr(sde)
        assert repr(SDEConfig.from_sde(sde).build()) == repr(sde)
        assert repr(make_sde(sde.kind, {**SDEConfig().__dict__, **sde.parameters()})) == repr(sde)
    assert fpscore.VESDE(2.0).to_dict() == {"type": "VESDE", "sigma": 2.0}  # as cache manifests hold it
    assert fpscore.ConstantSDE(1.5).to_dict() == {"type": "ConstantSDE", "g": 1.5}
    assert SDE_KINDS == ("ve", "vp", "constant")
    with pytest.raises(ValueError, match="unknown SDE type"):
        sde_from_dict({"type": "OtherSDE"})
    with pytest.raises(ValueError, match=r"sde\.kind"):
        make_sde("other", {})

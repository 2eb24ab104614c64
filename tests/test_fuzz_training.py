"""Property-based tests of the public training, sampling and data names (torch): `Trainer`,
`Objective`, `EDMPreconditioned`, `EpsilonScore`, `load_trained`, `InMemoryDataset`,
`EmbeddedDataset`, `rk45_ode`, and the argument checks of `run_demo`.

Each property: a call returns a valid result (checked against an independent value: an analytic
formula, the input arrays, or a count) or raises the documented exception (ValueError, TypeError;
`CheckpointError`, a ValueError, for checkpoints; IndexError for an item out of range), never
another exception type, a crash or a hang. Everything runs on tiny data (4×4 images, U-Nets of
4 channels) so that the file stays well under a minute."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
torch = pytest.importorskip("torch")
pytest.importorskip("ot")
pytestmark = pytest.mark.torch

from fuzz_strategies import WRONG_TYPES, as_dtype, layout, layouts  # noqa: E402
from hypothesis import event, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fpscore  # noqa: E402
from fpscore.data.dataset import EmbeddedDataset, InMemoryDataset  # noqa: E402
from fpscore.evaluation import demo as demo_module  # noqa: E402
from fpscore.training.checkpoint import list_checkpoints, save_checkpoint  # noqa: E402
from fpscore.training.losses import Objective  # noqa: E402
from fpscore.training.models import EDMPreconditioned, EpsilonScore, UNet  # noqa: E402
from fpscore.training.trainer import Trainer, load_trained  # noqa: E402

SIGMA = 2.0  # the VESDE of every property: λ(t)² = (σ²ᵗ − 1)/(2 ln σ), α = 1


def mostly(valid, bad, weight: int = 3):
    """`valid` in about `weight` draws of `weight` + 1, else `bad`: most examples then reach the
    checked result, with the bad values of one or two arguments at a time in the rest."""
    return st.integers(0, weight).flatmap(lambda k: bad if k == weight else valid)


def ve_lambda2(t: float) -> float:
    return math.expm1(2.0 * t * math.log(SIGMA)) / (2.0 * math.log(SIGMA))


# A 4×4 one-channel U-Net of one level: the cheapest network the trainer accepts.
TINY4 = [
    "model.image_channels=1",
    "model.image_size=4",
    "model.channels=4",
    "model.channel_mult=[1]",
    "model.num_res_blocks=1",
    "model.attn_resolutions=[]",
    "model.dropout=0.0",
    "train.batch_size=4",
    "train.warmup=0",
    "train.progress=false",
    "train.log_every=1",
    "train.checkpoint_every=1",
    "train.steps=2",
]


def tiny_config(*extra: str) -> fpscore.Config:
    return fpscore.load_config(None, [*TINY4, *extra])


def tiny_unet() -> UNet:
    return UNet(
        image_channels=1, image_size=4, channels=4, channel_mult=(1,), num_res_blocks=1, attn_resolutions=()
    )


def trajectories(n_bins: int = 3, n_images: int = 2, size: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 1, (1, n_images, 1, size, size))
    return (base + 0.01 * rng.standard_normal((n_bins, 1, 1, 1, 1)).cumsum(0)).astype(np.float32)


# -- Objective ------------------------------------------------------------------------------------

SPECS = ["dsm", "ssm", "sw", "dsm+0.1*sw", "0.5*ssm", "dsm+dsm", "", " dsm ", "DSM", "nan*dsm", "inf*sw", "x"]


@settings(max_examples=25)
@given(
    spec=mostly(st.sampled_from(SPECS[:5]), st.sampled_from([*SPECS[5:], *WRONG_TYPES])),
    weighting=mostly(st.sampled_from(["unit", "paper"]), st.sampled_from(["Unit", "", "none", None, 1])),
    sw=mostly(st.integers(1, 3), st.sampled_from([0, -1, 2.5, "2", None, True])),
    ssm=mostly(st.integers(1, 2), st.sampled_from([0, -1, 1.0, "1", None])),
)
@example(spec="nan*dsm", weighting="unit", sw=1, ssm=1)
@example(spec="dsm", weighting="unit", sw=2.5, ssm=1)
@example(spec=3, weighting="unit", sw=1, ssm=1)
def test_objective(spec, weighting, sw, ssm):
    try:
        obj = Objective(spec, weighting=weighting, sw_projections=sw, ssm_projections=ssm)
    except (ValueError, TypeError):
        return
    event("valid")
    assert isinstance(spec, str) and weighting in ("unit", "paper")
    assert type(sw) is int and sw >= 1 and type(ssm) is int and ssm >= 1
    # The new network outputs ε̂ = 0 (its last convolution starts at zero), so with unit weighting
    # the DSM term is mean(z²) for the first draw z of the generator.
    net, sde = tiny_unet(), fpscore.VESDE(SIGMA)
    x = torch.rand(4, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([0.1, 0.4, 0.7, 1.0])
    total, parts = obj(net, sde, x, t, torch.Generator().manual_seed(0))
    assert set(parts) == set(obj.names) and all(math.isfinite(v) for v in parts.values())
    coefs = dict((name, coef) for coef, name in obj.terms)
    assert float(total) == pytest.approx(sum(coefs[n] * parts[n] for n in parts), rel=1e-5, abs=1e-6)
    if "dsm" in parts and weighting == "unit":
        z = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
        assert parts["dsm"] == pytest.approx(float((z**2).mean()), rel=1e-5)


# -- EDMPreconditioned / EpsilonScore -------------------------------------------------------------


class Zero(torch.nn.Module):
    def forward(self, x, t):
        return torch.zeros_like(x)


class Const(torch.nn.Module):
    def forward(self, x, t):
        return torch.full_like(x, 0.5)


nets = mostly(st.sampled_from(["zero", "const"]), st.sampled_from(["function", "none", "string"]))
sdes = mostly(st.just("ve"), st.sampled_from(["dict", "none"]))


def _net(kind):
    return {"zero": Zero(), "const": Const(), "function": lambda x, t: x, "none": None, "string": "unet"}[
        kind
    ]


def _sde(kind):
    return {"ve": fpscore.VESDE(SIGMA), "dict": {"kind": "ve"}, "none": None}[kind]


@settings(max_examples=30)
@given(
    net=nets,
    sde=sdes,
    sigma_data=mostly(
        st.floats(1e-3, 1e3),
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["0.5", None])),
    ),
    data_mean=mostly(
        st.floats(-10, 10),
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["0", None])),
    ),
    t=st.floats(1e-3, 1.0),
)
@example(net="zero", sde="ve", sigma_data=math.inf, data_mean=0.5, t=0.5)
@example(net="zero", sde="ve", sigma_data=0.25, data_mean=math.nan, t=0.5)
@example(net="function", sde="ve", sigma_data=0.25, data_mean=0.5, t=0.5)
@example(net="zero", sde="dict", sigma_data=0.25, data_mean=0.5, t=0.5)
def test_edm_preconditioned(net, sde, sigma_data, data_mean, t):
    try:
        model = EDMPreconditioned(_net(net), _sde(sde), sigma_data, data_mean)
    except (ValueError, TypeError):
        return
    event("valid")
    assert net in ("zero", "const") and sde == "ve"
    assert 0 < sigma_data < math.inf and math.isfinite(data_mean)
    x = torch.linspace(-1, 1, 8, dtype=torch.float64).reshape(2, 1, 2, 2)
    out = model(x, torch.tensor(t, dtype=torch.float64))
    # ε̂ = σ·x'/(σ² + σ_d²) − σ_d·F/√(σ² + σ_d²), σ = λ(t) (α = 1), x' = x − μ
    s2 = ve_lambda2(t)
    norm2 = s2 + sigma_data**2
    f = 0.0 if net == "zero" else 0.5
    xc = x.numpy() - data_mean
    expected = math.sqrt(s2) * xc / norm2 - sigma_data * f / math.sqrt(norm2)
    assert np.allclose(out.numpy(), expected, rtol=1e-9, atol=1e-12 * (1 + np.abs(expected).max()))


@settings(max_examples=20)
@given(net=nets, sde=sdes, t=st.floats(1e-3, 1.0))
@example(net="function", sde="ve", t=0.5)
@example(net="const", sde="dict", t=0.5)
def test_epsilon_score(net, sde, t):
    try:
        score = EpsilonScore(_net(net), _sde(sde))
    except TypeError:
        return
    event("valid")
    assert net in ("zero", "const") and sde == "ve"
    x = torch.ones(3, 1, 2, 2, dtype=torch.float64)
    out = score(x, torch.full((3,), t, dtype=torch.float64))
    f = 0.0 if net == "zero" else 0.5
    assert np.allclose(out.numpy(), -f / math.sqrt(ve_lambda2(t)), rtol=1e-12)


# -- InMemoryDataset / EmbeddedDataset ------------------------------------------------------------


# The dataset property's valid arguments; each example below changes one of them.
DATASET_DEFAULTS = {
    "shape": (3, 2, 1, 4, 4),
    "dtype": np.float64,
    "lay": "C",
    "poison": None,
    "times": None,
    "T": 1.0,
    "sde": "ve",
    "as_tensor": False,
}


def dataset_example(**changes):
    return example(**{**DATASET_DEFAULTS, **changes})


@settings(max_examples=40)
@given(
    shape=mostly(
        st.sampled_from([(3, 2, 1, 4, 4), (1, 1, 1, 1, 1), (2, 3, 3, 2, 5)]),
        st.sampled_from([(2, 0, 1, 4, 4), (0, 2, 1, 4, 4), (2, 1, 4, 4), ()]),
    ),
    dtype=mostly(
        st.sampled_from([np.float64, np.float32, np.int32, np.uint8]),
        st.sampled_from([np.complex128, np.bool_, object]),
    ),
    lay=layouts,
    poison=mostly(st.none(), st.sampled_from([math.nan, math.inf, 1e39])),
    times=mostly(st.sampled_from([None, "grid", "tensor"]), st.sampled_from(["short", "nan", "text"])),
    T=mostly(
        st.floats(1e-3, 1e3),
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["1", None])),
    ),
    sde=sdes,
    as_tensor=st.booleans(),
)
@dataset_example(shape=(2, 0, 1, 4, 4))
@dataset_example(poison=math.nan)
@dataset_example(T=math.nan)
@dataset_example(dtype=np.complex128)
@dataset_example(times="nan")
@dataset_example(poison=1e39)
@dataset_example(sde="dict")
def test_in_memory_dataset(shape, dtype, lay, poison, times, T, sde, as_tensor):
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 3, shape)
    if poison is not None and values.size:
        values.flat[-1] = poison
    try:
        arr = (
            as_dtype(values, dtype)
            if dtype not in (np.complex128, np.bool_, object)
            else values.astype(dtype)
        )
    except (ValueError, OverflowError):
        return
    arr = layout(arr, lay)
    if as_tensor and dtype in (np.float64, np.float32):
        arr = torch.from_numpy(np.array(arr))
    n_bins = shape[0] if shape else 0
    grid = np.linspace(0.0, 1.0, max(n_bins, 1))
    given_times = {
        None: None,
        "grid": grid,
        "short": grid[:-1],
        "nan": np.full_like(grid, np.nan),
        "text": ["a"] * len(grid),
        "tensor": torch.from_numpy(grid),
    }[times]
    try:
        ds = InMemoryDataset(arr, given_times, sde=_sde(sde), T=T)
    except (ValueError, TypeError):
        return
    event("valid")
    assert len(shape) == 5 and 0 not in shape and dtype in (np.float64, np.float32, np.int32, np.uint8)
    assert poison is None or (dtype in (np.int32, np.uint8) and poison != math.nan)
    assert sde != "dict" and times in (None, "grid", "tensor")
    n_images = shape[1]
    assert len(ds) == n_bins * n_images
    expected_times = grid if times is not None else np.linspace(0.0, T, n_bins)
    assert np.array_equal(ds.times, expected_times)
    source = np.asarray(arr, dtype=np.float64)
    for k in (0, len(ds) - 1, -1, -len(ds)):
        x, n, i = ds[k]
        kk = k % len(ds)
        assert (i, n) == divmod(kk, n_bins)
        assert np.array_equal(x.numpy(), source[n, i].astype(np.float32))
    for bad in (len(ds), -len(ds) - 1):
        with pytest.raises(IndexError):
            ds[bad]
    for bad in (0.5, "0", None, True):
        with pytest.raises(TypeError):
            ds[bad]


@pytest.fixture(scope="module")
def tiny_cache():
    with tempfile.TemporaryDirectory() as tmp:
        images = np.random.default_rng(0).uniform(0, 1, (2, 1, 4, 4))
        fpscore.precompute(images, Path(tmp) / "cache", fpscore.VESDE(SIGMA), n_steps=2, progress=False)
        yield Path(tmp) / "cache"


@settings(max_examples=30)
@given(
    bins=st.one_of(
        st.none(),
        st.lists(st.integers(-2, 4), max_size=4),
        st.sampled_from([[0.5], ["1"], [True], (0, 2), np.array([1, 2]), 1, "12", [None]]),
    ),
    k=st.one_of(st.integers(-8, 8), st.sampled_from([0.5, "0", None, True, np.int64(1)])),
)
@example(bins=[0.5], k=0)
@example(bins=["1"], k=0)
@example(bins=None, k=0.5)
def test_embedded_dataset(tiny_cache, bins, k):
    cache = fpscore.open_cache(tiny_cache)
    try:
        ds = EmbeddedDataset(tiny_cache, bins)
    except (ValueError, TypeError):
        return
    chosen = [0, 1, 2] if bins is None else [int(b) for b in bins]
    assert chosen and all(0 <= b <= 2 for b in chosen)
    assert all(
        type(b) is not bool and not isinstance(b, (str, float)) for b in ([] if bins is None else bins)
    )
    event("valid")
    assert ds.bins == chosen and len(ds) == 2 * len(chosen)
    try:
        x, n, i = ds[k]
    except (IndexError, TypeError) as err:
        if isinstance(err, IndexError):
            assert not -len(ds) <= k < len(ds)
        else:
            assert not isinstance(k, (int, np.integer)) or isinstance(k, bool)
        return
    i_expected, b = divmod(int(k) % len(ds), len(chosen))
    assert (i, n) == (i_expected, chosen[b])
    assert np.array_equal(x.numpy(), np.asarray(cache.trajectory(i)[n], dtype=np.float32))


# -- rk45_ode -------------------------------------------------------------------------------------


@settings(max_examples=25)
@given(
    times=mostly(
        st.lists(st.floats(1e-3, 1.0), min_size=2, max_size=4)
        .map(lambda v: sorted(set(v), reverse=True))
        .filter(lambda v: len(v) >= 2),
        st.sampled_from([[1.0, 0.0], [0.5], [], [0.1, 0.5], [1.0, math.nan], [1e39, 1.0]]),
    ),
    rtol=mostly(
        st.sampled_from([1e-8, 1e-5, 1e-3]), st.sampled_from([0.0, -1e-5, math.nan, math.inf, "1e-5", None])
    ),
    atol=mostly(st.sampled_from([1e-8, 1e-5]), st.sampled_from([0.0, math.nan, -1.0])),
    shape=mostly(st.sampled_from([(2, 1, 2, 2), (1, 3), (3,)]), st.just(())),
    dtype=mostly(st.sampled_from(["float32", "float64"]), st.just("int64")),
)
@example(times=[1.0, 0.5], rtol=math.nan, atol=1e-8, shape=(1, 3), dtype="float64")
@example(times=[1.0, 0.5], rtol=-1e-5, atol=1e-8, shape=(1, 3), dtype="float64")
@example(times=[1e39, 1.0], rtol=1e-5, atol=1e-8, shape=(1, 3), dtype="float32")
def test_rk45(times, rtol, atol, shape, dtype):
    rk45 = fpscore.samplers.rk45_ode
    x0 = torch.linspace(0.5, 1.5, int(np.prod(shape, dtype=int))).reshape(shape).to(getattr(torch, dtype))
    seen = []
    try:
        out = rk45(
            lambda x, t: -x, fpscore.VESDE(SIGMA), x0, times, rtol=rtol, atol=atol, callback=seen.append
        )
    except (ValueError, TypeError):
        return
    event("valid")
    assert dtype != "int64" and len(shape) >= 1 and len(times) >= 2 and times[-1] > 0
    assert all(math.isfinite(v) and v > 0 for v in (rtol, atol)) and not isinstance(rtol, str)
    # s = −x: dx/dt = ½g²x, so x(t_end) = x(t₀)·exp(−½(λ²(t₀) − λ²(t_end))) (g² = dλ²/dt for VE)
    factor = math.exp(-0.5 * (ve_lambda2(times[0]) - ve_lambda2(times[-1])))
    tol = max(rtol, atol) * 100 + (1e-6 if dtype == "float32" else 0.0)
    assert out.dtype == x0.dtype and out.shape == x0.shape
    assert np.allclose(out.double().numpy(), x0.double().numpy() * factor, rtol=tol, atol=tol)
    assert [c["i"] for c in seen] == list(range(len(times) - 1))


# -- Trainer --------------------------------------------------------------------------------------


@settings(max_examples=15)
@given(
    overrides=st.lists(
        st.sampled_from(
            [
                "loss.spec=dsm+0.1*sw",
                "loss.spec=ssm",
                "loss.weighting=unit",
                "model.preconditioning=edm",
                "data.time_sampling=uniform",
                "data.scores_zero=true",
                "data.strength=0.5",
                "train.grad_clip=0",
                "train.ema_decay=0",
                "model.image_size=8",
                "model.image_channels=3",
                "data.t_min=0.9",
            ]
        ),
        max_size=2,
        unique=True,
    ),
    data=st.sampled_from(["good", "one-bin", "list", "none", "5d-wrong-size"]),
    kwargs=st.sampled_from(
        [
            {},
            {"times": [0.0, 0.5, 1.0]},
            {"times": [0.0, 1.0]},
            {"times": [1.0, 0.5, 0.0]},
            {"sde": fpscore.VESDE(3.0)},
            {"sde": "ve"},
            {"resume": True},
            {"resume": "no"},
            {"model": "unet"},
            {"objective": 3},
            {"out_dir": 3},
            {"config": {"train": {}}},
        ]
    ),
    steps=st.sampled_from([None, 1, 2, 0, -1, 1.5, "2"]),
)
@example(overrides=[], data="good", kwargs={"sde": "ve"}, steps=None)
@example(overrides=[], data="good", kwargs={"config": {"train": {}}}, steps=None)
@example(overrides=[], data="good", kwargs={"out_dir": 3}, steps=None)
@example(overrides=[], data="good", kwargs={"resume": "no"}, steps=None)
@example(overrides=[], data="good", kwargs={}, steps=1.5)
@example(overrides=[], data="good", kwargs={}, steps=-1)
def test_trainer(overrides, data, kwargs, steps):
    kwargs = dict(kwargs)
    config = kwargs.pop("config", None) or tiny_config(*overrides)
    dataset = {
        "good": InMemoryDataset(trajectories(), sde=fpscore.VESDE(SIGMA)),
        "one-bin": InMemoryDataset(trajectories(n_bins=1), [0.0], sde=fpscore.VESDE(SIGMA)),
        "list": [1, 2, 3],
        "none": None,
        "5d-wrong-size": InMemoryDataset(trajectories(size=2), sde=fpscore.VESDE(SIGMA)),
    }[data]
    with tempfile.TemporaryDirectory() as tmp:
        kwargs.setdefault("out_dir", Path(tmp) / "run")
        try:
            trainer = Trainer(config, dataset, **kwargs)
            metrics = trainer.train(steps)
        except (ValueError, TypeError):
            return
        event("valid")
        assert data == "good" and isinstance(config, fpscore.Config)
        assert "model.image_size=8" not in overrides and "model.image_channels=3" not in overrides
        assert kwargs.get("sde") is None and kwargs.get("resume") in (None, False)
        assert type(steps) is int or steps is None
        total = config.train.steps if steps is None else steps
        assert trainer.step == total
        if total:
            assert all(math.isfinite(v) for v in metrics.values())
            assert len(list_checkpoints(kwargs["out_dir"])) >= 1
            lines = (Path(kwargs["out_dir"]) / "metrics.jsonl").read_text().splitlines()
            assert len(lines) == total


# -- load_trained ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_run():
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        trainer = Trainer(
            tiny_config(), InMemoryDataset(trajectories(), sde=fpscore.VESDE(SIGMA)), out_dir=run
        )
        trainer.train(1)
        yield run, trainer.state_dict()


DAMAGE = [
    "none",
    "missing",
    "empty",
    "garbage",
    "garbage-checksummed",
    "not-a-dict",
    "no-config",
    "other-model",
    "bad-config",
    "bad-ema",
    "bad-times",
    "path-missing",
    "file-as-run",
]


def _damaged_run(run: Path, state: dict, how: str, tmp: Path) -> tuple[Path, Path | None]:
    import hashlib
    import shutil

    out = tmp / "run"
    if how == "missing":
        return out, None
    if how == "empty":
        (out / "checkpoints").mkdir(parents=True)
        return out, None
    if how == "file-as-run":
        out.write_text("x")
        return out, None
    if how == "path-missing":
        shutil.copytree(run, out)
        return out, out / "checkpoints" / "ckpt-99999999.pt"
    state = {k: v for k, v in state.items()}
    if how in ("garbage", "garbage-checksummed", "not-a-dict"):
        shutil.copytree(run, out)
        (ckpt,) = list_checkpoints(out)
        ckpt.write_bytes(b"\x00not a checkpoint" if how != "not-a-dict" else b"")
        if how == "not-a-dict":
            torch.save([1, 2, 3], ckpt)
        if how != "garbage":
            digest = hashlib.sha256(ckpt.read_bytes()).hexdigest()
            ckpt.with_name(ckpt.name + ".sha256").write_text(f"{digest}  {ckpt.name}\n")
        return out, None
    if how == "no-config":
        state["config"] = "nope"
    elif how == "other-model":
        config = dict(state["config"])
        config["model"] = {**config["model"], "channels": 8}
        state["config"] = config
    elif how == "bad-config":
        state["config"] = {"model": {"dropout": float("nan")}}
    elif how == "bad-ema":
        state["ema"] = {"module": {"weight": torch.zeros(2)}}
    elif how == "bad-times":
        state["times"] = [float("nan")]
    save_checkpoint(out, state)
    return out, None


@settings(max_examples=25)
@given(
    how=st.sampled_from(DAMAGE),
    ema=mostly(st.booleans(), st.sampled_from(["yes", None])),
    device=mostly(st.just("cpu"), st.sampled_from(["gpu0", "", 3])),
)
@example(how="other-model", ema=True, device="cpu")
@example(how="bad-ema", ema=True, device="cpu")
@example(how="bad-times", ema=True, device="cpu")
@example(how="none", ema=True, device="gpu0")
def test_load_trained(trained_run, how, ema, device):
    run, state = trained_run
    with tempfile.TemporaryDirectory() as tmp:
        folder, path = (run, None) if how == "none" else _damaged_run(run, state, how, Path(tmp))
        # bad-ema damages only the EMA weights: the raw model (ema=False) still loads
        good = type(ema) is bool and device == "cpu" and (how == "none" or (how == "bad-ema" and not ema))
        try:
            score, sde, times, config = load_trained(folder, ema=ema, device=device, path=path)
        except (ValueError, TypeError) as err:
            if good:
                raise AssertionError(f"a good checkpoint was refused: {err}") from err
            return
        event("valid")
        assert good
    assert isinstance(score, EpsilonScore) and sde.to_dict() == fpscore.VESDE(SIGMA).to_dict()
    assert np.array_equal(times, state["times"])
    weights = state["ema"]["module"] if ema else state["model"]
    assert all(torch.equal(score.net.state_dict()[k], v) for k, v in weights.items())
    assert config.to_dict() == state["config"]


# -- run_demo: bad arguments fail before any work ------------------------------------------------


class Reached(Exception):
    """Raised in place of the demo's first piece of work (loading the photograph)."""


def _valid_demo_arguments(out, kw) -> bool:
    def count(v):
        return type(v) is int and 1 <= v <= 2**31 - 1

    return (
        isinstance(out, (str, Path))
        and kw["image"] in demo_module.DEMO_IMAGES
        and count(kw["size"])
        and kw["size"] % 4 == 0
        and all(count(kw[k]) for k in ("max_steps", "eval_every", "n_samples", "sample_steps"))
        and type(kw["target_ssim"]) in (int, float)
        and -1 < kw["target_ssim"] <= 1
        and type(kw["seed"]) is int
        and 0 <= kw["seed"] < 2**63 - 2
        and type(kw["progress"]) is bool
        and (kw["log"] is None or callable(kw["log"]))
        and isinstance(kw["arms"], (list, tuple))
        and "embed" in kw["arms"]
        and all(a in ("embed", "control") for a in kw["arms"])
    )


# run_demo's defaults; each example below changes one or two of them.
DEMO_DEFAULTS = {
    "out": "new",
    "image": "astronaut",
    "size": 32,
    "max_steps": 1500,
    "eval_every": 25,
    "n_samples": 4,
    "sample_steps": 40,
    "target_ssim": 0.9,
    "seed": 0,
    "progress": False,
    "log": None,
    "arms": ("embed",),
}


def demo_example(**changes):
    return example(**{**DEMO_DEFAULTS, **changes})


@settings(max_examples=40)
@given(
    out=mostly(st.sampled_from(["new"]), st.sampled_from(["new", "file", "foreign", 3, None]), weight=12),
    image=mostly(
        st.sampled_from(["astronaut", "chelsea"]),
        st.sampled_from(["astronaut", "chelsea", "Astronaut", "", 3]),
        weight=12,
    ),
    size=mostly(
        st.sampled_from([32, 8, 4]), st.sampled_from([32, 8, 4, 0, -4, 30, 2.0, "32", True, 2**31]), weight=12
    ),
    max_steps=mostly(
        st.sampled_from([1500, 1]), st.sampled_from([1500, 1, 0, -1, 1.5, None, 2**31]), weight=12
    ),
    eval_every=mostly(st.sampled_from([25]), st.sampled_from([25, 0, "25"]), weight=12),
    n_samples=mostly(st.sampled_from([4]), st.sampled_from([4, 0, -1]), weight=12),
    sample_steps=mostly(st.sampled_from([40]), st.sampled_from([40, 0, 2.5]), weight=12),
    target_ssim=mostly(
        st.sampled_from([0.9, 1.0]),
        st.sampled_from([0.9, 1.0, 1.5, -1.0, math.nan, math.inf, "0.9", None, True]),
        weight=12,
    ),
    seed=mostly(st.sampled_from([0]), st.sampled_from([0, -1, 2**63, 1.0, "0"]), weight=12),
    progress=mostly(st.sampled_from([False]), st.sampled_from([False, "no", None]), weight=12),
    log=mostly(st.sampled_from([None, print]), st.sampled_from([None, print, "log"]), weight=12),
    arms=mostly(
        st.sampled_from([("embed", "control"), ["embed"]]),
        st.sampled_from([("embed", "control"), ["embed"], ("control",), "embed", ("embed", "x"), (), None]),
        weight=12,
    ),
)
@demo_example(size=30)
@demo_example(max_steps=0)
@demo_example(target_ssim=math.nan)
@demo_example(seed=-1)
@demo_example(arms="embed")
def test_run_demo_arguments(out, **kw):
    def reached(*args, **kwargs):
        raise Reached

    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as tmp:
        patch.setattr(fpscore.data, "load_sample_images", reached)
        folder = Path(tmp) / "demo"
        if out == "file":
            folder.write_text("x")
        elif out == "foreign":
            folder.mkdir()
            (folder / "mine.txt").write_text("x")
        target = folder if isinstance(out, str) else out
        before = sorted(p.name for p in Path(tmp).rglob("*"))
        try:
            demo_module.run_demo(target, **kw)
        except Reached:
            event("valid")
            assert _valid_demo_arguments(target, kw) and out == "new"
            return
        except (ValueError, TypeError):
            # refused before any work: the folder is as it was
            assert sorted(p.name for p in Path(tmp).rglob("*")) == before
            assert not _valid_demo_arguments(target, kw) or out in ("file", "foreign")
            return
        raise AssertionError("run_demo returned without doing its work")

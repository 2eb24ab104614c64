"""Property-based tests of the public names the other tests/test_fuzz_*.py files leave out:
`available_backends`/`has_cuda`, `Config`/`load_config`, `open_cache`/`show_cache`/
`EmbeddingCache`, and (with torch) the samplers and the `UNet` constructor.

Each property: a call returns a valid result (checked) or raises the documented exception
(ValueError, TypeError, FileNotFoundError; IndexError for an image index out of range), never
another exception type, a crash or a hang."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fpscore  # noqa: E402
from fpscore.training.config import LOSS_NAMES, TIME_SAMPLINGS  # noqa: E402

# Values that are not "section.key=value" strings.
WRONG = [3, None, 1.5, b"sde.sigma=3", ["sde.sigma=3"], ("sde.sigma", 3)]

# -- backends ---------------------------------------------------------------------------------------


def test_backends_consistent():
    backends = fpscore.available_backends()
    assert all(isinstance(b, str) for b in backends)
    assert "cpu" in backends
    cuda = fpscore.has_cuda()
    assert isinstance(cuda, bool)
    assert cuda == ("cuda" in backends)
    assert list(fpscore.available_backends()) == list(backends)


# -- Config / load_config ---------------------------------------------------------------------------

SECTION_KEYS = {
    "sde": ["kind", "sigma", "beta_min", "beta_max", "g"],
    "model": [
        "image_channels",
        "image_size",
        "channels",
        "channel_mult",
        "num_res_blocks",
        "attn_resolutions",
        "dropout",
        "time_embedding",
        "time_scale",
        "preconditioning",
    ],
    "data": ["cache", "time_sampling", "t_min", "strength", "scores_zero"],
    "loss": ["spec", "weighting", "sw_projections", "ssm_projections"],
    "train": [
        "steps",
        "batch_size",
        "lr",
        "warmup",
        "grad_clip",
        "ema_decay",
        "amp",
        "seed",
        "device",
        "checkpoint_every",
        "keep",
        "log_every",
        "progress",
    ],
}
ALL_KEYS = [k for ks in SECTION_KEYS.values() for k in ks]
OPTION_WORDS = [
    "ve",
    "vp",
    "constant",
    "VE",
    " ve",
    "",
    "dsm",
    "ssm",
    "sw",
    "dsm+0.1*sw",
    "0.5*ssm",
    "dsm+dsm",
    "dsm*2*3",
    "1e+3*sw",
    "bogus",
    *TIME_SAMPLINGS,
    "Uniform",
    "fourier",
    "linear",
    "edm",
    "none",
    "unit",
    "paper",
    "true",
    "yes",
    "0",
    *LOSS_NAMES,
]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 2**40),
    st.sampled_from(OPTION_WORDS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
section_tables = st.dictionaries(
    st.sampled_from(sorted(SECTION_KEYS)),
    st.one_of(
        st.dictionaries(st.sampled_from([*ALL_KEYS, "unknown", ""]), json_values, max_size=4),
        json_values,
    ),
    max_size=4,
)


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        return (
            "{"
            + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items() if x is not None)
            + "}"
        )
    return '""'


def _to_toml(data) -> str:
    lines = []
    for section, values in data.items():
        if isinstance(values, dict):
            lines.append(f"[{section}]")
            lines.extend(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in values.items() if v is not None)
        else:
            lines.insert(0, f"{section} = {_toml_value(values)}" if values is not None else "")
    return "\n".join(lines) + "\n"


def _check_config(cfg):
    assert isinstance(cfg, fpscore.Config)
    cfg.validate()
    again = fpscore.Config.from_dict(cfg.to_dict())
    assert again.to_json() == cfg.to_json()  # (NaN != NaN: compare the text)


overrides = st.lists(
    st.one_of(
        st.builds(
            lambda k, v: f"{k}={v}",
            st.sampled_from(
                [
                    *(f"{s}.{k}" for s, ks in SECTION_KEYS.items() for k in ks),
                    "sde",
                    "x.y",
                    "model.nope",
                    ".",
                    "",
                ]
            ),
            st.sampled_from([*OPTION_WORDS, "3", "-1", "1e-4", "[1, 2]", "nan", "inf", "[", '"x"', "{a=1}"]),
        ),
        st.text(max_size=10),
    ),
    max_size=3,
)


@settings(max_examples=60)
@given(
    data=section_tables,
    fmt=st.sampled_from([".toml", ".json"]),
    extra=overrides,
    raw=st.sampled_from([None, "syntax", "bytes", "empty", "yaml"]),
)
@example(data={"model": {"channel_mult": [{"": None}]}}, fmt=".json", extra=[], raw=None)
def test_load_config(data, fmt, extra, raw):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"c{fmt}"
        if raw == "syntax":
            path.write_text("[sde\nkind = " if fmt == ".toml" else '{"sde": ')
        elif raw == "bytes":
            path.write_bytes(b"\xff\xfe\x00[sde]")
        elif raw == "empty":
            path.write_text("")
        elif raw == "yaml":
            path = Path(tmp) / "c.yaml"
            path.write_text("sde: {}\n")
        elif fmt == ".json":
            path.write_text(json.dumps(data))
        else:
            path.write_text(_to_toml(data))
        try:
            cfg = fpscore.load_config(path, extra)
        except (ValueError, TypeError):
            return
        _check_config(cfg)


@settings(max_examples=30)
@given(extra=overrides)
@example(extra=["sde.sigma=nan"])
@example(extra=["train.grad_clip=nan"])
def test_config_override(extra):
    try:
        cfg = fpscore.load_config(None, extra)
    except (ValueError, TypeError):
        return
    _check_config(cfg)


# Every float field of the config and the values it allows, written here apart from Config.validate.
FLOAT_RANGES = {
    "model.dropout": lambda v: 0 <= v < 1,
    "model.time_scale": lambda v: 0 < v < math.inf,
    "model.sigma_data": lambda v: 0 < v < math.inf,
    "model.data_mean": math.isfinite,
    "data.t_min": lambda v: 0 <= v < 1,
    "data.strength": math.isfinite,
    "train.lr": lambda v: 0 < v < math.inf,
    "train.grad_clip": lambda v: 0 <= v < math.inf,
    "train.ema_decay": lambda v: 0 <= v < 1,
    "train.weight_decay": lambda v: 0 <= v < math.inf,
}


@settings(max_examples=60)
@given(
    key=st.sampled_from(sorted(FLOAT_RANGES)),
    value=st.one_of(
        st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, 0.5, -1e-300, 1e300]),
        st.floats(-2, 2),
    ),
)
@example(key="model.dropout", value=math.nan)
@example(key="model.time_scale", value=math.nan)
@example(key="model.sigma_data", value=math.nan)
@example(key="model.data_mean", value=math.nan)
@example(key="train.lr", value=math.inf)
@example(key="train.weight_decay", value=math.nan)
def test_config_float_fields(key, value):
    cfg = fpscore.Config()
    cfg.set(key, value)
    if FLOAT_RANGES[key](value):
        cfg.validate()
        assert fpscore.load_config(None, [f"{key}={value!r}"]).to_dict() == cfg.to_dict()
    else:
        with pytest.raises(ValueError, match=key):
            cfg.validate()


@settings(max_examples=30)
@given(
    overrides=st.one_of(
        st.lists(
            st.one_of(st.sampled_from(["sde.sigma=3", "train.steps=2"]), st.sampled_from(WRONG)), max_size=3
        ),
        st.sampled_from(["sde.sigma=3", b"sde.sigma=3", 3, {"sde.sigma": 3}, ("train.steps=2",)]),
    )
)
@example(overrides=[3])
@example(overrides=[None])
@example(overrides="sde.sigma=3")
def test_load_config_override_types(overrides):
    strings = isinstance(overrides, (list, tuple)) and all(isinstance(o, str) for o in overrides)
    try:
        cfg = fpscore.load_config(None, overrides)
    except TypeError:
        assert not strings
        return
    assert strings
    expected = fpscore.Config()
    for o in overrides:
        key, value = o.split("=")
        expected.set(key, int(value))
    assert cfg.to_dict() == expected.to_dict()


@settings(max_examples=20)
@given(path=st.one_of(st.text(max_size=8), st.sampled_from(["", ".", "/", "/nonexistent/c.toml"])))
def test_load_config_missing(path):
    with pytest.raises((FileNotFoundError, ValueError, OSError)):
        fpscore.load_config(Path(tempfile.gettempdir()) / "fpscore-no-such-dir" / path)


# -- caches -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_cache():
    with tempfile.TemporaryDirectory() as tmp:
        images = np.random.default_rng(0).uniform(0, 1, (2, 1, 4, 4))
        fpscore.precompute(images, Path(tmp) / "cache", fpscore.VESDE(2.0), n_steps=2, progress=False)
        yield Path(tmp) / "cache"


def _good_manifest(cache_dir: Path) -> dict:
    return json.loads((cache_dir / "manifest.json").read_text())


def _mutate(manifest, path, value):
    """manifest with the entry at `path` (keys or indices) set to value, or deleted for value=...."""
    out = json.loads(json.dumps(manifest))
    node = out
    for key in path[:-1]:
        node = node[key]
    if value is Ellipsis:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


MANIFEST_PATHS = [
    ("complete",),
    ("parameters",),
    ("parameters", "sde"),
    ("parameters", "sde", "type"),
    ("times",),
    ("data",),
    ("data", "image_shape"),
    ("shards",),
    ("shards", 0),
    ("shards", 0, "start"),
    ("shards", 0, "embedded"),
    ("num_images",),
    ("format_version",),
]


@settings(max_examples=60)
@given(
    where=st.sampled_from(MANIFEST_PATHS),
    value=st.one_of(st.just(...), json_values),
    index=st.integers(-4, 4),
)
@example(where=("parameters",), value=..., index=0)
@example(where=("shards", 0), value=3, index=0)
@example(where=("num_images",), value="x", index=0)
@example(where=("shards", 0, "start"), value=9.223372036854776e18, index=0)
@example(where=("shards", 0, "embedded"), value="ve", index=0)
def test_open_cache_corrupt_manifest(tiny_cache, where, value, index):
    manifest = _mutate(_good_manifest(tiny_cache), where, value)
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = Path(tmp)
        for f in tiny_cache.iterdir():
            (cache_dir / f.name).write_bytes(f.read_bytes())
        (cache_dir / "manifest.json").write_text(json.dumps(manifest))
        try:
            cache = fpscore.open_cache(cache_dir)
            n = len(cache)
            traj = cache.trajectory(index)
        except (ValueError, TypeError, IndexError):
            return
        except OSError as error:  # a manifest naming a shard file that is not there (or no file)
            assert error.filename is not None
            return
        assert -n <= index < n
        assert np.isfinite(np.asarray(traj, dtype=np.float64)).all()
        del cache


@settings(max_examples=40)
@given(
    content=st.one_of(
        json_values.map(json.dumps),
        st.binary(max_size=20).map(lambda b: b.decode("latin-1")),
        st.sampled_from(
            [
                '{"format": "fpscore-embedding-cache"',
                "",
                '{"format": "fpscore-embedding-cache", "format_version": 1}',
            ]
        ),
    ),
    kind=st.sampled_from(["file", "dir-manifest", "missing", "empty"]),
)
def test_open_cache_bad_folders(content, kind):
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = Path(tmp) / "c"
        if kind == "file":
            cache_dir.mkdir()
            (cache_dir / "manifest.json").write_text(content, encoding="latin-1")
        elif kind == "dir-manifest":
            (cache_dir / "manifest.json").mkdir(parents=True)
        elif kind == "empty":
            cache_dir.mkdir()
        with pytest.raises((ValueError, TypeError, FileNotFoundError)):
            fpscore.open_cache(cache_dir)
        with pytest.raises((ValueError, TypeError, FileNotFoundError)):
            fpscore.show_cache(cache_dir, Path(tmp) / "out.png")


@settings(max_examples=40)
@given(
    i=st.one_of(st.integers(-5, 5), st.integers(), st.sampled_from([1.0, 0.5, "0", None, np.int64(1), True]))
)
@example(i=0.5)
@example(i=True)
def test_cache_indices(tiny_cache, i):
    cache = fpscore.open_cache(tiny_cache)
    n = len(cache)
    assert n == 2 and cache.num_bins == 3
    for get, shape in ((cache.trajectory, (3, 1, 4, 4)), (cache.score, (3, 1, 2, 4, 4))):
        try:
            arr = get(i)
        except (IndexError, TypeError, ValueError) as err:
            if isinstance(err, IndexError) and isinstance(i, (int, np.integer)):
                assert not -n <= i < n
            continue
        assert isinstance(i, (int, np.integer)) and -n <= i < n
        assert arr.shape == shape and np.isfinite(arr).all()


@settings(max_examples=10)
@given(
    images=st.one_of(st.integers(-1, 3), st.lists(st.integers(-3, 3), max_size=3)),
    times=st.one_of(st.integers(-1, 4), st.lists(st.integers(-1, 4), max_size=3)),
    field=st.sampled_from(["quiver", "magnitude", "", "Quiver", 3]),
)
def test_show_cache(tiny_cache, images, times, field):
    with tempfile.TemporaryDirectory() as tmp:
        try:
            out = fpscore.show_cache(
                tiny_cache, Path(tmp) / "x.png", images=images, times=times, field=field, dpi=20
            )
        except (ValueError, TypeError):
            return
        assert Path(out).is_file() and Path(out).stat().st_size > 0


# -- torch: samplers and UNet -----------------------------------------------------------------------

SAMPLER_NAMES = ["heun_ode", "euler_ode", "euler_maruyama", "ddpm_ancestral", "generate"]

time_arrays = st.one_of(
    st.lists(st.one_of(st.floats(-1, 2), st.sampled_from([math.nan, math.inf, -math.inf])), max_size=5),
    st.lists(st.floats(1e-3, 1), min_size=2, max_size=5).map(lambda v: sorted(set(v), reverse=True)),
    st.sampled_from([[], [0.5], [1.0, 1.0], [0.1, 0.5], [1.0, 0.0], [1.0, 0.5, 1e-3]]),
)


def _sde(kind):
    return {"ve": fpscore.VESDE(2.0), "vp": fpscore.VPSDE(0.1, 20.0), "c": fpscore.ConstantSDE(1.0)}[kind]


@settings(max_examples=30)
@given(
    name=st.sampled_from(SAMPLER_NAMES),
    times=time_arrays,
    sde=st.sampled_from(["ve", "vp", "c"]),
    shape=st.sampled_from([(2, 1, 4, 4), (1, 3), (3,), ()]),
    dtype=st.sampled_from(["float32", "float64", "int64"]),
    as_numpy=st.booleans(),
)
@example(name="heun_ode", times=[1.0, 0.5], sde="ve", shape=(), dtype="float32", as_numpy=False)
@example(name="ddpm_ancestral", times=[1.0, 0.5], sde="ve", shape=(1, 3), dtype="int64", as_numpy=False)
def test_samplers(name, times, sde, shape, dtype, as_numpy):
    torch = pytest.importorskip("torch")
    sampler = getattr(fpscore.samplers, name)
    x = torch.ones(shape, dtype=getattr(torch, dtype))
    if as_numpy:
        x = x.numpy()
    gen = torch.Generator().manual_seed(0)
    try:
        out = sampler(lambda x, t: -x, _sde(sde), x, times, generator=gen)
    except (ValueError, TypeError):
        return
    assert isinstance(out, torch.Tensor) and tuple(out.shape) == shape
    assert torch.isfinite(out).all()


@settings(max_examples=20)
@given(
    n=st.one_of(st.integers(-2, 5), st.floats(allow_nan=True), st.sampled_from([None, "3"])),
    T=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1.0, 0.5])),
    t_end=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e-3, 0.0])),
)
@example(n=2, T=math.inf, t_end=1e-3)
def test_uniform_times(n, T, t_end):
    pytest.importorskip("torch")
    try:
        t = fpscore.samplers.uniform_times(n, T, t_end)
    except (ValueError, TypeError):
        return
    assert t.ndim == 1 and t.size >= 2 and np.isfinite(t).all() and (np.diff(t) < 0).all()


@settings(max_examples=30)
@given(
    t=st.one_of(
        st.floats(-1, 1),
        st.floats(1, 1e300),
        st.sampled_from([0.5, 1e-3, 0.0, -1.0, math.nan, math.inf, -math.inf, 63.0, 64.0, 3.5e38, 1e39]),
    ),
    shape=st.sampled_from([(2, 1, 4, 4), (1, 3)]),
    dtype=st.sampled_from(["float32", "float64"]),
)
@example(t=math.inf, shape=(1, 3), dtype="float32")
@example(t=1e39, shape=(1, 3), dtype="float32")
@example(t=3.5e38, shape=(1, 3), dtype="float32")
@example(t=100.0, shape=(1, 3), dtype="float32")
def test_tweedie(t, shape, dtype):
    torch = pytest.importorskip("torch")
    x = torch.ones(shape, dtype=getattr(torch, dtype))
    try:
        out = fpscore.samplers.tweedie(lambda x, tb: -x, fpscore.VESDE(2.0), x, t)
    except (ValueError, TypeError):
        # refused only outside (0, inf) or where 4ᵗ (in λ(t)² = (4ᵗ − 1)/(2 ln 2)) overflows the dtype
        assert not 0 < t < math.inf or 2 * t * math.log(2.0) > math.log(torch.finfo(x.dtype).max)
        return
    assert 0 < t < math.inf and tuple(out.shape) == shape
    # x̂₀ = (x + λ²·(−x))/α = 1 − λ² for x = 1 (VE: α = 1)
    lam2 = math.expm1(2 * t * math.log(2.0)) / (2 * math.log(2.0))
    assert torch.allclose(out.double(), torch.full(shape, 1 - lam2, dtype=torch.float64), rtol=1e-5)


@settings(max_examples=15)
@given(
    sigma=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.1, 1.0])),
    n_steps=st.sampled_from([-1, 0, 1, 2, 3]),
    shape=st.sampled_from([(1, 1, 4, 4), (2, 1, 3, 3), (1, 4, 4), (1, 1, 2, 2)]),
)
@example(sigma=0.1, n_steps=1, shape=None)
def test_denoise(sigma, n_steps, shape):
    torch = pytest.importorskip("torch")
    y = [[0.5]] if shape is None else torch.rand(shape, generator=torch.Generator().manual_seed(0))
    try:
        out = fpscore.samplers.denoise(lambda x, t: -x, fpscore.VESDE(2.0), y, sigma, n_steps=n_steps)
    except (ValueError, TypeError):
        return
    assert tuple(out.shape) == shape and torch.isfinite(out).all()


@settings(max_examples=15)
@given(
    channels=st.sampled_from([0, 1, 4, 8, -1, 2.5]),
    mult=st.lists(st.integers(-1, 2), max_size=3),
    image_size=st.sampled_from([0, 4, 8, 6]),
    attn=st.lists(st.integers(0, 8), max_size=2),
    res=st.sampled_from([0, 1, -1]),
    image_channels=st.sampled_from([1, 3, 0]),
    dropout=st.sampled_from([0.0, 0.5, 1.0, -0.1, float("nan")]),
    emb=st.sampled_from(["fourier", "linear", "x"]),
)
@example(channels=-1, mult=[1], image_size=4, attn=[], res=1, image_channels=1, dropout=0.0, emb="fourier")
@example(channels=4, mult=[], image_size=4, attn=[], res=1, image_channels=1, dropout=0.0, emb="fourier")
@example(channels=4, mult=[1], image_size=4, attn=[], res=-1, image_channels=1, dropout=0.0, emb="fourier")
def test_unet(channels, mult, image_size, attn, res, image_channels, dropout, emb):
    torch = pytest.importorskip("torch")
    try:
        net = fpscore.UNet(
            image_channels=image_channels,
            image_size=image_size,
            channels=channels,
            channel_mult=mult,
            num_res_blocks=res,
            attn_resolutions=attn,
            dropout=dropout,
            time_embedding=emb,
        )
    except (ValueError, TypeError):
        return
    assert isinstance(net, torch.nn.Module)

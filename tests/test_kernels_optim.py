"""The fused optimizer kernels (chainrule/kernels/optim.py) equal the NumPy ``update`` they twin, bit for bit.

Each case runs the same optimizer twice on the same start and gradients, kernels on and off
(``chainrule.backends.use_kernels``), and compares the parameters and every state array
exactly, over many steps, for float32 and float64. The kernel path is recognised by what
it does not do: it asks for no scratch array (``Optimizer._workspace``), which every
NumPy reference does. The optimizers' agreement with torch.optim (tests/test_optim_vs_torch.py)
runs with the kernels on, the default.
"""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule as cr
import chainrule.kernels as kernels
import chainrule.optim as optim
from chainrule.backends import kernels_enabled, use_kernels

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# optimizer -> the options it has, each with the values to draw from
OPTIONS = {
    optim.Adam: dict(lr=[1e-3, 0.05], betas=[(0.9, 0.999), (0.5, 0.9)], weight_decay=[0.0, 0.1],
                     amsgrad=[False, True], maximize=[False, True], decoupled_weight_decay=[False, True]),
    optim.AdamW: dict(lr=[1e-3, 0.05], weight_decay=[0.0, 0.01, 0.3], amsgrad=[False, True], maximize=[False, True]),
    optim.NAdam: dict(lr=[2e-3, 0.05], momentum_decay=[4e-3, 0.1], weight_decay=[0.0, 0.1],
                      decoupled_weight_decay=[False, True], maximize=[False, True]),
    optim.RAdam: dict(lr=[1e-3, 0.05], betas=[(0.9, 0.999), (0.9, 0.9)], weight_decay=[0.0, 0.1],
                      decoupled_weight_decay=[False, True], maximize=[False, True]),
    optim.RMSprop: dict(lr=[1e-3, 0.05], alpha=[0.99, 0.9], centered=[False, True], momentum=[0.0, 0.9],
                        weight_decay=[0.0, 0.1], maximize=[False, True]),
    optim.Adagrad: dict(lr=[0.01, 0.2], lr_decay=[0.0, 0.05], weight_decay=[0.0, 0.1],
                        initial_accumulator_value=[0.0, 0.5], maximize=[False, True]),
    optim.SGD: dict(lr=[0.01, 0.1], momentum=[0.0, 0.9], dampening=[0.0, 0.3], weight_decay=[0.0, 0.1],
                    nesterov=[False, True], maximize=[False, True]),
}


@pytest.fixture(autouse=True)
def kernels_restored():
    previous = kernels_enabled()
    yield
    use_kernels(previous)


@st.composite
def optimizer_cases(draw):
    optimizer_class = draw(st.sampled_from(list(OPTIONS)))
    kwargs = {name: draw(st.sampled_from(values)) for name, values in OPTIONS[optimizer_class].items()}
    if optimizer_class is optim.SGD and kwargs["nesterov"]:
        kwargs.update(momentum=0.9, dampening=0.0)           # nesterov needs momentum and no dampening
    shapes = draw(st.lists(st.lists(st.integers(1, 6), min_size=0, max_size=3).map(tuple), min_size=1, max_size=3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return optimizer_class, kwargs, shapes, dtype, draw(st.integers(0, 2**16))


def _run(optimizer_class, kwargs, shapes, dtype, seed, kernels_on, steps=12):
    """Parameters, optimizer and the per-step gradients, after ``steps`` steps on the chosen path."""
    use_kernels(kernels_on)
    rng = np.random.default_rng(seed)
    params = [cr.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True) for shape in shapes]
    opt = optimizer_class(params, **kwargs)
    for _ in range(steps):
        for p in params:
            p.grad = cr.tensor((rng.standard_normal(p.shape) * 3).astype(dtype))
        opt.step()
    return params, opt


def _assert_same(ours, theirs):
    for p, q in zip(ours[0], theirs[0]):
        np.testing.assert_array_equal(p.array, q.array)
    ours_state, theirs_state = ours[1].state_dict()["state"], theirs[1].state_dict()["state"]
    assert ours_state.keys() == theirs_state.keys()
    for index in ours_state:
        assert ours_state[index].keys() == theirs_state[index].keys()
        for name, value in ours_state[index].items():
            other = theirs_state[index][name]
            if isinstance(value, cr.Tensor):
                assert value.dtype == other.dtype
                np.testing.assert_array_equal(value.array, other.array, err_msg=f"state {index}.{name}")
            else:
                assert value == other, f"state {index}.{name}"


@settings(max_examples=60, deadline=None)
@given(optimizer_cases())
def test_each_kernel_equals_its_numpy_reference_bit_for_bit(case):
    optimizer_class, kwargs, shapes, dtype, seed = case
    fused = _run(optimizer_class, kwargs, shapes, dtype, seed, kernels_on=True)
    reference = _run(optimizer_class, kwargs, shapes, dtype, seed, kernels_on=False)
    assert fused[1]._workspaces == {}, "the kernel path asked for scratch: the NumPy reference ran"
    assert reference[1]._workspaces != {}
    _assert_same(fused, reference)


@pytest.mark.parametrize("optimizer_class", list(OPTIONS), ids=[c.__name__ for c in OPTIONS])
def test_inf_and_nan_gradients_give_the_references_values(optimizer_class):
    kwargs = {name: values[-1] for name, values in OPTIONS[optimizer_class].items()}   # every option on
    if optimizer_class is optim.SGD:
        kwargs["dampening"] = 0.0
    results = []
    for on in (True, False):
        use_kernels(on)
        p = cr.tensor(np.linspace(-2, 2, 8, dtype=np.float32), requires_grad=True)
        opt = optimizer_class([p], **kwargs)
        for gradient in ([1.0, -1e30, np.inf, -np.inf, np.nan, 0.0, -0.0, 3.0], [0.5] * 8):
            p.grad = cr.tensor(np.array(gradient, dtype=np.float32))
            with np.errstate(all="ignore"):          # inf - inf and 0/0 on the reference path, by design
                opt.step()
        results.append((p.array.copy(), opt._workspaces == {}))
    np.testing.assert_array_equal(results[0][0], results[1][0])     # NaN where the reference has NaN
    assert results[0][1] and not results[1][1]


@pytest.mark.parametrize("optimizer_class", list(OPTIONS), ids=[c.__name__ for c in OPTIONS])
def test_a_state_dict_saved_on_one_path_resumes_on_the_other(optimizer_class):
    kwargs = {name: values[-1] for name, values in OPTIONS[optimizer_class].items()}
    if optimizer_class is optim.SGD:
        kwargs["dampening"] = 0.0
    straight = _run(optimizer_class, kwargs, [(4, 3), (3,)], np.float32, seed=5, kernels_on=True, steps=8)

    rng = np.random.default_rng(5)
    starts = [rng.standard_normal(shape).astype(np.float32) for shape in [(4, 3), (3,)]]
    params = [cr.tensor(a, requires_grad=True) for a in starts]
    opt = optimizer_class(params, **kwargs)
    for step in range(8):
        if step == 4:                                # save on the kernel path, resume on the reference
            saved = opt.state_dict()
            params = [cr.tensor(p.array.copy(), requires_grad=True) for p in params]
            opt = optimizer_class(params, **kwargs)
            opt.load_state_dict(saved)
        use_kernels(step < 4)
        for p in params:
            p.grad = cr.tensor((rng.standard_normal(p.shape) * 3).astype(np.float32))
        opt.step()
    _assert_same(straight, (params, opt))


def test_arrays_a_kernel_does_not_take_go_to_the_reference():
    use_kernels(True)
    f32 = np.zeros((3, 4), np.float32)
    assert kernels.fusable(np, f32, f32.copy())
    assert not kernels.fusable(np, f32, f32.T.copy().T)              # not C-contiguous
    assert not kernels.fusable(np, f32, f32.astype(np.float64))      # mixed dtypes
    assert not kernels.fusable(np, f32.astype(np.float16))           # no float16 kernel
    assert not kernels.fusable(np, f32, f32[:2])                     # different shapes
    assert not kernels.fusable(object(), f32)                        # another array module (CuPy): never numba
    use_kernels(False)
    assert not kernels.fusable(np, f32)
    p = cr.tensor(np.ones(3, np.float16), requires_grad=True)        # float16 trains on the reference path
    opt = optim.Adam([p], lr=0.1)
    p.grad = cr.tensor(np.ones(3, np.float16))
    use_kernels(True)
    opt.step()
    assert opt._workspaces != {} and p.dtype == cr.float16


def test_without_numba_chainrule_warns_once_and_runs_the_reference(monkeypatch):
    monkeypatch.setattr(kernels, "_numba", None)
    monkeypatch.setitem(sys.modules, "numba", None)                  # `import numba` now raises ImportError
    use_kernels(True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = cr.tensor(np.ones(3), requires_grad=True)
        opt = optim.Adam([p], lr=0.1)
        for _ in range(3):
            p.grad = cr.tensor(np.ones(3))
            opt.step()
    messages = [str(w.message) for w in caught if "numba" in str(w.message)]
    assert len(messages) == 1 and "NumPy reference runs" in messages[0]
    assert opt._workspaces != {}
    np.testing.assert_allclose(p.array, 0.7, rtol=1e-7)              # three Adam steps of lr·g/(|g| + ε)


def test_the_environment_switch_is_read_at_import_and_numba_is_not_imported_by_chainrule():
    code = ("import sys, chainrule, chainrule.backends as b; "
            "print(b.kernels_enabled(), 'numba' in sys.modules)")
    outputs = []
    for value in ("numpy", ""):
        env = dict(os.environ, PYTHONPATH=ROOT, CHAINRULE_KERNELS=value)
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.split())
    assert outputs == [["False", "False"], ["True", "False"]]


def test_use_kernels_wants_a_bool():
    with pytest.raises(TypeError, match="use_kernels: enabled must be True or False"):
        use_kernels("numpy")


def test_a_zero_denominator_gives_numpys_inf_and_nan_not_an_error():
    # eps = 0 and a zero gradient: 0/0 in the step. The kernels use numba's NumPy error model
    # (no ZeroDivisionError), so they give NumPy's NaN, as the reference does.
    results = []
    for on in (True, False):
        use_kernels(on)
        p = cr.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
        opt = optim.Adam([p], lr=0.1, eps=0.0)
        p.grad = cr.tensor(np.array([0.0, 1.0], np.float32))
        with np.errstate(all="ignore"):
            opt.step()
        results.append(p.array.copy())
    np.testing.assert_array_equal(results[0], results[1])
    assert np.isnan(results[0][0]) and results[0][1] == np.float32(2.0) - np.float32(0.1)

"""Every optimizer against torch.optim: same start, same gradients, 100 steps, float64, 1e-6 relative.

Two ways of feeding gradients: a fixed sequence of random gradients handed to
both libraries (sweeps every option combination quickly), and gradients of the
same objective computed by each library's own autodiff (checks the whole path:
loss → backward → .grad → step). Lion has no torch counterpart and is checked
against its update rule written out in NumPy from the paper.
"""
import itertools

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.optim as optim

STEPS = 100
SHAPES = [(3, 4), (4,), (2, 3, 2)]


@pytest.fixture(autouse=True)
def torch_float64():
    # torch keeps scalar state (NAdam's mu_product) in the default dtype: make it float64 too.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _grid(**options):
    """All combinations of the given option values, as a list of kwargs dicts."""
    names = list(options)
    return [dict(zip(names, values)) for values in itertools.product(*options.values())]


# (chainrule class, torch class, list of kwargs). Every combination of the options each optimizer has.
CASES = [
    (optim.SGD, torch.optim.SGD,
     _grid(lr=[0.01], momentum=[0.0, 0.9], dampening=[0.0, 0.3], weight_decay=[0.0, 0.1], maximize=[False, True])
     + _grid(lr=[0.01], momentum=[0.5, 0.9], nesterov=[True], weight_decay=[0.0, 0.1], maximize=[False, True])),
    (optim.Adam, torch.optim.Adam,
     _grid(lr=[0.01], betas=[(0.9, 0.999), (0.8, 0.95)], weight_decay=[0.0, 0.1], amsgrad=[False, True],
           maximize=[False, True])
     + _grid(lr=[0.01], weight_decay=[0.1], amsgrad=[False, True], decoupled_weight_decay=[True])),
    (optim.AdamW, torch.optim.AdamW,
     _grid(lr=[0.01], weight_decay=[0.0, 0.01, 0.2], amsgrad=[False, True], maximize=[False, True])),
    (optim.Adagrad, torch.optim.Adagrad,
     _grid(lr=[0.1], lr_decay=[0.0, 0.05], weight_decay=[0.0, 0.1], initial_accumulator_value=[0.0, 0.5],
           maximize=[False, True]) + _grid(lr=[0.1], eps=[1e-3])),
    (optim.RMSprop, torch.optim.RMSprop,
     _grid(lr=[0.01], alpha=[0.99, 0.9], centered=[False, True], momentum=[0.0, 0.9], weight_decay=[0.0, 0.1],
           maximize=[False, True])),
    (optim.Adadelta, torch.optim.Adadelta,
     _grid(lr=[1.0, 0.5], rho=[0.9, 0.5], weight_decay=[0.0, 0.1], maximize=[False, True])),
    (optim.Adamax, torch.optim.Adamax,
     _grid(lr=[0.01], betas=[(0.9, 0.999), (0.5, 0.9)], weight_decay=[0.0, 0.1], maximize=[False, True])),
    (optim.NAdam, torch.optim.NAdam,
     _grid(lr=[0.01], momentum_decay=[4e-3, 0.1], weight_decay=[0.0, 0.1], decoupled_weight_decay=[False, True],
           maximize=[False, True])),
    (optim.RAdam, torch.optim.RAdam,
     _grid(lr=[0.01], betas=[(0.9, 0.999), (0.9, 0.9)], weight_decay=[0.0, 0.1],
           decoupled_weight_decay=[False, True], maximize=[False, True])),
]
PARAMS = [(ours, theirs, kwargs) for ours, theirs, kwargs_list in CASES for kwargs in kwargs_list]


def _ids(case):
    ours, _, kwargs = case
    return ours.__name__ + "-" + ",".join(f"{k}={v}" for k, v in kwargs.items())


def _random_problem(seed):
    rng = np.random.default_rng(seed)
    start = [rng.standard_normal(shape) for shape in SHAPES]
    grads = [[rng.standard_normal(shape) for shape in SHAPES] for _ in range(STEPS)]
    return start, grads


def _assert_close(ours, theirs, context):
    for index, (p, q) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(p.array, q.detach().numpy(), rtol=1e-6, atol=1e-10,
                                   err_msg=f"{context}: parameter {index} differs")


@pytest.mark.parametrize("case", PARAMS, ids=[_ids(c) for c in PARAMS])
def test_matches_torch_on_a_fixed_gradient_sequence(case):
    ours_class, torch_class, kwargs = case
    start, grads = _random_problem(seed=0)
    ours = [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in start]
    theirs = [torch.tensor(a, requires_grad=True) for a in start]
    ours_opt, torch_opt = ours_class(ours, **kwargs), torch_class(theirs, **kwargs)
    for step_grads in grads:
        for p, q, g in zip(ours, theirs, step_grads):
            p.grad = cr.tensor(g, dtype=cr.float64)
            q.grad = torch.tensor(g)
        ours_opt.step()
        torch_opt.step()
    _assert_close(ours, theirs, f"{ours_class.__name__}({kwargs})")
    # The gradient is an input: the update must leave it untouched.
    np.testing.assert_array_equal(ours[0].grad.array, grads[-1][0])


def _objective(w, b, x, y):
    """The same expression builds a chainrule graph or a torch graph, depending on the inputs."""
    return (((x @ w + b).tanh() - y) ** 2).mean() + 0.1 * (w ** 4).sum()


DEFAULTS = [
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01)),
    (optim.AdamW, torch.optim.AdamW, dict(lr=0.01)),
    (optim.Adagrad, torch.optim.Adagrad, dict(lr=0.1)),
    (optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01, centered=True)),
    (optim.Adadelta, torch.optim.Adadelta, dict()),
    (optim.Adamax, torch.optim.Adamax, dict(lr=0.01)),
    (optim.NAdam, torch.optim.NAdam, dict(lr=0.01)),
    (optim.RAdam, torch.optim.RAdam, dict(lr=0.01)),
]


@pytest.mark.parametrize("case", DEFAULTS, ids=[c[0].__name__ for c in DEFAULTS])
def test_matches_torch_with_gradients_from_each_librarys_autodiff(case):
    """A small regression problem; each library differentiates it itself; two parameter groups."""
    ours_class, torch_class, kwargs = case
    rng = np.random.default_rng(1)
    x_data, y_data = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    w0, b0 = rng.standard_normal((3, 2)) * 0.5, rng.standard_normal(2) * 0.1

    w, b = cr.tensor(w0, dtype=cr.float64, requires_grad=True), cr.tensor(b0, dtype=cr.float64, requires_grad=True)
    tw, tb = torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    x, y = cr.tensor(x_data, dtype=cr.float64), cr.tensor(y_data, dtype=cr.float64)
    tx, ty = torch.tensor(x_data), torch.tensor(y_data)
    # The bias gets its own group with half the learning rate.
    lr = kwargs.get("lr", 1.0)
    ours_opt = ours_class([{"params": [w]}, {"params": [b], "lr": lr / 2}], **kwargs)
    torch_opt = torch_class([{"params": [tw]}, {"params": [tb], "lr": lr / 2}], **kwargs)
    for _ in range(STEPS):
        ours_opt.zero_grad()
        _objective(w, b, x, y).backward()
        ours_opt.step()
        torch_opt.zero_grad()
        _objective(tw, tb, tx, ty).backward()
        torch_opt.step()
    _assert_close([w, b], [tw, tb], ours_class.__name__)


def test_float32_parameters_stay_float32_and_track_torch():
    """In float32 the update stays in float32 (no silent upcast) and agrees with torch to float32 precision."""
    rng = np.random.default_rng(2)
    start = rng.standard_normal((5, 5)).astype(np.float32)
    p = cr.tensor(start, requires_grad=True)
    q = torch.tensor(start, requires_grad=True)
    ours, theirs = optim.Adam([p], lr=0.01, weight_decay=0.1), torch.optim.Adam([q], lr=0.01, weight_decay=0.1)
    for _ in range(50):
        g = rng.standard_normal((5, 5)).astype(np.float32)
        p.grad, q.grad = cr.tensor(g), torch.tensor(g)
        ours.step()
        theirs.step()
    assert p.dtype == np.float32
    assert ours.state[p]["exp_avg"].dtype == np.float32
    np.testing.assert_allclose(p.array, q.detach().numpy(), rtol=1e-4, atol=1e-5)


def _lion_reference(theta, grads, lr, beta1, beta2, weight_decay, maximize):
    """Lion written out from Chen et al. (2023), Algorithm 2, in plain NumPy."""
    theta = theta.copy()
    m = np.zeros_like(theta)
    for g in grads:
        g = -g if maximize else g
        c = beta1 * m + (1 - beta1) * g
        theta = theta - lr * (np.sign(c) + weight_decay * theta)
        m = beta2 * m + (1 - beta2) * g
    return theta


@pytest.mark.parametrize("kwargs", _grid(lr=[1e-3, 0.05], betas=[(0.9, 0.99), (0.5, 0.8)],
                                         weight_decay=[0.0, 0.3], maximize=[False, True]))
def test_lion_matches_the_update_rule_of_the_paper(kwargs):
    rng = np.random.default_rng(3)
    theta0 = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) for _ in range(STEPS)]
    p = cr.tensor(theta0, dtype=cr.float64, requires_grad=True)
    opt = optim.Lion([p], **kwargs)
    for g in grads:
        p.grad = cr.tensor(g, dtype=cr.float64)
        opt.step()
    beta1, beta2 = kwargs["betas"]
    expected = _lion_reference(theta0, grads, kwargs["lr"], beta1, beta2, kwargs["weight_decay"], kwargs["maximize"])
    np.testing.assert_allclose(p.array, expected, rtol=1e-12, atol=1e-12)


def _rosenbrock(x):
    """Works on a chainrule tensor and on a torch tensor alike."""
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


@pytest.mark.parametrize("kwargs", [
    dict(line_search_fn="strong_wolfe"),
    dict(line_search_fn="strong_wolfe", history_size=3, max_iter=7),
    dict(line_search_fn=None, lr=0.05, max_iter=10),
    dict(line_search_fn=None, lr=0.02, history_size=2),
])
def test_lbfgs_matches_torch_on_rosenbrock(kwargs):
    start = np.array([-1.2, 1.0, -1.2, 1.0])
    x = cr.tensor(start, dtype=cr.float64, requires_grad=True)
    tx = torch.tensor(start, requires_grad=True)
    ours, theirs = optim.LBFGS([x], **kwargs), torch.optim.LBFGS([tx], **kwargs)

    def closure():
        ours.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss

    def torch_closure():
        theirs.zero_grad()
        loss = _rosenbrock(tx)
        loss.backward()
        return loss

    for _ in range(6):
        loss = ours.step(closure)
        torch_loss = theirs.step(torch_closure)
        np.testing.assert_allclose(loss.item(), torch_loss.item(), rtol=1e-6, atol=1e-12)
        _assert_close([x], [tx], f"LBFGS({kwargs})")
    state, torch_state = ours.state[x], theirs.state[tx]
    assert state["func_evals"] == torch_state["func_evals"]
    assert state["n_iter"] == torch_state["n_iter"]


from hypothesis import given, settings, strategies as st  # noqa: E402

# Random (not round) hyperparameters for each optimizer: name → strategy of kwargs.
_FRACTION = st.floats(0.0, 0.99)
RANDOM_CASES = {
    "SGD": (optim.SGD, torch.optim.SGD, st.fixed_dictionaries(dict(
        lr=st.floats(1e-4, 0.1), momentum=_FRACTION, dampening=_FRACTION, weight_decay=st.floats(0, 0.5),
        maximize=st.booleans()))),
    "Adam": (optim.Adam, torch.optim.Adam, st.fixed_dictionaries(dict(
        lr=st.floats(1e-4, 0.1), betas=st.tuples(_FRACTION, _FRACTION), eps=st.floats(1e-10, 1e-2),
        weight_decay=st.floats(0, 0.5), amsgrad=st.booleans(), decoupled_weight_decay=st.booleans()))),
    "RMSprop": (optim.RMSprop, torch.optim.RMSprop, st.fixed_dictionaries(dict(
        # alpha near 0 with centered=True makes v - ḡ² pure cancellation error (0/0 up to rounding), where
        # any two implementations part ways; typical values start far above that.
        lr=st.floats(1e-4, 0.1), alpha=st.floats(0.5, 0.999), eps=st.floats(1e-10, 1e-2), momentum=_FRACTION,
        centered=st.booleans()))),
    "NAdam": (optim.NAdam, torch.optim.NAdam, st.fixed_dictionaries(dict(
        lr=st.floats(1e-4, 0.1), betas=st.tuples(_FRACTION, _FRACTION), momentum_decay=st.floats(0, 0.1)))),
    "RAdam": (optim.RAdam, torch.optim.RAdam, st.fixed_dictionaries(dict(
        lr=st.floats(1e-4, 0.1), betas=st.tuples(_FRACTION, _FRACTION), weight_decay=st.floats(0, 0.5)))),
}


@pytest.mark.parametrize("name", list(RANDOM_CASES))
def test_random_hyperparameters_match_torch(name):
    ours_class, torch_class, strategy = RANDOM_CASES[name]

    @settings(max_examples=8, deadline=None)
    @given(kwargs=strategy, seed=st.integers(0, 2 ** 31 - 1))
    def check(kwargs, seed):
        rng = np.random.default_rng(seed)
        start = rng.standard_normal((3, 3))
        p = cr.tensor(start, dtype=cr.float64, requires_grad=True)
        q = torch.tensor(start, requires_grad=True)
        ours_opt, torch_opt = ours_class([p], **kwargs), torch_class([q], **kwargs)
        for _ in range(30):
            g = rng.standard_normal((3, 3))
            p.grad, q.grad = cr.tensor(g, dtype=cr.float64), torch.tensor(g)
            ours_opt.step()
            torch_opt.step()
        _assert_close([p], [q], f"{name}({kwargs})")

    check()

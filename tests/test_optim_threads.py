"""The two-thread optimizer step gives the serial step's results, bit for bit, and surfaces worker errors;
it is opt-in (ParallelUpdates), and the base Optimizer updates on the calling thread."""
import threading

import numpy as np
import pytest

import chainrule as cr
import chainrule.optim as optim
from chainrule.optim.parallel import ParallelUpdates

SHAPES = [(300, 200), (200,), (200, 150), (150,), (10, 150), (10,)]
CASES = [
    (optim.SGD, dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    (optim.Adam, dict(lr=1e-3, amsgrad=True, weight_decay=1e-2)),
    (optim.AdamW, dict(lr=1e-3)),
    (optim.Adamax, dict(lr=2e-3, maximize=True)),
    (optim.NAdam, dict(lr=2e-3, decoupled_weight_decay=True, weight_decay=1e-2)),
    (optim.RAdam, dict(lr=1e-3)),
    (optim.RMSprop, dict(lr=1e-3, centered=True, momentum=0.5)),
    (optim.Adagrad, dict(lr=1e-2)),
    (optim.Adadelta, dict()),
    (optim.Lion, dict(lr=1e-4, weight_decay=0.1)),
]


def _run(optimizer_class, kwargs, threads, steps=5):
    rng = np.random.default_rng(0)
    params = [cr.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True) for shape in SHAPES]
    opt = optimizer_class(params, **kwargs)
    opt.threads = threads
    opt.parallel_min_elements = 0                    # take the threaded path even for these small arrays
    for _ in range(steps):
        for p in params:
            p.grad = cr.tensor(rng.standard_normal(p.shape).astype(np.float32))
        opt.step()
    return [p.array.copy() for p in params], opt.state_dict()


@pytest.mark.parametrize("optimizer_class,kwargs", CASES, ids=[c.__name__ for c, _ in CASES])
def test_two_threads_match_one_bit_for_bit(optimizer_class, kwargs):
    serial_params, serial_state = _run(optimizer_class, kwargs, threads=1)
    threaded_params, threaded_state = _run(optimizer_class, kwargs, threads=2)
    for a, b in zip(serial_params, threaded_params):
        np.testing.assert_array_equal(a, b)
    for index, buffers in serial_state["state"].items():
        for name, value in buffers.items():
            other = threaded_state["state"][index][name]
            if isinstance(value, cr.Tensor):
                np.testing.assert_array_equal(value.array, other.array)
            else:
                assert value == other


def test_an_error_on_the_worker_thread_reaches_the_caller():
    class Broken(optim.SGD):
        def update(self, param, grad, state, group, xp):
            if param.size == 10:                      # the smallest parameter: on the second lane
                raise RuntimeError("broken update")
            super().update(param, grad, state, group, xp)

    params = [cr.tensor(np.ones(shape, np.float32), requires_grad=True) for shape in SHAPES]
    for p in params:
        p.grad = cr.tensor(np.ones(p.shape, np.float32))
    opt = Broken(params, lr=0.1)
    opt.threads, opt.parallel_min_elements = 2, 0
    with pytest.raises(RuntimeError, match="broken update"):
        opt.step()


class _ThreadRecorder(optim.Optimizer):
    """A rule that only notes which thread ran it."""

    def __init__(self, params):
        super().__init__(params, dict(lr=0.1))
        self.threads_seen = set()

    def update(self, param, grad, state, group, xp):
        self.threads_seen.add(threading.current_thread().name)


class _ParallelThreadRecorder(ParallelUpdates, _ThreadRecorder):
    pass


def _threads_used(optimizer_class):
    params = [cr.tensor(np.ones(shape, np.float32), requires_grad=True) for shape in SHAPES]
    for p in params:
        p.grad = cr.tensor(np.ones(p.shape, np.float32))
    opt = optimizer_class(params)
    opt.threads, opt.parallel_min_elements = 2, 0
    opt.step()
    return opt.threads_seen


def test_two_threads_are_opt_in():
    assert _threads_used(_ThreadRecorder) == {threading.current_thread().name}
    assert len(_threads_used(_ParallelThreadRecorder)) == 2
    every_optimizer = [cls for cls, _ in CASES]
    assert all(issubclass(cls, ParallelUpdates) for cls in every_optimizer)
    assert not issubclass(optim.LBFGS, ParallelUpdates)            # it writes its own step

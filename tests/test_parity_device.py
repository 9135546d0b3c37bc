"""chainrule.device, chainrule.cuda and chainrule.accelerator behave as PyTorch's do, and say plainly what is not there."""
import pickle

import numpy
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn


@pytest.mark.parametrize("spelling", ["cpu", "cuda", "cuda:0", "cuda:3", "cpu:0"])
def test_device_prints_and_compares_like_torch(spelling):
    ours, theirs = cr.device(spelling), torch.device(spelling)
    assert (repr(ours), str(ours), ours.type, ours.index) == (repr(theirs), str(theirs), theirs.type, theirs.index)
    for other in ["cpu", "cuda", "cuda:0", "cuda:3"]:
        assert (ours == cr.device(other)) == (theirs == torch.device(other))
    assert hash(ours) == hash(cr.device(spelling))
    assert ours == spelling                        # chainrule also accepts the plain string
    assert pickle.loads(pickle.dumps(ours)) == ours


def test_device_from_type_and_index_and_from_a_number():
    assert cr.device("cuda", 2) == cr.device("cuda:2") == cr.device(2)
    assert cr.device(cr.device("cuda:1")) == cr.device("cuda:1")
    assert {cr.device("cpu"), cr.device("cpu")} == {cr.device("cpu")}


@pytest.mark.parametrize("bad, words", [
    ("tpu", "unknown device 'tpu'"), ("mps", "PyTorch backend that chainrule does not have"),
    ("cuda:x", "unknown device"), ("cuda:1:2", "unknown device"),
])
def test_unknown_devices_are_refused_naming_what_chainrule_has(bad, words):
    with pytest.raises(RuntimeError, match=words) as caught:
        cr.device(bad)
    assert "'cpu'" in str(caught.value) and "CuPy" in str(caught.value)


def test_bad_device_arguments():
    with pytest.raises(RuntimeError, match="index is given twice"):
        cr.device("cuda:1", 1)
    with pytest.raises(RuntimeError, match="non-negative"):
        cr.device("cuda", -1)
    with pytest.raises(TypeError, match="expected a string"):
        cr.device(1.5)


def test_a_tensor_knows_its_device_and_moves_to_the_cpu():
    x = cr.randn(2, 3)
    assert x.device == cr.device("cpu") and isinstance(x.device, cr.device)
    assert x.cpu() is x and x.to("cpu") is x and x.to(cr.device("cpu")) is x
    y = x.to(cr.device("cpu"), cr.float64)
    assert y.dtype == cr.float64 and y.device.type == "cpu"
    assert x.to(cr.zeros(1, dtype=cr.float64)).dtype == cr.float64     # x.to(other): other's device and dtype
    assert x.to("cpu", non_blocking=True) is x


def test_creation_takes_devices_and_the_default_device():
    assert cr.zeros(2, device=cr.device("cpu")).device == "cpu"
    assert cr.tensor([1.0], device="cpu").device == "cpu"
    assert cr.get_default_device() == cr.device("cpu")
    assert str(cr.get_default_device()) == str(torch.get_default_device())
    cr.set_default_device("cpu")
    cr.set_default_device(None)
    assert cr.ones(1).device == "cpu"


def test_modules_move_with_device_objects():
    model = nn.Linear(3, 2)
    weight = model.weight
    assert model.to(cr.device("cpu")) is model and model.weight is weight
    model.to(cr.device("cpu"), cr.float64)
    assert model.weight.dtype == cr.float64


def test_the_gradient_flows_through_a_move():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x.to("cpu", cr.float64) ** 2).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_accelerator_and_cuda_answers_agree():
    available = cr.cuda.is_available()
    assert cr.accelerator.is_available() is available
    assert (cr.cuda.device_count() > 0) is available
    assert cr.accelerator.device_count() == cr.cuda.device_count()
    assert cr.accelerator.current_accelerator() == (cr.device("cuda") if available else None)


@pytest.mark.skipif(cr.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_without_cuda_every_way_in_says_why():
    x = cr.randn(2)
    for attempt, caller in [(lambda: x.cuda(), "Tensor.cuda()"), (lambda: x.to("cuda"), "to('cuda')"),
                            (lambda: cr.zeros(2, device="cuda"), "device='cuda'"),
                            (lambda: cr.set_default_device("cuda"), "set_default_device('cuda')"),
                            (lambda: nn.Linear(2, 2).cuda(), "to('cuda')"),
                            (lambda: cr.cuda.current_device(), "current_device")]:
        with pytest.raises(RuntimeError, match="CUDA is not available") as caught:
            attempt()
        assert caller in str(caught.value) and "is_available()" in str(caught.value)
    assert cr.get_default_device() == "cpu"


@pytest.mark.skipif(not cr.cuda.is_available(), reason="needs CuPy and a GPU")
def test_on_a_gpu_tensors_and_gradients_travel_both_ways():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.cuda()
    assert y.device.type == "cuda" and y.device.index == cr.cuda.current_device()
    (y ** 2).sum().backward()
    assert x.grad.device == "cpu"
    numpy.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    assert cr.zeros(2, device="cuda").device.type == "cuda"

"""Module, Parameter and the containers: the attribute walk, modes, gradients, state dicts and their errors."""
import copy
import pickle

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 4)
        self.norm = nn.BatchNorm1d(4)
        self.scale = nn.Parameter(cr.ones(4))
        self.register_buffer("steps", cr.tensor(0))
        self.register_buffer("scratch", cr.zeros(2), persistent=False)
        self.heads = [nn.Linear(4, 2), nn.Linear(4, 1)]          # a plain list of modules is walked too
        self.by_name = {"tanh": nn.Tanh()}
        self.not_a_parameter = cr.ones(3)                         # a plain tensor is neither parameter nor buffer

    def forward(self, x):
        h = self.norm(self.linear(x)) * self.scale
        return self.heads[0](h)


def test_parameter_is_a_leaf_tensor_that_requires_grad_and_shares_data():
    data = cr.zeros(2, 3)
    parameter = nn.Parameter(data)
    assert isinstance(parameter, cr.Tensor) and parameter.requires_grad and parameter.is_leaf
    parameter.array[0, 0] = 5.0
    assert data.array[0, 0] == 5.0
    assert not nn.Parameter(cr.zeros(1), requires_grad=False).requires_grad
    assert repr(parameter).startswith("Parameter containing:")


def test_walk_finds_parameters_buffers_and_children_in_assignment_order():
    block = Block()
    assert [name for name, _ in block.named_parameters()] == [
        "scale", "linear.weight", "linear.bias", "norm.weight", "norm.bias",
        "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias"]
    assert [name for name, _ in block.named_children()] == ["linear", "norm", "heads.0", "heads.1", "by_name.tanh"]
    assert [name for name, _ in block.named_buffers()] == [
        "steps", "scratch", "norm.running_mean", "norm.running_var", "norm.num_batches_tracked"]
    assert "scratch" not in block.state_dict()
    assert list(block.state_dict())[:3] == ["scale", "steps", "linear.weight"]
    assert len(list(block.modules())) == 6
    assert block.num_parameters() == 4 + (12 + 4) + (4 + 4) + (8 + 2) + (4 + 1)


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2


def test_train_eval_zero_grad_apply_and_requires_grad():
    block = Block()
    block.eval()
    assert not any(m.training for m in block.modules())
    block.train()
    assert all(m.training for m in block.modules())
    block(cr.randn(5, 3)).sum().backward()
    assert block.linear.weight.grad is not None
    block.zero_grad(set_to_none=False)
    assert block.linear.weight.grad is not None and not block.linear.weight.grad.numpy().any()
    block.zero_grad()
    assert block.linear.weight.grad is None
    visited = []
    block.apply(lambda m: visited.append(type(m).__name__))
    assert visited[-1] == "Block" and visited.count("Linear") == 3
    block.requires_grad_(False)
    assert not any(p.requires_grad for p in block.parameters())


def test_state_dict_round_trip_and_loading_from_torch():
    cr.manual_seed(0)
    source, target = Block(), Block()
    source(cr.randn(6, 3))   # moves the BatchNorm running statistics
    target.load_state_dict(source.state_dict())
    for (name, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    source.eval(), target.eval()
    x = cr.randn(4, 3)
    np.testing.assert_array_equal(source(x).detach().numpy(), target(x).detach().numpy())
    # a PyTorch state dict loads directly (same names, same layouts)
    torch_model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    assert list(model.state_dict()) == list(torch_model.state_dict())
    model.load_state_dict(torch_model.state_dict())
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), torch_model[0].weight.detach().numpy())


def test_load_state_dict_errors_name_the_keys_and_shapes():
    model = nn.Sequential(nn.Linear(3, 4))
    state = model.state_dict()
    wrong_shape = dict(state)
    wrong_shape["0.weight"] = cr.zeros(5, 3)
    with pytest.raises(ValueError, match=r"size mismatch for '0.weight': the state dict has shape \(5, 3\) but the "
                                         r"module's tensor has shape \(4, 3\)"):
        model.load_state_dict(wrong_shape)
    missing = {"0.weight": state["0.weight"]}
    with pytest.raises(KeyError, match=r"missing keys .*'0.bias'"):
        model.load_state_dict(missing)
    unexpected = dict(state, extra=cr.zeros(1))
    with pytest.raises(KeyError, match=r"unexpected keys .*'extra'"):
        model.load_state_dict(unexpected)
    assert model.load_state_dict(missing, strict=False) == (["0.bias"], [])


def test_to_double_keeps_parameter_identity_and_converts_float_buffers_only():
    block = Block()
    weight = block.linear.weight
    block.double()
    assert block.linear.weight is weight and weight.dtype == cr.float64
    assert block.norm.running_mean.dtype == cr.float64 and block.norm.num_batches_tracked.dtype == cr.int64
    block.float()
    assert weight.dtype == cr.float32


def test_containers():
    layers = nn.ModuleList([nn.Linear(2, 2)])
    layers.append(nn.Linear(2, 3))
    layers.insert(0, nn.Tanh())
    assert len(layers) == 3 and isinstance(layers[0], nn.Tanh) and len(layers[1:]) == 2
    assert [name for name, _ in layers.named_parameters()] == ["1.weight", "1.bias", "2.weight", "2.bias"]
    heads = nn.ModuleDict({"a": nn.Linear(2, 1)})
    heads["b"] = nn.Linear(2, 2)
    assert list(heads.keys()) == ["a", "b"] and "b" in heads
    assert [name for name, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]
    sequential = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    sequential.append(nn.Linear(3, 1))
    assert sequential(cr.zeros(4, 2)).shape == (4, 1) and len(sequential) == 3
    assert isinstance(sequential[-1], nn.Linear) and len(sequential[:2]) == 2
    with pytest.raises(TypeError, match="Sequential: item '1' is a function, not a Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)
    with pytest.raises(TypeError, match="ModuleList has no forward"):
        layers(cr.zeros(1))
    with pytest.raises(TypeError, match="ModuleDict has no forward"):
        heads(cr.zeros(1))

    class NoForward(nn.Module):
        pass

    with pytest.raises(TypeError, match="NoForward cannot be called: define forward"):
        NoForward()(cr.zeros(1))


def test_repr_shows_the_tree_and_the_parameter_count():
    text = repr(nn.Sequential(nn.Linear(3, 4), nn.ReLU()))
    assert text == ("Sequential(\n  (0): Linear(in_features=3, out_features=4, bias=True)\n  (1): ReLU()\n"
                    ")  # 16 parameters")


def test_forgetting_super_init_and_bad_buffers_raise_clearly():
    class Broken(nn.Module):
        def __init__(self):
            self.weight = nn.Parameter(cr.zeros(1))

    with pytest.raises(RuntimeError, match=r"Broken: Module.__init__\(\) was not called"):
        Broken()
    module = nn.Module()
    with pytest.raises(TypeError, match="must be a Tensor or None"):
        module.register_buffer("b", np.zeros(2))
    module.register_buffer("b", cr.zeros(2))
    with pytest.raises(TypeError, match="cannot assign list to buffer 'b'"):
        module.b = [1, 2]


def test_modules_deepcopy_and_pickle():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert isinstance(clone[0].weight, nn.Parameter) and clone[0].weight.requires_grad
        np.testing.assert_array_equal(clone[0].weight.detach().numpy(), model[0].weight.detach().numpy())
        assert clone[0].weight is not model[0].weight

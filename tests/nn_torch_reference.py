"""Shared helpers for the nn tests: run a chainrule module and the PyTorch module with the same
weights on the same inputs, and compare outputs and every gradient (inputs and parameters)."""
import numpy as np
import torch

import chainrule as cr


def copy_weights(module, torch_module):
    """Load the torch module's parameters and buffers into the chainrule module (same names)."""
    module.load_state_dict({k: v.detach().numpy() for k, v in torch_module.state_dict().items()})


def compare_with_torch(module, torch_module, arrays, rtol=1e-7, atol=1e-9, seed=0, grad_inputs=None):
    """Forward both on ``arrays`` (float64 NumPy inputs), backward a random cotangent, compare everything.

    Returns the chainrule output (for further checks).
    """
    rng = np.random.default_rng(seed)
    if grad_inputs is None:
        grad_inputs = [a.dtype.kind == "f" for a in arrays]
    ours = [cr.tensor(a, requires_grad=g) for a, g in zip(arrays, grad_inputs)]
    theirs = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grad_inputs)]
    out = module(*ours)
    expected = torch_module(*theirs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=rtol, atol=atol,
                               err_msg="forward values differ from PyTorch")
    cotangent = rng.standard_normal(expected.shape)
    (out * cr.tensor(cotangent)).sum().backward()
    (expected * torch.tensor(cotangent)).sum().backward()
    for index, (a, b) in enumerate(zip(ours, theirs)):
        if b.requires_grad:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {index} differs from PyTorch")
    torch_params = dict(torch_module.named_parameters())
    for name, parameter in module.named_parameters():
        assert name in torch_params, f"parameter {name} has no PyTorch counterpart"
        reference = torch_params[name].grad
        if reference is None:
            assert parameter.grad is None or not parameter.grad.numpy().any(), name
            continue
        np.testing.assert_allclose(parameter.grad.numpy(), reference.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of parameter {name} differs from PyTorch")
    for name, buffer in module.named_buffers():
        reference = dict(torch_module.named_buffers())[name]
        np.testing.assert_allclose(buffer.numpy(), reference.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"buffer {name} differs from PyTorch")
    return out


def leaf64(array):
    """A float64 leaf that requires grad (for gradcheck)."""
    return cr.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)

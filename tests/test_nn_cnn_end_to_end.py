"""A whole CNN (conv, batch norm, activations, pooling, dropout off, linear, cross-entropy) trained for a
few SGD steps side by side with the same PyTorch network: the losses and every weight stay equal."""
import numpy as np
import torch

import chainrule as cr
import chainrule.nn as nn
from nn_torch_reference import copy_weights


def _ours():
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding="same", groups=2, padding_mode="reflect"), nn.GroupNorm(2, 6), nn.GELU(),
        nn.AvgPool2d(2, ceil_mode=True), nn.Dropout(0.3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(6, 5), nn.LayerNorm(5), nn.SiLU(), nn.Linear(5, 3),
    )


def _theirs():
    t = torch.nn
    return t.Sequential(
        t.Conv2d(2, 4, 3, padding=1), t.BatchNorm2d(4), t.ReLU(), t.MaxPool2d(2),
        t.Conv2d(4, 6, 3, padding="same", groups=2, padding_mode="reflect"), t.GroupNorm(2, 6), t.GELU(),
        t.AvgPool2d(2, ceil_mode=True), t.Dropout(0.3), t.AdaptiveAvgPool2d(1), t.Flatten(),
        t.Linear(6, 5), t.LayerNorm(5), t.SiLU(), t.Linear(5, 3),
    )


def test_cnn_training_steps_match_torch():
    rng = np.random.default_rng(0)
    model, reference = _ours().double(), _theirs().double()
    copy_weights(model, reference)
    model[8].p = reference[8].p = 0.0   # dropout drawn differently by each library: switch it off here
    images, labels = rng.standard_normal((6, 2, 10, 10)), rng.integers(0, 3, 6)
    loss_fn, torch_loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1), torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    learning_rate = 0.1
    for step in range(3):
        model.zero_grad()
        reference.zero_grad()
        loss = loss_fn(model(cr.tensor(images)), cr.tensor(labels))
        torch_loss = torch_loss_fn(reference(torch.tensor(images)), torch.tensor(labels))
        np.testing.assert_allclose(loss.item(), torch_loss.item(), rtol=1e-10, err_msg=f"step {step}")
        loss.backward()
        torch_loss.backward()
        with cr.no_grad(), torch.no_grad():
            for parameter in model.parameters():
                parameter.sub_(learning_rate * parameter.grad)
            for parameter in reference.parameters():
                parameter.sub_(learning_rate * parameter.grad)
    for name, value in model.state_dict().items():
        np.testing.assert_allclose(value.numpy(), reference.state_dict()[name].numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=name)
    model.eval()
    reference.eval()
    x = rng.standard_normal((2, 2, 10, 10))
    np.testing.assert_allclose(model(cr.tensor(x)).detach().numpy(), reference(torch.tensor(x)).detach().numpy(),
                               rtol=1e-9, atol=1e-11)


def test_training_is_bitwise_deterministic_by_seed():
    def run():
        cr.manual_seed(42)
        model = _ours()
        x = cr.randn(4, 2, 10, 10)
        labels = cr.randint(0, 3, (4,))
        loss = nn.CrossEntropyLoss()(model(x), labels)   # dropout active: draws from the seeded generator
        loss.backward()
        return loss.item(), [p.grad.numpy().copy() for p in model.parameters()]

    (loss_a, grads_a), (loss_b, grads_b) = run(), run()
    assert loss_a == loss_b
    for a, b in zip(grads_a, grads_b):
        np.testing.assert_array_equal(a, b)

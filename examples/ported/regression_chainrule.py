# pytorch/examples' regression (regression/main.py): fit a degree-4 polynomial with one Linear layer,
# smooth L1 loss and plain SGD written by hand on each parameter's .data. The example draws the
# target polynomial, its batches and the layer's start from torch's generator; here they come from
# NumPy's (the lines marked `data`), so that the twins see the same numbers and print the same fit.
from __future__ import print_function
from itertools import count

import numpy as np  # data
import chainrule as torch
import chainrule.nn.functional as F

POLY_DEGREE = 4
rng = np.random.default_rng(0)  # data
W_target = torch.from_numpy(rng.standard_normal((POLY_DEGREE, 1)).astype(np.float32)) * 5  # data
b_target = torch.from_numpy(rng.standard_normal(1).astype(np.float32)) * 5  # data


def make_features(x):
    """Builds features i.e. a matrix with columns [x, x^2, x^3, x^4]."""
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE+1)], 1)


def f(x):
    """Approximated function."""
    return x.mm(W_target) + b_target.item()


def poly_desc(W, b):
    """Creates a string description of a polynomial."""
    result = 'y = '
    for i, w in enumerate(W):
        result += '{:+.2f} x^{} '.format(w, i + 1)
    result += '{:+.2f}'.format(b[0])
    return result


def get_batch(batch_size=32):
    """Builds a batch i.e. (x, f(x)) pair."""
    random = torch.from_numpy(rng.standard_normal(batch_size).astype(np.float32))  # data
    x = make_features(random)
    y = f(x)
    return x, y


# Define model
fc = torch.nn.Linear(W_target.size(0), 1)
with torch.no_grad():  # data
    fc.weight.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, (1, POLY_DEGREE)).astype(np.float32)))  # data
    fc.bias.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, 1).astype(np.float32)))  # data

for batch_idx in count(1):
    # Get data
    batch_x, batch_y = get_batch()

    # Reset gradients
    fc.zero_grad()

    # Forward pass
    output = F.smooth_l1_loss(fc(batch_x), batch_y)
    loss = output.item()

    # Backward pass
    output.backward()

    # Apply gradients
    for param in fc.parameters():
        param.data.add_(-0.1 * param.grad)

    # Stop criterion
    if loss < 1e-3:
        break

    if batch_idx % 100 == 0:  # (the example prints only the end; the twins compare the way there too)
        print('batch {} loss {:.6f}'.format(batch_idx, loss))

print('Loss: {:.6f} after {} batches'.format(loss, batch_idx))
print('==> Learned function:\t' + poly_desc(fc.weight.view(-1), fc.bias))
print('==> Actual function:\t' + poly_desc(W_target.view(-1), b_target))

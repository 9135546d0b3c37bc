# micrograd's engine tests (karpathy/micrograd, test/test_engine.py): test_sanity_check and
# test_more_ops, the halves written with `import torch`. Each builds a small scalar expression,
# backpropagates, and prints the value and the input gradients that micrograd's own Value engine
# must reproduce (micrograd's README: g = 24.7041, a.grad = 138.8338, b.grad = 645.5773).
import torch


def test_sanity_check():
    x = torch.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xpt, ypt = x, y
    print("sanity check: y", ypt.data.item(), "x.grad", xpt.grad.item())


def test_more_ops():
    a = torch.Tensor([-4.0]).double()
    b = torch.Tensor([2.0]).double()
    a.requires_grad = True
    b.requires_grad = True
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    apt, bpt, gpt = a, b, g
    print("more ops: g", gpt.data.item(), "a.grad", apt.grad.item(), "b.grad", bpt.grad.item())


test_sanity_check()
test_more_ops()

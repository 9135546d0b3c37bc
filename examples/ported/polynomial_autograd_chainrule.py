# The PyTorch tutorial's third-order polynomial fit of sin(x) with autograd, gradient steps by hand.
# (The tutorial draws the start with randn; a fixed start lets the twins print the same numbers.)
import math

import chainrule as torch

dtype = torch.float
device = torch.device("cpu")

x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

a = torch.full((), 0.1, device=device, dtype=dtype, requires_grad=True)
b = torch.full((), 0.5, device=device, dtype=dtype, requires_grad=True)
c = torch.full((), -0.2, device=device, dtype=dtype, requires_grad=True)
d = torch.full((), 0.05, device=device, dtype=dtype, requires_grad=True)

learning_rate = 1e-6
for t in range(2000):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")

# The PyTorch autograd tutorial's tour: a one-layer logistic model, its gradients, no_grad, detach,
# Jacobian-vector products that accumulate, and a walk of the graph from the loss to the leaves.
import torch

x = torch.ones(5)
y = torch.zeros(3)
w = torch.linspace(-1.0, 1.0, 15).reshape(5, 3).requires_grad_()
b = torch.tensor([0.1, -0.2, 0.3], requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)

print("z and loss have a grad_fn:", z.grad_fn is not None, loss.grad_fn is not None)


def leaves(node, found, visited):
    """The leaf tensors the graph reaches from ``node``, found through next_functions (each node once)."""
    if node is None or node in visited:
        return found
    visited.add(node)
    if hasattr(node, "variable"):
        found.append(node.variable)
        return found
    for child, _ in node.next_functions:
        leaves(child, found, visited)
    return found


reached = leaves(loss.grad_fn, [], set())
print("leaves reached from the loss:", len(reached), "of them w and b:",
      sum(1 for leaf in reached if leaf is w), sum(1 for leaf in reached if leaf is b))

loss.backward()
print("loss:", round(loss.item(), 6))
print(w.grad)
print(b.grad)

z = torch.matmul(x, w) + b
print(z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w) + b
print(z.requires_grad)
z = torch.matmul(x, w) + b
z_det = z.detach()
print(z_det.requires_grad)

inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nSecond call\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nCall after zeroing gradients\n{inp.grad}")

seen = []
handle = w.register_hook(lambda grad: seen.append(grad.abs().sum().item()))
w.grad = None
torch.nn.functional.binary_cross_entropy_with_logits(torch.matmul(x, w) + b, y).backward()
handle.remove()
print("the hook saw a gradient of size", round(seen[0], 6))

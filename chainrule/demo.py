"""The core at work, in one screen: ``python -m chainrule.demo`` runs this. (``make demo`` runs the
main job instead, ``chainrule train`` on the bundled digits; see the README.)

It fits a logistic-regression model to a seeded two-class data set by plain
gradient descent, printing the loss as it falls, then shows a gradient, a
Hessian and a gradient check, all computed by chainrule itself.
"""
import numpy

import chainrule as cr
from chainrule import func


def make_data(n=200, seed=0):
    """Two Gaussian blobs in 2-D, labelled 0 and 1."""
    rng = numpy.random.default_rng(seed)
    centers = numpy.array([[-1.0, -0.5], [1.0, 0.8]])
    labels = rng.integers(0, 2, n)
    points = centers[labels] + 0.7 * rng.standard_normal((n, 2))
    return cr.tensor(points, dtype=cr.float64), cr.tensor(labels, dtype=cr.float64)


def loss_fn(weights, bias, x, y):
    """Binary cross-entropy from logits z = xw + b:  mean(softplus(z) − y·z)."""
    z = x @ weights + bias
    return (cr.softplus(z) - y * z).mean()


def main():
    cr.manual_seed(0)
    x, y = make_data()
    weights = cr.zeros(2, dtype=cr.float64, requires_grad=True)
    bias = cr.zeros((), dtype=cr.float64, requires_grad=True)
    learning_rate = 5.0

    print("Gradient descent on logistic regression (200 points, 2 features)")
    for step in range(101):
        loss = loss_fn(weights, bias, x, y)
        loss.backward()
        with cr.no_grad():
            weights -= learning_rate * weights.grad
            bias -= learning_rate * bias.grad
        weights.grad = bias.grad = None
        if step % 20 == 0:
            print(f"  step {step:3d}   loss {loss.item():.4f}")

    accuracy = (((x @ weights + bias) > 0) == (y > 0.5)).double().mean().item()
    print(f"  training accuracy: {accuracy:.1%}")

    gradient = func.grad(loss_fn)(weights.detach(), bias.detach(), x, y)
    print("\nThe gradient ∂L/∂w at the fitted weights (small: we are near the minimum):")
    print(" ", gradient)
    hessian = func.hessian(loss_fn)(weights.detach(), bias.detach(), x, y)
    print("The Hessian ∂²L/∂w² = (1/n) Σ σ(z)(1 − σ(z)) x xᵀ (positive definite: a true minimum):")
    print(" ", str(hessian).replace("\n", "\n  "))
    eigenvalues = numpy.linalg.eigvalsh(hessian.numpy())
    print(f"  eigenvalues {eigenvalues.round(4).tolist()}; gradient descent is stable for lr < 2/λmax = {2 / eigenvalues.max():.2f}")

    w_check = weights.detach().requires_grad_()
    ok = func.gradcheck(lambda w: loss_fn(w, bias.detach(), x, y), (w_check,))
    ok2 = func.gradgradcheck(lambda w: loss_fn(w, bias.detach(), x, y), (w_check,))
    print(f"\nGradient check against central differences: first order {'passed' if ok else 'FAILED'}, "
          f"second order {'passed' if ok2 else 'FAILED'}")


if __name__ == "__main__":
    main()

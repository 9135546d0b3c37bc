"""explain(): every chain-rule step with its numbers, and final gradients equal to backward()'s, exactly."""
import numpy
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
from chainrule.explain import explain


def two_layer_network(dtype=cr.float64, hidden=4, seed=0):
    generator = cr.Generator().manual_seed(seed)
    t = {
        "x": cr.randn(3, 2, dtype=dtype, generator=generator),
        "y": cr.tensor([[1.0], [0.0], [1.0]], dtype=dtype),
        "W1": cr.randn(2, hidden, dtype=dtype, generator=generator).requires_grad_(),
        "b1": cr.randn(hidden, dtype=dtype, generator=generator).requires_grad_(),
        "W2": cr.randn(hidden, 1, dtype=dtype, generator=generator).requires_grad_(),
        "b2": cr.randn(1, dtype=dtype, generator=generator).requires_grad_(),
    }
    hidden_layer = (t["x"] @ t["W1"] + t["b1"]).sigmoid()
    loss = ((hidden_layer @ t["W2"] + t["b2"] - t["y"]) ** 2).mean()
    return t, hidden_layer, loss


PARAMETERS = ("W1", "b1", "W2", "b2")


@pytest.mark.parametrize("dtype", [cr.float64, cr.float32])
def test_gradients_equal_backward_exactly(dtype):
    t, _, loss = two_layer_network(dtype)
    explanation = explain(loss, wrt={name: t[name] for name in PARAMETERS}, names={"x": t["x"], "y": t["y"]})
    loss.backward()          # the graph must still be intact after explain()
    for name in PARAMETERS:
        assert explanation.gradients[name].dtype == t[name].grad.numpy().dtype
        assert numpy.array_equal(explanation.gradients[name], t[name].grad.numpy()), name


def test_gradients_match_torch():
    t, _, loss = two_layer_network()
    explanation = explain(loss, wrt={name: t[name] for name in PARAMETERS})
    tt = {k: torch.tensor(v.detach().numpy(), requires_grad=k in PARAMETERS) for k, v in t.items()}
    torch_loss = ((torch.sigmoid(tt["x"] @ tt["W1"] + tt["b1"]) @ tt["W2"] + tt["b2"] - tt["y"]) ** 2).mean()
    torch_loss.backward()
    for name in PARAMETERS:
        numpy.testing.assert_allclose(explanation.gradients[name], tt[name].grad.numpy(), rtol=1e-12, atol=1e-15)


def test_steps_follow_the_chain_rule():
    t, _, loss = two_layer_network()
    explanation = explain(loss, wrt={"W1": t["W1"]}, names={"x": t["x"], "y": t["y"]})
    steps = explanation.steps
    # The walk starts at the output with ∂L/∂L = 1, and goes back op by op to W1.
    assert steps[0].node == "L" and numpy.array_equal(steps[0].upstream, numpy.array(1.0))
    assert [s.op for s in steps] == ["div", "sum", "pow", "sub", "add", "matmul", "sigmoid", "add", "matmul"]
    assert steps[-1].input == "W1" and steps[-1].complete
    # Each step's upstream gradient is the accumulated gradient the previous steps formed for that node.
    final = {s.input: s.accumulated for s in steps if s.complete}
    for step in steps[1:]:
        assert numpy.array_equal(step.upstream, final[step.node])
    # The sigmoid step: x̄ = ȳ·y(1 − y), checked with NumPy on the recorded values.
    sigmoid_step = next(s for s in steps if s.op == "sigmoid")
    hidden = next(n for n in explanation.nodes if n.symbol == sigmoid_step.node).value
    numpy.testing.assert_allclose(sigmoid_step.contribution, sigmoid_step.upstream * hidden * (1 - hidden), rtol=1e-14)
    assert sigmoid_step.derivative == r"\bar{x} = \bar{y}\, y (1 - y)"
    # The matmul step into W1: W̄1 = xᵀ·(upstream).
    numpy.testing.assert_allclose(steps[-1].contribution, t["x"].numpy().T @ steps[-1].upstream, rtol=1e-14)
    assert explanation.paths["W1"] == [["L", "v8", "v7", "v6", "v5", "v4", "v3", "v2", "v1", "W1"]]


def test_renders_as_text_markdown_and_latex():
    t, _, loss = two_layer_network()
    explanation = explain(loss, wrt={name: t[name] for name in PARAMETERS}, names={"x": t["x"], "y": t["y"]})
    text = explanation.text()
    assert str(explanation) == text
    assert "σ(x)" in text and "local derivative" in text and "∂L/∂W1 = ∂L/∂v8" in text
    for name in PARAMETERS:
        assert f"∂L/∂{name} (final)" in text
    gradient_line = numpy.array2string(explanation.gradients["b2"], precision=4, separator=", ")
    assert gradient_line in text
    markdown = explanation.markdown()
    assert "### Backward pass" in markdown and "$\\bar{x} = \\bar{y}\\, y (1 - y)$" in markdown
    latex = explanation.latex()
    assert latex.count(r"\begin{align*}") == latex.count(r"\end{align*}") == 3
    assert r"\frac{\partial L}{\partial W_{1}}" in latex


def test_explain_leaves_the_graph_and_grads_alone():
    t, _, loss = two_layer_network()
    explain(loss, wrt=t["W1"])
    assert t["W1"].grad is None and loss._inputs is not None and loss.requires_grad
    explain(loss, wrt=t["W1"])      # again: nothing was consumed


def test_large_tensors_are_summarized():
    generator = cr.Generator().manual_seed(1)
    W = cr.randn(20, 20, dtype=cr.float64, generator=generator).requires_grad_()
    loss = (W.tanh() ** 2).sum()
    explanation = explain(loss, wrt={"W": W})
    gradient = explanation.gradients["W"]
    text = explanation.text()
    assert f"shape (20, 20), ‖·‖ = {numpy.linalg.norm(gradient):.4g}, min {gradient.min():.4g}, max {gradient.max():.4g}" in text
    expected = 2 * numpy.tanh(W.detach().numpy()) * (1 - numpy.tanh(W.detach().numpy()) ** 2)
    numpy.testing.assert_allclose(gradient, expected, rtol=1e-12)


def test_reused_tensor_sums_its_paths():
    x = cr.tensor([0.5, -1.5], dtype=cr.float64, requires_grad=True)
    y = x * x.sin() + x.exp()
    loss = y.sum()
    explanation = explain(loss, wrt={"x": x})
    loss.backward()
    assert numpy.array_equal(explanation.gradients["x"], x.grad.numpy())
    assert len(explanation.paths["x"]) == 3        # through mul's two inputs (one via sin) and through exp
    into_x = [s for s in explanation.steps if s.input == "x"]
    assert len(into_x) == 3 and [s.complete for s in into_x] == [False, False, True]
    numpy.testing.assert_allclose(into_x[-1].accumulated, numpy.sin(x.detach().numpy()) + x.detach().numpy()
                                  * numpy.cos(x.detach().numpy()) + numpy.exp(x.detach().numpy()), rtol=1e-14)


def test_intermediate_tensor_gradient_equals_retain_grad():
    t, hidden, loss = two_layer_network()
    hidden.retain_grad()
    explanation = explain(loss, wrt={"h": hidden})
    loss.backward()
    assert numpy.array_equal(explanation.gradients["h"], hidden.grad.numpy())


def test_model_parameters_by_name():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Sigmoid(), nn.Linear(5, 2))
    loss = nn.CrossEntropyLoss()(model(cr.randn(4, 3)), cr.tensor([0, 1, 1, 0]))
    explanation = explain(loss, wrt=dict(model.named_parameters()))
    loss.backward()
    for name, parameter in model.named_parameters():
        assert numpy.array_equal(explanation.gradients[name], parameter.grad.numpy())


def test_errors_teach():
    t, _, loss = two_layer_network()
    unused = cr.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="not used to compute the output"):
        explain(loss, wrt=unused)
    with pytest.raises(ValueError, match="requires_grad=True"):
        explain(loss, wrt=t["x"])
    with pytest.raises(ValueError, match="gradient="):
        explain(t["x"] @ t["W1"], wrt=t["W1"])
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        explain(loss, wrt=t["W1"])


def test_non_scalar_output_with_gradient():
    W = cr.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=cr.float64, requires_grad=True)
    out = W.exp()
    seed = numpy.array([[1.0, 0.0], [0.5, 2.0]])
    explanation = explain(out, wrt={"W": W}, gradient=seed)
    numpy.testing.assert_allclose(explanation.gradients["W"], seed * numpy.exp(W.detach().numpy()), rtol=1e-15)


def _printed(line, prefix="="):
    """The value printed on ``line`` after ``prefix`` (up to a trailing '   (shape …)'), as an array."""
    import ast
    line = line.strip()
    assert line.startswith(prefix), line
    return numpy.array(ast.literal_eval(line[len(prefix):].split("   (")[0].strip()), dtype=float)


def _line_after(text, marker, offset=1):
    """The line ``offset`` lines below the first line that starts with ``marker``."""
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith(marker))
    return lines[index + offset]


def test_a_student_can_recompute_a_gradient_from_the_printed_text():
    from chainrule.lab.common import seeded
    with seeded(0):
        model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
    x = cr.randn(4, 2, generator=cr.Generator().manual_seed(1))
    loss = nn.CrossEntropyLoss()(model(x), cr.tensor([0, 1, 1, 0]))
    explanation = explain(loss, wrt=dict(model.named_parameters()), names={"x": x})
    text = explanation.text()
    # Plain text: no LaTeX left; parameters named by module path get their own letter (W, b), and the
    # per-row loss ℓ, the labels y_n and the output L stay apart.
    assert "\\" not in text and "textstyle" not in text
    assert "W = 2.weight" in text and "x = 2.weight" not in text and "b = 0.bias" in text
    assert "ℓ_n = log Σ_c e^(x_nc) - x_(n y_n)" in text and "y = L" not in text
    assert "y_n = the label of row n = [0, 1, 1, 0]" in text
    assert "L = (1/N) Σ_n ℓ_n, the mean over the N = 4 rows, so ∂L/∂ℓ_n = 1/N = 0.25" in text
    # From the printed numbers and formulas alone: ∂L/∂v3_nc = (1/N)(softmax(v3_n)_c − [c = y_n]) …
    logits = _printed(_line_after(text, "v3 = affine(v2, 2.weight, 2.bias)", 2))
    hidden = _printed(_line_after(text, "v2 = tanh(v1)", 2))
    softmax = numpy.exp(logits) / numpy.exp(logits).sum(1, keepdims=True)
    by_hand = (softmax - numpy.eye(2)[[0, 1, 1, 0]]) / 4
    numpy.testing.assert_allclose(by_hand, _printed(_line_after(text, "accumulated:      ∂L/∂v3 (final)", 0),
                                                    "accumulated:      ∂L/∂v3 (final) ="), atol=2e-4)
    # … and ∂L/∂(2.weight) = (∂L/∂v3)ᵀ v2, the printed derivative rule, gives the printed result.
    assert "in these symbols: ∂L/∂2.weight = (∂L/∂v3)ᵀ v2" in text
    printed_gradient = _printed(_line_after(text.split("Result")[1], "∂L/∂2.weight"))
    numpy.testing.assert_allclose(by_hand.T @ hidden, printed_gradient, atol=1e-3)
    numpy.testing.assert_allclose(printed_gradient, explanation.gradients["2.weight"], atol=1e-4)


def test_constants_off_the_path_get_their_letters_too():
    import re
    t, _, loss = two_layer_network()
    text = explain(loss, wrt={"W1": t["W1"]}, names={"x": t["x"], "y": t["y"]}).text()
    # pow's exponent is the constant c1: its letter y must not read as the labels, which are named y here.
    assert re.search(r"in these symbols: ∂L/∂v\d+ = ∂L/∂v\d+ (c\d+) v\d+\^\(\1-1\)", text)
    assert re.search(r"\(z = v\d+, x = v\d+, y = y\)", text)          # sub(v5, y): there y IS the labels

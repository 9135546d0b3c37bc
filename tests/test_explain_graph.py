"""draw_graph / plot_graph: the graph as DOT text (always), SVG and PNG (when Graphviz is installed)."""
import shutil
import warnings

import numpy
import pytest
from matplotlib.figure import Figure

import chainrule as cr
from chainrule.explain import GraphvizMissingWarning, draw_graph, plot_graph
from chainrule.explain.graph import graph_nodes, layer_positions


def network():
    generator = cr.Generator().manual_seed(0)
    x = cr.randn(2, 2, dtype=cr.float64, generator=generator)
    W = cr.randn(2, 3, dtype=cr.float64, generator=generator).requires_grad_()
    b = cr.zeros(3, dtype=cr.float64).requires_grad_()
    loss = (x @ W + b).sigmoid().sum()
    return x, W, b, loss


def test_dot_text_has_every_node_edge_and_formula():
    x, W, b, loss = network()
    drawing = draw_graph(loss, format="dot", names={"x": x, "W": W, "b": b})
    assert drawing.format == "dot" and drawing.data == drawing.source.encode()
    source = drawing.source
    assert source.startswith("digraph chainrule {") and source.rstrip().endswith("}")
    for label in ("v1 = matmul", "v2 = add", "v3 = sigmoid", "L = sum", "W (leaf)", "x (constant)", "shape (2, 3)",
                  "y = σ(x) = 1/(1 + e^(-x))"):
        assert label in source, label
    # 7 tensors (x, W, b, v1, v2, v3, L) and 6 edges: x→v1, W→v1, v1→v2, b→v2, v2→v3, v3→L.
    assert source.count("[label=") == 7 and source.count("->") == 6


def test_gradients_in_the_labels_are_backwards():
    x, W, b, loss = network()
    nodes = graph_nodes(loss, show_grads=True, names={"x": x, "W": W, "b": b})
    source = draw_graph(loss, show_values=True, show_grads=True, format="dot", names={"x": x, "W": W, "b": b}).source
    loss.backward()
    by_symbol = {node.symbol: node for node in nodes}
    assert numpy.array_equal(by_symbol["W"].grad, W.grad.numpy())
    assert numpy.array_equal(by_symbol["b"].grad, b.grad.numpy())
    assert by_symbol["x"].grad is None                                    # a constant gets no gradient
    assert "grad " + numpy.array2string(b.grad.numpy(), precision=3, separator=", ") in source


def test_svg_falls_back_to_dot_text_when_graphviz_is_missing(tmp_path, monkeypatch):
    x, W, b, loss = network()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.warns(GraphvizMissingWarning, match="apt-get install graphviz"):
        drawing = draw_graph(loss, format="svg", path=tmp_path / "graph.svg")
    assert drawing.format == "dot" and drawing.path == str(tmp_path / "graph.dot")
    assert (tmp_path / "graph.dot").read_text() == drawing.source
    assert not (tmp_path / "graph.svg").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz `dot` program is not installed")
@pytest.mark.parametrize("format, magic", [("svg", b"<svg"), ("png", b"\x89PNG")])
def test_renders_with_graphviz(tmp_path, format, magic):
    _, _, _, loss = network()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drawing = draw_graph(loss, show_values=True, format=format, path=tmp_path / f"graph.{format}")
    assert magic in drawing.data[:1000]
    assert (tmp_path / f"graph.{format}").read_bytes() == drawing.data


def test_bad_format_is_refused():
    with pytest.raises(ValueError, match="'svg', 'png' or 'dot'"):
        draw_graph(network()[3], format="pdf")


def test_layers_put_inputs_above_their_consumers_and_plot_on_agg(tmp_path):
    x, W, b, loss = network()
    nodes = graph_nodes(loss, names={"x": x, "W": W, "b": b})
    positions = layer_positions(nodes)
    for node in nodes:
        for parent in node.inputs:
            assert positions[parent][1] > positions[node.key][1]
    figure = Figure()
    ax = figure.add_subplot()
    plot_graph(loss, ax=ax, show_values=True, show_grads=True)
    assert len(ax.texts) == len(nodes) + sum(len(node.inputs) for node in nodes)   # a box per node, an arrow per edge
    figure.savefig(tmp_path / "graph.png")
    assert (tmp_path / "graph.png").read_bytes()[:4] == b"\x89PNG"

"""Seeing the math: the chain rule step by step, the graph, curvature and stability diagnostics.

    explain(loss, wrt=W1)                 every chain-rule step with its numbers   chain_rule.py
    draw_graph(loss, show_grads=True)     the computation graph (Graphviz or DOT)  graph.py
    check_model_gradients(model, ...)     float64 gradient check, per parameter    gradcheck.py
    HessianOperator, hessian_top_eigenvalues, hutchinson_trace,
    spectral_density, gauss_newton_vector_product, learning_rate_advice            curvature.py
    GradientFlow                          per-layer gradient norms over training   flow.py
    random_directions, loss_slice_1d, loss_surface_2d, project_path                landscape.py
"""
from chainrule.explain.chain_rule import Explanation, Node, Step, explain
from chainrule.explain.curvature import (
    GaussNewtonOperator, HessianOperator, LearningRateAdvice, SpectralDensity, TraceEstimate,
    gauss_newton_vector_product, hessian_top_eigenvalues, hessian_vector_product, hutchinson_trace,
    lanczos_quadrature, learning_rate_advice, spectral_density,
)
from chainrule.explain.flow import GradientFlow, GradientFlowReport
from chainrule.explain.gradcheck import ModelGradientReport, check_model_gradients
from chainrule.explain.graph import GraphDrawing, GraphvizMissingWarning, draw_graph, plot_graph, to_dot
from chainrule.explain.landscape import (
    loss_slice_1d, loss_surface_2d, parameter_vector, path_directions, project_path, random_direction,
    set_parameter_vector,
)

__all__ = [
    "explain", "Explanation", "Node", "Step", "draw_graph", "plot_graph", "to_dot", "GraphDrawing",
    "GraphvizMissingWarning", "check_model_gradients", "ModelGradientReport", "HessianOperator",
    "GaussNewtonOperator", "hessian_vector_product", "gauss_newton_vector_product", "hessian_top_eigenvalues",
    "hutchinson_trace", "TraceEstimate", "lanczos_quadrature", "spectral_density", "SpectralDensity",
    "learning_rate_advice", "LearningRateAdvice", "GradientFlow", "GradientFlowReport", "random_direction",
    "loss_slice_1d", "loss_surface_2d", "project_path", "path_directions", "parameter_vector",
    "set_parameter_vector",
]

"""The labs: one visual demonstration per concept, computed with chainrule itself.

    chainrule lab --list                    the topics
    chainrule lab pca --out figures/        one lab: PNG + SVG figure and a short text of its math
    chainrule lab all --out gallery/        every lab, and an index.html gallery

From Python, ``chainrule.lab.run(topic, out_dir)`` returns a ``LabResult`` with
the figure paths, the text and the key numbers. Figures are drawn on
Matplotlib's non-interactive Agg/SVG canvases: no window opens, and the
user's backend is left alone.
"""
import argparse
import html
import os
import sys
import time
from dataclasses import dataclass

from chainrule.core.files import atomic_write
from chainrule.lab.common import LabResult


@dataclass(frozen=True)
class Lab:
    """A topic: its title, a one-line summary, and where its function lives (imported when run).

    ``load()`` imports ``chainrule.lab.<module>`` and returns its ``<function>(out_dir)``.

    Example:
        >>> from chainrule.lab import LABS, Lab
        >>> lab = LABS["taylor"]
        >>> isinstance(lab, Lab), lab.title, lab.load().__name__
        (True, 'Taylor polynomials', 'taylor')
    """

    title: str
    summary: str
    module: str
    function: str

    def load(self):
        import importlib
        return getattr(importlib.import_module(f"chainrule.lab.{self.module}"), self.function)


LABS = {
    "linear-map": Lab("A matrix as a map of the plane", "a 2×2 matrix bending the unit circle and the grid; "
                      "eigenvectors, singular axes, the determinant as a ratio of areas", "linear_algebra", "linear_map"),
    "linear-systems": Lab("Linear systems and inverses", "Ax = b as meeting lines; the condition number as how far "
                          "the solution moves when b is nudged; solve against inv(A) @ b, measured",
                          "linear_algebra", "linear_systems"),
    "pca": Lab("PCA of the digits", "explained variance, the first components as images, the 2-D embedding",
               "linear_algebra", "pca"),
    "derivatives": Lab("Derivatives", "autodiff against finite differences; the V-shaped error against the step",
                       "calculus", "derivatives"),
    "taylor": Lab("Taylor polynomials", "Taylor polynomials by autodiff and their remainder ~ hⁿ⁺¹", "calculus", "taylor"),
    "integrals": Lab("Integrals", "quadrature error shrinking with n; Monte Carlo error ∝ 1/√n", "calculus", "integrals"),
    "limits": Lab("Limits", "sequences converging, with their order and rate; Richardson and Aitken acceleration",
                  "calculus", "limits"),
    "probability": Lab("Probability", "a distribution family; Bayes updating a prior; an MLE fit with its band",
                       "probability", "probability"),
    "statistics": Lab("Hypothesis tests and comparing models", "a t test as its null distribution with the shaded "
                      "p-value; confidence intervals' coverage counted; two models compared by McNemar and a bootstrap",
                      "statistics", "statistics"),
    "information": Lab("Information theory", "entropy of a coin; cross-entropy = entropy + KL as bars; minimising "
                       "cross-entropy is maximum likelihood", "information", "information"),
    "softmax": Lab("Softmax", "temperature from one-hot to uniform; the softmax Jacobian as a heatmap; log-sum-exp "
                   "against the naive formula overflowing", "softmax", "softmax"),
    "gradient-descent": Lab("Gradient descent", "GD, momentum, Nesterov, Adagrad, RMSprop, Adam on Rosenbrock and "
                            "Beale; the step size too small, the fastest 2/(λ_max + λ_min), divergent past 2/λ_max",
                            "optimization", "gradient_descent"),
    "regularization": Lab("Regularization", "L1 against L2 weight paths (sparsity appears); over-fitting with and "
                          "without weight decay and dropout, train against validation", "regularization", "regularization"),
    "activations": Lab("Activations", "each activation and its derivative; vanishing gradients through depth",
                       "networks", "activations"),
    "rnn": Lab("Recurrent networks", "a recurrent cell unrolled through time; gradient norms through time, vanishing "
               "for a tanh RNN and carried by an LSTM, on a memory task", "recurrent", "recurrent"),
    "convolution": Lab("Convolution", "output sizes under stride, padding, dilation, pooling; kernels on a digit; im2col",
                       "networks", "convolution"),
    "backprop": Lab("Backpropagation", "the chain rule step by step on a small network, and its graph with gradients",
                    "networks", "backprop"),
    "sgd": Lab("Mini-batch SGD and schedules", "real mini-batches of a real loss: batch size against the noise of the "
               "path; every learning-rate schedule over one run", "optimization", "sgd"),
    "lr-finder": Lab("Learning-rate finder", "the range test: loss against an exponentially growing learning rate",
                     "optimization", "lr_finder"),
    "curvature": Lab("Curvature", "Hessian eigenvalues, trace and spectral density from Hessian-vector products; "
                     "the 2/λ_max limit", "curvature", "curvature"),
    "landscape": Lab("Loss landscape", "2-D and 1-D slices of the loss with the optimizer's path", "curvature", "landscape"),
}


def list_labs():
    """The topics with their one-line summaries, one per line.

    Example:
        >>> from chainrule.lab import list_labs
        >>> line = list_labs().splitlines()[2]
        >>> line.split()[0], " ".join(line.split()[1:])
        ('pca', 'explained variance, the first components as images, the 2-D embedding')
    """
    width = max(len(topic) for topic in LABS)
    return "\n".join(f"{topic:<{width}}  {lab.summary}" for topic, lab in LABS.items())


def run(topic, out_dir="lab-output"):
    """Run one lab: compute, draw, write ``topic``.png/.svg and ``topic``.md into ``out_dir``.

    Returns a ``LabResult`` (``figures``, ``text``, ``numbers``, ``data``).

    Example:
        >>> import tempfile, chainrule.lab
        >>> result = chainrule.lab.run("linear-map", tempfile.mkdtemp())
        >>> round(result.numbers["determinant"], 6), [p.rsplit(".", 1)[1] for p in result.figures]
        (1.26, ['png', 'svg'])
    """
    if topic not in LABS:
        raise ValueError(f"lab: unknown topic {topic!r}; the topics are: {', '.join(LABS)} (or 'all')")
    return LABS[topic].load()(out_dir)


def _gallery_html(results, seconds):
    cards = []
    for result in results:
        images = [p for p in result.figures if p.endswith(".svg")]
        image = os.path.basename(images[0]) if images else ""
        cards.append(
            f'<section id="{html.escape(result.topic)}">\n<h2>{html.escape(result.title)}</h2>\n'
            f'<a href="{html.escape(image)}"><img src="{html.escape(image)}" alt="{html.escape(result.title)}"></a>\n'
            f"<pre>{html.escape(result.text)}</pre>\n<p><small>{seconds[result.topic]:.1f} s</small></p>\n</section>"
        )
    contents = "".join(f'<li><a href="#{html.escape(r.topic)}">{html.escape(r.title)}</a></li>' for r in results)
    return (
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>chainrule labs</title>\n"
        "<style>body{font-family:sans-serif;max-width:1400px;margin:auto;padding:1em} img{max-width:100%} "
        "pre{white-space:pre-wrap;background:#f6f6f6;padding:.8em} section{border-top:1px solid #ddd;margin-top:2em}"
        "</style></head><body>\n<h1>chainrule labs</h1>\n<p>Every figure is computed by chainrule; each text states "
        f"the math it shows.</p>\n<ul>{contents}</ul>\n" + "\n".join(cards) + "\n</body></html>\n"
    )


def run_all(out_dir="lab-output", topics=None, progress=None):
    """Run every lab (or ``topics``) into ``out_dir`` and write an ``index.html`` gallery of them.

    Returns (results, path of index.html). ``progress(topic, seconds)`` is called after each lab.

    Example:
        >>> import os, tempfile
        >>> from chainrule.lab import run_all
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     results, index = run_all(folder, topics=["linear-map"])
        ...     [result.topic for result in results], os.path.basename(index), sorted(os.listdir(folder))
        (['linear-map'], 'index.html', ['index.html', 'linear-map.md', 'linear-map.png', 'linear-map.svg'])
    """
    results, seconds = [], {}
    for topic in topics or LABS:
        start = time.perf_counter()
        results.append(run(topic, out_dir))
        seconds[topic] = time.perf_counter() - start
        if progress is not None:
            progress(topic, seconds[topic])
    index = os.path.join(out_dir, "index.html")
    with atomic_write(index, "w", encoding="utf-8") as file:
        file.write(_gallery_html(results, seconds))
    return results, index


def main(argv=None):
    """The ``chainrule lab`` command: ``chainrule lab TOPIC [--out DIR]``, ``--list``, ``all``. Returns the exit status.

    Example:
        >>> import contextlib, io
        >>> from chainrule.lab import main
        >>> with contextlib.redirect_stdout(io.StringIO()) as out:
        ...     status = main(["--list"])
        >>> status, [line.split()[0] for line in out.getvalue().splitlines()][:3]
        (0, ['linear-map', 'linear-systems', 'pca'])
    """
    parser = argparse.ArgumentParser(prog="chainrule lab", description="Visual demonstrations of the math, computed by chainrule.")
    parser.add_argument("topic", nargs="?", help="a topic (see --list), or 'all' for every lab and an index.html gallery")
    parser.add_argument("--out", default="lab-output", help="the folder for figures and texts (default: lab-output)")
    parser.add_argument("--list", action="store_true", help="list the topics and exit")
    args = parser.parse_args(argv)
    if args.list:
        print(list_labs())
        return 0
    if args.topic is None:
        parser.print_usage(sys.stderr)
        print("chainrule lab: name a topic, or 'all'; the topics are:\n" + list_labs(), file=sys.stderr)
        return 2
    if args.topic == "all":
        _, index = run_all(args.out, progress=lambda topic, s: print(f"{topic:<18} {s:5.1f} s", flush=True))
        print(f"gallery: {index}")
        return 0
    if args.topic not in LABS:
        print(f"chainrule lab: unknown topic {args.topic!r}; the topics are:\n{list_labs()}", file=sys.stderr)
        return 2
    result = run(args.topic, args.out)
    print(result)
    return 0


__all__ = ["LABS", "Lab", "LabResult", "list_labs", "run", "run_all", "main"]

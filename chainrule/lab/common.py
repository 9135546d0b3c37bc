"""What every lab shares: the result it returns and how it saves its figure.

Figures are made with ``matplotlib.figure.Figure`` directly (no pyplot), so the
labs never open a window and never change the user's Matplotlib backend; saving
renders with Agg (PNG) and Matplotlib's SVG writer.
"""
import contextlib
import os
from dataclasses import dataclass, field

from matplotlib.figure import Figure

from chainrule.core.files import atomic_write
from chainrule.core.random import get_rng_state, manual_seed, set_rng_state


@dataclass
class LabResult:
    """One lab's output: the figure files, a short text of the math it shows, and its key numbers.

    ``numbers`` holds the values the text quotes (floats, lists); ``data`` holds the
    arrays the figure was drawn from, so that tests and users can check them.

    Example:
        >>> import os, tempfile, chainrule.lab
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     result = chainrule.lab.run("linear-map", folder)
        >>> result.title, [os.path.basename(path) for path in result.figures], round(result.numbers["determinant"], 6)
        ('A matrix as a map of the plane', ['linear-map.png', 'linear-map.svg'], 1.26)
    """

    topic: str
    title: str
    figures: list = field(default_factory=list)
    text: str = ""
    numbers: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    text_path: str = None

    def __str__(self):
        files = "\n".join(f"  {path}" for path in self.figures)
        return f"{self.title}\n\n{self.text}\n\nfigures:\n{files}"


def new_figure(columns=1, rows=1, size=(4.5, 4.0)):
    """A Figure with a grid of axes (a flat list), sized ``size`` per panel."""
    figure = Figure(figsize=(size[0] * columns, size[1] * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    return figure, [ax for row in axes for ax in row]


def save_figure(figure, out_dir, name):
    """Write ``name``.png and ``name``.svg into ``out_dir``; returns the two paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for extension in ("png", "svg"):
        path = os.path.join(out_dir, f"{name}.{extension}")
        with atomic_write(path) as handle:  # a crash mid-save leaves the previous picture whole
            figure.savefig(handle, format=extension, dpi=90)
        # The layout is settled by the first save: keep it rather than solving it again for the SVG.
        figure.set_layout_engine("none")
        paths.append(path)
    return paths


def finish(result, out_dir):
    """Write the lab's text next to its figures (``topic``.md) and return the result."""
    os.makedirs(out_dir, exist_ok=True)
    result.text_path = os.path.join(out_dir, f"{result.topic}.md")
    with atomic_write(result.text_path, "w", encoding="utf-8") as file:
        file.write(f"# {result.title}\n\n{result.text}\n")
    return result


@contextlib.contextmanager
def seeded(seed):
    """Seed chainrule's default generator (layer initialization draws from it) and restore its state
    afterwards, so that a lab is reproducible without changing the caller's random stream."""
    state = get_rng_state()
    manual_seed(seed)
    try:
        yield
    finally:
        set_rng_state(state)

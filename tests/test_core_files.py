"""Every writer replaces its file all at once: a crash mid-write leaves the previous file whole and no temp file.

``chainrule.core.files.atomic_write`` is the one helper; the tests crash it by an exception at the worst
moment (halfway through the bytes, or at the fsync) and by ``kill -9`` of a process writing in a loop,
then check each writer that uses it: IDX files, lab pictures and pages, graph drawings, the LR-finder plot.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy
import pytest
from matplotlib.figure import Figure

import chainrule as cr
import chainrule.core.files
from chainrule.core.files import atomic_write
from chainrule.data import write_idx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _crash_at_fsync(monkeypatch):
    def crash(*arguments):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(chainrule.core.files.os, "fsync", crash)


def _half_written_then_crash(self, handle, *arguments, **keywords):
    handle.write(b"\x89PNG half a picture")
    raise RuntimeError("crash in the middle of savefig")


def test_an_error_halfway_leaves_the_previous_file_and_no_temporary(tmp_path):
    path = tmp_path / "page.html"
    path.write_text("the good page")
    with pytest.raises(RuntimeError, match="halfway"):
        with atomic_write(path, "w", encoding="utf-8") as handle:
            handle.write("the new page, half")
            raise RuntimeError("halfway")
    assert path.read_text() == "the good page" and os.listdir(tmp_path) == ["page.html"]


def test_a_write_replaces_the_file_with_ordinary_permissions(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")
    with atomic_write(path) as handle:
        handle.write(b"new")
    umask = os.umask(0)
    os.umask(umask)
    assert path.read_bytes() == b"new" and os.stat(path).st_mode & 0o777 == 0o666 & ~umask
    assert os.listdir(tmp_path) == ["data.bin"]


def test_bad_mode_and_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="mode must be 'w' or 'wb', got 'a'"):
        with atomic_write(tmp_path / "x", "a"):
            pass
    with pytest.raises(FileNotFoundError, match="the folder .*nowhere does not exist"):
        with atomic_write(tmp_path / "nowhere" / "x"):
            pass


KILLED_WRITER = textwrap.dedent("""
    import sys
    from chainrule.core.files import atomic_write
    version = 0
    while True:
        version += 1
        block = bytes([version % 251]) * (1 << 20)
        with atomic_write(sys.argv[1]) as handle:
            for _ in range(8):  # 8 MiB per version, written in pieces: a kill lands mid-file
                handle.write(block)
""")


def test_kill_9_mid_write_leaves_a_whole_file(tmp_path):
    path = tmp_path / "big.bin"
    env = {**os.environ, "PYTHONPATH": ROOT}
    killed_mid_write = 0
    # Each kill must leave one whole version; at least one of them must land inside a write
    # (the writer almost always is in one, but on a loaded machine a kill can fall between
    # a rename and the next open: one CI run had eight kills in a row land there, so try up
    # to 24 times, the delays spread so that they do not keep meeting the same phase).
    for delay in (0.05, 0.23, 0.11, 0.37, 0.07, 0.29, 0.17, 0.43) * 3:
        if killed_mid_write >= 2:
            break
        writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)], env=env)
        try:
            deadline = time.monotonic() + 30
            while not path.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(delay)
            assert writer.poll() is None, "the writer stopped on its own"
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait()
        data = numpy.fromfile(path, dtype=numpy.uint8)
        assert data.size == 8 << 20 and (data == data[0]).all()  # one whole version, never a mix or a part
        for leftover in tmp_path.glob(".big.bin.*.tmp"):  # what the killed process could not clean up
            leftover.unlink()
            killed_mid_write += 1
    assert killed_mid_write  # the kills did land inside writes (the writer is almost always in one)


# ----- every writer goes through it ------------------------------------------------------------------------
def test_write_idx_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "labels-idx1-ubyte"
    write_idx(path, numpy.array([1, 2, 3], numpy.uint8))
    before = path.read_bytes()
    _crash_at_fsync(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        write_idx(path, numpy.arange(100, dtype=numpy.uint8))
    assert path.read_bytes() == before and os.listdir(tmp_path) == [path.name]


def test_lab_pictures_and_pages_are_atomic(tmp_path, monkeypatch):
    from chainrule.lab.common import LabResult, finish, save_figure

    figure = Figure()
    figure.add_subplot().plot([0, 1], [1, 0])
    png, svg = save_figure(figure, tmp_path, "lab")
    result = finish(LabResult("lab", "A lab", text="the math"), tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}
    assert sorted(before) == ["lab.md", "lab.png", "lab.svg"]
    monkeypatch.setattr(Figure, "savefig", _half_written_then_crash)
    with pytest.raises(RuntimeError, match="crash in the middle of savefig"):
        save_figure(figure, tmp_path, "lab")
    _crash_at_fsync(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        finish(result, tmp_path)
    assert {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)} == before


def test_the_gallery_index_is_atomic(tmp_path, monkeypatch):
    import chainrule.lab
    from chainrule.lab.common import LabResult

    monkeypatch.setattr(chainrule.lab, "run", lambda topic, out_dir: LabResult(topic, "A lab", text="the math"))
    chainrule.lab.run_all(tmp_path, topics=["linear-map"])
    before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}
    assert list(before) == ["index.html"]
    monkeypatch.setattr(chainrule.core.files.os, "replace", lambda *arguments: (_ for _ in ()).throw(OSError(5, "I/O")))
    with pytest.raises(OSError):
        chainrule.lab.run_all(tmp_path, topics=["linear-map"])
    assert {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)} == before


def test_a_graph_drawing_is_atomic(tmp_path, monkeypatch):
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    path = tmp_path / "graph.dot"
    cr.explain.draw_graph((w * w).sum(), format="dot", path=path)
    before = path.read_bytes()
    _crash_at_fsync(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        cr.explain.draw_graph((w * w * w).sum(), format="dot", path=path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["graph.dot"]


def test_the_lr_finder_plot_is_atomic(tmp_path, monkeypatch, capsys):
    from chainrule.cli import main

    out = tmp_path / "lr.png"
    out.write_bytes(b"the previous plot")
    monkeypatch.setattr(Figure, "savefig", _half_written_then_crash)
    assert main(["lr-find", "--model", "mlp", "--num-iter", "3", "--batch-size", "8", "--out", str(out)]) == 1
    assert "crash in the middle of savefig" in capsys.readouterr().err
    assert out.read_bytes() == b"the previous plot" and os.listdir(tmp_path) == ["lr.png"]

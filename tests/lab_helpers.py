"""What every lab test checks first: the figure files exist and are what their names say."""
import os


def assert_figures(result):
    """PNG and SVG written, and the lab's text saved next to them."""
    assert [os.path.splitext(p)[1] for p in result.figures[:2]] == [".png", ".svg"]
    with open(result.figures[0], "rb") as file:
        assert file.read(4) == b"\x89PNG"
    with open(result.figures[1], encoding="utf-8") as file:
        assert "<svg" in file.read(2000)
    with open(result.text_path, encoding="utf-8") as file:
        assert result.text in file.read()

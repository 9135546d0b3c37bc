"""Reading images for chainrule predict: PNGs of any size and colour, .npy arrays of several shapes."""
import matplotlib.image
import numpy
import pytest

from chainrule.cli import main
from chainrule.cli.images import read_images
from chainrule.data import load_digits


@pytest.fixture(scope="module")
def digit():
    images, _ = load_digits("test")
    return images[500, 0]  # a 5, light on dark, in [0, 1]


def test_a_dark_on_light_colour_png_becomes_an_mnist_digit(tmp_path, digit):
    big = numpy.kron(1.0 - digit, numpy.ones((2, 2)))  # 56×56, dark ink on white
    rgb = numpy.stack([big, big, big], axis=-1)
    matplotlib.image.imsave(tmp_path / "five.png", rgb)
    image = read_images(tmp_path / "five.png")
    assert image.shape == (1, 1, 28, 28) and image.dtype == numpy.float32
    assert numpy.abs(image[0, 0] - digit).mean() < 0.05  # inverted back and shrunk to the original


def test_a_transparent_png_counts_as_white_paper(tmp_path, digit):
    rgba = numpy.zeros((28, 28, 4))
    rgba[..., 3] = digit  # black ink whose opacity is the digit, on a transparent background
    matplotlib.image.imsave(tmp_path / "ink.png", rgba)
    assert numpy.abs(read_images(tmp_path / "ink.png")[0, 0] - digit).mean() < 0.02


@pytest.mark.parametrize("shape", [(28, 28), (784,), (3, 28, 28), (3, 784), (3, 1, 28, 28)])
def test_npy_shapes_and_scales(tmp_path, digit, shape):
    count = int(numpy.prod(shape)) // 784
    array = numpy.broadcast_to(digit, (count, 28, 28)).reshape(shape)
    numpy.save(tmp_path / "bytes.npy", numpy.round(array * 255).astype(numpy.uint8))
    numpy.save(tmp_path / "floats.npy", array.astype(numpy.float64))
    for name in ("bytes.npy", "floats.npy"):
        images = read_images(tmp_path / name)
        assert images.shape == (count, 1, 28, 28)
        numpy.testing.assert_allclose(images[0, 0], digit, atol=0.5 / 255 + 1e-6)


def test_a_png_that_is_not_a_png_is_refused(tmp_path):
    (tmp_path / "fake.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot read"):
        read_images(tmp_path / "fake.png")


def test_lab_missing_gives_one_line(monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "chainrule.lab", None)  # as if the labs were not installed
    assert main(["lab", "--list"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "labs are not available" in error

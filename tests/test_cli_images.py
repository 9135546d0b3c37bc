"""Reading images for chainrule predict: PNGs of any size and colour, .npy arrays of several shapes.

And what crosses the border is checked before it costs anything: decompression bombs are refused from
the PNG header in bounded memory, .npy headers that lie allocate nothing, out-of-range pixels are refused.
"""
import os
import struct
import subprocess
import sys
import textwrap
import zlib

import matplotlib.image
import numpy
import pytest
from PIL import Image

from chainrule.cli import main
from chainrule.cli.images import MAX_PIXELS, read_images
from chainrule.data import load_digits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_png_bomb(path, width, height, bit_depth=1, colour_type=0):
    """A valid PNG of width×height black pixels: a few KB on disk, width·height pixels once decoded."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row = b"\0" * (1 + (width * channels * bit_depth + 7) // 8)  # filter byte 0, then zero pixels
    rows_per_block = max(1, (1 << 22) // len(row))
    compressor, body = zlib.compressobj(9), bytearray()
    for start in range(0, height, rows_per_block):
        body += compressor.compress(row * min(rows_per_block, height - start))
    body += compressor.flush()

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", bytes(body))
                     + chunk(b"IEND", b""))
    return path


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


# ----- decompression bombs: refused from the header, in bounded memory ---------------------------------
PEAK_MEMORY_SCRIPT = textwrap.dedent("""
    import resource, sys
    import numpy
    from PIL import Image
    from chainrule.cli.images import read_images
    Image.fromarray(numpy.zeros((28, 28), numpy.uint8)).save(sys.argv[2])
    read_images(sys.argv[2])  # every module and Pillow plugin loaded before measuring
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        read_images(sys.argv[1])
        print("read")
    except ValueError as error:
        print(error)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)  # KiB -> MiB of new peak
""")


@pytest.mark.parametrize("width, height, message", [
    (20000, 20000, "decompression bomb (20000x20000 pixels)"),  # 400 megapixels: over Pillow's own limit
    (9000, 9000, "9000x9000 pixels"),  # 81 megapixels: under Pillow's limit, over ours
])
def test_a_png_bomb_is_refused_in_bounded_memory(tmp_path, width, height, message):
    bomb = write_png_bomb(tmp_path / "bomb.png", width, height)
    assert bomb.stat().st_size < 60_000  # decoded, it would be at least width·height bytes (81 MB, 400 MB)
    result = subprocess.run([sys.executable, "-c", PEAK_MEMORY_SCRIPT, str(bomb), str(tmp_path / "small.png")],
                            capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stderr
    error, peak_growth_mib = result.stdout.strip().rsplit("\n", 1)
    assert message in error and str(bomb) in error
    assert int(peak_growth_mib) < 20  # decoding even the smaller bomb as 1 byte per pixel would add 81 MiB


def test_our_pixel_limit_holds_even_with_pillows_limit_switched_off(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # as if some other library had disabled it
    side = int(MAX_PIXELS ** 0.5) + 1
    bomb = write_png_bomb(tmp_path / "big.png", side, side)
    with pytest.raises(ValueError, match=f"{side}x{side} pixels .* more than the 16.8 megapixels"):
        read_images(bomb)


def test_pillows_bomb_warning_counts_as_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # a 20×20 image is over it, under twice it: a warning
    Image.fromarray(numpy.zeros((20, 20), numpy.uint8)).save(tmp_path / "twenty.png")
    with pytest.raises(ValueError, match="decompression bomb"):
        read_images(tmp_path / "twenty.png")


def test_an_image_at_the_limit_is_read(tmp_path):
    write_png_bomb(tmp_path / "limit.png", 4096, 4096)
    assert read_images(tmp_path / "limit.png").shape == (1, 1, 28, 28)


def test_only_the_png_decoder_is_used(tmp_path):
    Image.fromarray(numpy.zeros((28, 28), numpy.uint8)).save(tmp_path / "digit.gif", format="GIF")
    os.replace(tmp_path / "digit.gif", tmp_path / "digit.png")  # a GIF in disguise
    with pytest.raises(ValueError, match="cannot read .*digit.png as a PNG"):
        read_images(tmp_path / "digit.png")


def test_a_16_bit_gray_png(tmp_path, digit):
    Image.fromarray(numpy.round((1.0 - digit) * 65535).astype(numpy.uint16)).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    numpy.testing.assert_allclose(read_images(tmp_path / "deep.png")[0, 0], digit, atol=1e-4)


# ----- .npy: the header checked against the file before allocating; pixels checked before use --------
def _npy_with_header(path, shape, dtype="<f8", data=b""):
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    with open(path, "wb") as handle:
        numpy.lib.format.write_array_header_1_0(handle, header)
        handle.write(data)
    return path


@pytest.mark.parametrize("shape, data, message", [
    ((10 ** 12, 784), b"\0" * 784 * 8, "claims shape \\(1000000000000, 784\\).*6,272 bytes follow"),
    ((3, 28, 28), b"\0" * 100, "truncated or its header is wrong"),
    ((1, 784), b"\0" * (784 * 8 + 1), "6,273 bytes follow"),
    ((5, 5), b"\0" * 200, "shape \\(5, 5\\); expected \\(28, 28\\)"),
])
def test_an_npy_header_that_lies_allocates_nothing(tmp_path, shape, data, message):
    path = _npy_with_header(tmp_path / "lies.npy", shape, data=data)
    with pytest.raises(ValueError, match=message):
        read_images(path)


@pytest.mark.parametrize("dtype, message", [("|O", "Python objects"), ("<c16", "plain numeric"),
                                            ("<U4", "plain numeric")])
def test_npy_of_objects_or_non_numbers_is_refused(tmp_path, dtype, message):
    with pytest.raises(ValueError, match=message):
        read_images(_npy_with_header(tmp_path / "odd.npy", (28, 28), dtype=dtype))


def test_npy_that_is_not_npy(tmp_path):
    (tmp_path / "text.npy").write_text("hello")
    with pytest.raises(ValueError, match="cannot read .*text.npy as a plain .npy array"):
        read_images(tmp_path / "text.npy")


@pytest.mark.parametrize("values, message", [
    (numpy.full((28, 28), 2 ** 62, numpy.int64), "run from 4.61169e\\+18 to 4.61169e\\+18"),
    (numpy.full((28, 28), 1e300), "run from 1e\\+300"),
    (numpy.full((28, 28), -50.0), "run from -50 to -50"),
    (numpy.full((28, 28), 256, numpy.int16), "run from 256"),
    (numpy.full((28, 28), numpy.nan), "784 non-finite"),
    (numpy.zeros((0, 784)), "no images"),
])
def test_out_of_range_npy_pixels_are_refused_not_clipped(tmp_path, values, message):
    numpy.save(tmp_path / "bad.npy", values)
    with pytest.raises(ValueError, match=message):
        read_images(tmp_path / "bad.npy")

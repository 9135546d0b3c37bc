"""chainrule.lab.main (the `chainrule lab` command), run_all's gallery, and the registry."""
import os

import matplotlib
import pytest

import chainrule.lab


def test_list_names_every_topic(capsys):
    assert chainrule.lab.main(["--list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == list(chainrule.lab.LABS) and {"linear-systems"} <= set(listed) and len(listed) >= 15
    for lab in chainrule.lab.LABS.values():
        assert callable(lab.load())


def test_one_topic_writes_its_files(tmp_path, capsys):
    backend = matplotlib.get_backend()
    assert chainrule.lab.main(["linear-map", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("linear-map.png", "linear-map.svg", "linear-map.md"):
        assert (tmp_path / name).exists() and str(tmp_path / name.replace(".md", ".png")) in out
    assert matplotlib.get_backend() == backend       # the labs never switch the user's backend


def test_unknown_topic_and_missing_topic(tmp_path, capsys):
    assert chainrule.lab.main(["fourier", "--out", str(tmp_path)]) == 2
    assert "unknown topic 'fourier'" in capsys.readouterr().err
    assert chainrule.lab.main([]) == 2
    with pytest.raises(ValueError, match="the topics are"):
        chainrule.lab.run("fourier", str(tmp_path))


def test_gallery(tmp_path):
    results, index = chainrule.lab.run_all(str(tmp_path), topics=["linear-map", "probability"])
    assert index == os.path.join(str(tmp_path), "index.html")
    page = open(index, encoding="utf-8").read()
    for result in results:
        assert f'<img src="{result.topic}.svg"' in page and f'id="{result.topic}"' in page
        assert (tmp_path / f"{result.topic}.svg").exists()
    assert page.count("<section") == 2

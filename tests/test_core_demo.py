"""`make demo` (the core demo) runs and shows what it promises: a falling loss and passing checks."""
import re

from chainrule import demo


def test_core_demo_loss_falls_and_checks_pass(capsys):
    demo.main()
    text = capsys.readouterr().out
    losses = [float(v) for v in re.findall(r"loss (\d+\.\d+)", text)]
    assert len(losses) == 6 and losses[-1] < losses[0] / 5
    assert all(later <= earlier for earlier, later in zip(losses, losses[1:]))
    assert "first order passed, second order passed" in text
    assert "Hessian" in text

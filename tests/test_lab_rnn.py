"""Lab rnn: the unrolled cell is the layer, and the gradient through time vanishes for a tanh RNN but is
carried by an LSTM with its forget gate open."""
import numpy
import pytest
import torch

import chainrule.lab
from chainrule.lab.recurrent import STEPS
from lab_helpers import assert_figures


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return chainrule.lab.run("rnn", tmp_path_factory.mktemp("rnn"))


def test_gradients_through_time(lab):
    assert_figures(lab)
    ratios = lab.numbers["first_to_last"]
    assert ratios["tanh RNN"] < 1e-6                                    # vanished over 40 steps
    assert ratios["LSTM (default init)"] < 1e-4                         # a half-closed forget gate forgets too
    assert ratios["LSTM, forget bias 3"] > 0.05                         # the cell state carries it
    assert lab.numbers["decay_per_step"]["tanh RNN"] < 0.8 < lab.numbers["decay_per_step"]["LSTM, forget bias 3"]
    assert lab.numbers["unrolled_difference"] < 1e-5
    digits = lab.numbers["digit_first_to_last"]                        # the same on digits read row by row
    assert digits["tanh RNN"] < 1e-6 < digits["LSTM, forget bias 3"] and digits["LSTM, forget bias 3"] > 0.05


def test_the_measured_gradients_are_torch_s(lab):
    # The tanh RNN's gradient through time, recomputed by PyTorch with the same weights and inputs.
    model = lab.data["models"]["tanh RNN"]
    rnn = torch.nn.RNN(1, model.rnn.hidden_size, batch_first=True)
    head = torch.nn.Linear(model.rnn.hidden_size, 2)
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(rnn, name).copy_(torch.tensor(getattr(model.rnn, name).detach().numpy()))
        head.weight.copy_(torch.tensor(model.head.weight.detach().numpy()))
        head.bias.copy_(torch.tensor(model.head.bias.detach().numpy()))
    x = torch.tensor(lab.data["x"], requires_grad=True)
    loss = torch.nn.functional.cross_entropy(head(rnn(x)[0][:, -1]), torch.tensor(lab.data["y"]))
    loss.backward()
    expected = numpy.linalg.norm(x.grad.numpy(), axis=2).mean(0)
    assert len(expected) == STEPS
    numpy.testing.assert_allclose(lab.data["norms"]["tanh RNN"], expected, rtol=1e-3, atol=1e-12)

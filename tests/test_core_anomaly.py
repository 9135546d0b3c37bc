"""Anomaly mode names the right op, the user's line and the input ranges, on planted nan and inf."""
import warnings

import pytest

import chainrule as cr


def test_forward_nan_is_named_with_the_creating_line():
    x = cr.tensor([1.0, -1.0])
    with cr.detect_anomaly():
        with pytest.raises(cr.AnomalyError) as info:
            y = x * 2
            z = y.log()  # planted: log of a negative number → nan
    message = str(info.value)
    assert "'log' produced nan/inf" in message
    assert "test_core_anomaly.py" in message and "z = y.log()" in message
    assert "min -2, max 2" in message


def test_backward_inf_is_named():
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with cr.detect_anomaly():
        y = x.sqrt()  # finite forward; its derivative 1/(2√x) is inf at 0
        with pytest.raises(cr.AnomalyError) as info:
            y.sum().backward()
    message = str(info.value)
    assert "gradient of 'sqrt' with respect to its input 0 became inf/nan" in message
    assert "y = x.sqrt()" in message


def test_inputs_already_non_finite_do_not_blame_the_op():
    x = cr.tensor([float("nan"), 1.0])
    with cr.detect_anomaly():
        with pytest.raises(cr.AnomalyError, match="'exp' produced"):
            (x + 1) * 0 + cr.tensor([1000.0, 0.0]).exp()


def test_stable_rewrite_warnings():
    x = cr.randn(3, 4)
    with cr.detect_anomaly():
        with pytest.warns(cr.AnomalyWarning, match="use log_softmax"):
            x.softmax(-1).log()
        with pytest.warns(cr.AnomalyWarning, match="use log1p"):
            (1 + x.abs()).log()
        with pytest.warns(cr.AnomalyWarning, match="use logsumexp"):
            x.exp().sum(-1).log()
        with pytest.warns(cr.AnomalyWarning, match="use expm1"):
            x.exp() - 1
        with pytest.warns(cr.AnomalyWarning, match="softplus"):
            x.sigmoid().log()


def test_off_by_default_and_restored_after_the_block():
    assert not cr.is_anomaly_enabled()
    with cr.detect_anomaly():
        assert cr.is_anomaly_enabled()
    assert not cr.is_anomaly_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cr.tensor([1.0, 2.0]).softmax(0).log()  # no warning outside anomaly mode

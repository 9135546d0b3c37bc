"""Metrics against hand-computed cases and plain-loop NumPy references (no scikit-learn)."""
import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.train import metrics
from chainrule.train.metrics import (
    MetricAccumulator, accuracy, confusion_matrix, f1_score, mean_absolute_error, mean_squared_error, precision,
    precision_recall_f1, r2_score, recall, top_k_accuracy,
)


# ----- hand-computed cases ---------------------------------------------------------------------------
def test_accuracy_by_hand():
    assert accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75
    assert accuracy(cr.tensor([[0.1, 0.9], [0.8, 0.2]]), cr.tensor([1, 1])) == 0.5  # tensors, scores


def test_confusion_matrix_by_hand():
    #           true: 0  0  1  1  1  2
    #      predicted: 0  1  1  1  2  0
    matrix = confusion_matrix([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 2, 0], num_classes=4)
    assert matrix.tolist() == [[1, 1, 0, 0], [0, 2, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]]


def test_precision_recall_f1_by_hand():
    targets, predictions = [0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 2, 0]
    # class 0: TP 1, predicted 2, actual 2 -> p 1/2, r 1/2; class 1: TP 2, predicted 3, actual 3 -> 2/3, 2/3;
    # class 2: TP 0, predicted 1, actual 1 -> 0, 0 (F1 0).
    p, r, f = precision_recall_f1(targets, predictions, average=None)
    numpy.testing.assert_allclose(p, [0.5, 2 / 3, 0.0])
    numpy.testing.assert_allclose(r, [0.5, 2 / 3, 0.0])
    numpy.testing.assert_allclose(f, [0.5, 2 / 3, 0.0])
    assert precision(targets, predictions) == pytest.approx((0.5 + 2 / 3) / 3)
    assert recall(targets, predictions) == pytest.approx((0.5 + 2 / 3) / 3)
    assert f1_score(targets, predictions) == pytest.approx((0.5 + 2 / 3) / 3)


def test_a_class_never_predicted_or_absent_counts_zero():
    p, r, f = precision_recall_f1([0, 0, 1], [0, 0, 0], num_classes=3, average=None)
    # class 0: p 2/3, r 1; class 1: never predicted -> p 0, r 0; class 2: absent -> 0, 0.
    numpy.testing.assert_allclose(p, [2 / 3, 0, 0])
    numpy.testing.assert_allclose(r, [1, 0, 0])
    numpy.testing.assert_allclose(f, [0.8, 0, 0])


def test_top_k_by_hand():
    scores = numpy.array([[0.1, 0.5, 0.4], [0.7, 0.2, 0.1], [0.3, 0.3, 0.4]])
    targets = [2, 2, 0]
    assert top_k_accuracy(scores, targets, k=1) == pytest.approx(0.0)
    assert top_k_accuracy(scores, targets, k=2) == pytest.approx(2 / 3)  # ties count as hits
    assert top_k_accuracy(scores, targets, k=3) == 1.0
    assert top_k_accuracy(scores, targets, k=10) == 1.0


def test_regression_metrics_by_hand():
    predictions, targets = [2.5, 0.0, 2.0, 8.0], [3.0, -0.5, 2.0, 7.0]
    assert mean_squared_error(predictions, targets) == pytest.approx((0.25 + 0.25 + 0 + 1) / 4)
    assert mean_absolute_error(predictions, targets) == pytest.approx((0.5 + 0.5 + 0 + 1) / 4)
    # mean of targets 2.875; SS_tot = 0.015625 + 11.390625 + 0.765625 + 17.015625 = 29.1875; SS_res = 1.5
    assert r2_score(predictions, targets) == pytest.approx(1 - 1.5 / 29.1875)
    assert r2_score([1.0, 2.0], [1.0, 2.0]) == 1.0
    assert r2_score([2.0, 2.0], [1.0, 1.0]) == 0.0  # constant targets, imperfect fit
    assert r2_score(numpy.full(3, 5.0), [1.0, 2.0, 3.0]) < 0  # worse than the mean


def test_r2_of_several_outputs_averages_the_columns():
    targets = numpy.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    predictions = numpy.array([[1.0, 10.0], [2.0, 20.0], [3.0, 0.0]])
    column_two = 1 - 900.0 / 200.0
    assert r2_score(predictions, targets) == pytest.approx((1.0 + column_two) / 2)


# ----- against plain loops, on random inputs ----------------------------------------------------------
def _loop_confusion(targets, predictions, classes):
    matrix = numpy.zeros((classes, classes), dtype=numpy.int64)
    for true, predicted in zip(targets, predictions):
        matrix[true, predicted] += 1
    return matrix


def _loop_scores(targets, predictions, classes):
    rows = []
    for label in range(classes):
        true_positive = sum(1 for t, p in zip(targets, predictions) if t == label and p == label)
        predicted = sum(1 for p in predictions if p == label)
        actual = sum(1 for t in targets if t == label)
        p = true_positive / predicted if predicted else 0.0
        r = true_positive / actual if actual else 0.0
        rows.append((p, r, 2 * p * r / (p + r) if p + r else 0.0))
    return numpy.array(rows)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6).flatmap(lambda classes: st.tuples(
    st.just(classes), st.lists(st.tuples(st.integers(0, classes - 1), st.integers(0, classes - 1)), min_size=1,
                               max_size=40))))
def test_classification_metrics_match_loops(case):
    classes, pairs = case
    targets = numpy.array([t for t, _ in pairs])
    predictions = numpy.array([p for _, p in pairs])
    assert confusion_matrix(targets, predictions, classes).tolist() == _loop_confusion(targets, predictions,
                                                                                        classes).tolist()
    expected = _loop_scores(targets, predictions, classes)
    got = numpy.stack(precision_recall_f1(targets, predictions, classes, average=None), axis=1)
    numpy.testing.assert_allclose(got, expected, atol=1e-12)
    assert accuracy(predictions, targets) == pytest.approx(numpy.mean([t == p for t, p in pairs]))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(2, 7), st.integers(1, 8), st.integers(0, 2**31 - 1))
def test_top_k_matches_a_sort_by_score(count, classes, k, seed):
    rng = numpy.random.default_rng(seed)
    scores = rng.integers(0, 4, size=(count, classes)).astype(float)  # small integers: plenty of ties
    targets = rng.integers(0, classes, size=count)
    hits = 0
    for row, target in zip(scores, targets):
        higher = sum(1 for value in row if value > row[target])
        hits += higher < k
    assert top_k_accuracy(scores, targets, k) == pytest.approx(hits / count)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 30), st.integers(0, 2**31 - 1))
def test_regression_metrics_match_loops(count, seed):
    rng = numpy.random.default_rng(seed)
    predictions, targets = rng.normal(size=count), rng.normal(size=count)
    mean = sum(targets) / count
    residual = sum((t - p) ** 2 for t, p in zip(targets, predictions))
    total = sum((t - mean) ** 2 for t in targets)
    assert mean_squared_error(predictions, targets) == pytest.approx(residual / count)
    assert mean_absolute_error(predictions, targets) == pytest.approx(sum(abs(t - p) for t, p in zip(targets, predictions)) / count)
    assert r2_score(predictions, targets) == pytest.approx(1 - residual / total)


# ----- the accumulator ---------------------------------------------------------------------------------
def test_accumulator_over_batches_equals_the_metrics_of_the_whole():
    rng = numpy.random.default_rng(0)
    scores, targets = rng.normal(size=(50, 4)), rng.integers(0, 4, size=50)
    losses = rng.uniform(size=3)
    accumulator = MetricAccumulator("classification")
    for (start, stop), loss in zip([(0, 20), (20, 45), (45, 50)], losses):
        accumulator.update(scores[start:stop], targets[start:stop], loss=loss)
    results = accumulator.compute()
    assert results["loss"] == pytest.approx((losses[0] * 20 + losses[1] * 25 + losses[2] * 5) / 50)
    assert results["accuracy"] == accuracy(scores, targets)
    assert results["top5_accuracy"] == 1.0
    assert results["f1"] == pytest.approx(f1_score(targets, scores.argmax(axis=1), 4))
    assert accumulator.running_accuracy() == results["accuracy"]

    restored = MetricAccumulator("classification")
    restored.load_state_dict(accumulator.state_dict())
    assert restored.compute() == results


def test_regression_accumulator():
    accumulator = MetricAccumulator("regression")
    accumulator.update(numpy.array([[1.0], [2.0]]), numpy.array([1.0, 3.0]), loss=0.5)
    results = accumulator.compute()
    assert results["mse"] == 0.5 and results["mae"] == 0.5 and results["loss"] == 0.5


@pytest.mark.parametrize("call, message", [
    (lambda: accuracy([0, 1], [0, 1, 1]), "pair up"),
    (lambda: accuracy([0.5, 1.5], [0, 1]), "integer labels"),
    (lambda: confusion_matrix([0, 3], [0, 1], num_classes=3), "0..2"),
    (lambda: precision_recall_f1([0], [0], average="micro"), "macro"),
    (lambda: mean_squared_error([1.0, 2.0], [1.0, 2.0, 3.0]), "same shape"),
    (lambda: top_k_accuracy(numpy.zeros((2, 3)), [0, 1], k=0), "at least 1"),
    (lambda: MetricAccumulator("ranking"), "classification"),
])
def test_bad_input_gets_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_is_better():
    assert metrics.is_better(0.1, 0.2, "min") and not metrics.is_better(0.1, 0.2, "max")
    assert metrics.is_better(0.1, None, "min") and not metrics.is_better(float("nan"), 0.2, "min")

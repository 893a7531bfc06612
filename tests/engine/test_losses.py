"""Batch losses: every example's loss and gradient as the one-example functions give them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visualconv.engine import losses
from visualconv.engine.model import LossSpec, batch_loss


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    n=st.integers(1, 12),
    shape=st.sampled_from([(3,), (2, 3), (1, 4, 2)]),
    reduction=st.sampled_from(losses.MSE_REDUCTIONS),
    seed=st.integers(0, 2**32 - 1),
)
def test_batch_mse_equals_the_loop_over_examples(n, shape, reduction, seed):
    rng = np.random.default_rng(seed)
    output = rng.normal(size=(n, *shape))
    targets = [rng.normal(size=shape) for _ in range(n)]
    values, grads = losses.batch_losses(output, targets, "mse", reduction)
    for i in range(n):
        value, grad = losses.mse(output[i], targets[i], reduction)
        assert values[i] == value
        np.testing.assert_array_equal(grads[i], grad)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(n=st.integers(1, 12), classes=st.integers(1, 7), seed=st.integers(0, 2**32 - 1))
def test_batch_cross_entropy_equals_the_loop_over_examples(n, classes, seed):
    rng = np.random.default_rng(seed)
    output = rng.normal(scale=5.0, size=(n, classes))
    targets = rng.integers(0, classes, size=n).tolist()
    values, grads = losses.batch_losses(output, targets, "cross_entropy")
    for i in range(n):
        value, grad = losses.cross_entropy(output[i], targets[i])
        assert values[i] == value
        np.testing.assert_array_equal(grads[i], grad)


def test_batch_loss_is_the_mean_and_its_gradient_is_scaled_by_the_batch():
    output = np.array([[2.0, 0.0], [0.0, 1.0]])
    targets = [np.array([1.0, 0.0]), np.array([0.0, 3.0])]
    value, grad = batch_loss(output, targets, LossSpec(type="mse", reduction="half_sum"))
    # by hand: 1/2 * (1 + 0) and 1/2 * (0 + 4), mean 1.25; gradients (y - t) / 2
    assert value == 1.25
    np.testing.assert_array_equal(grad, [[0.5, 0.0], [0.0, -1.0]])


def test_a_class_index_out_of_range_is_named():
    with pytest.raises(ValueError, match="class index 3 is out of range for 3 outputs"):
        losses.batch_losses(np.zeros((2, 3)), [0, 3], "cross_entropy")

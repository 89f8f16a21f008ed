"""engine.classification_head: the reference of the classification-head check, against its mathematics."""

import numpy as np
import pytest

from engine import classification_head
from engine.model import GPT, GPTConfig


def mean_cross_entropy(x, y, w, b):
    scores = x.astype(np.float64) @ w + b
    scores -= scores.max(axis=1, keepdims=True)
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(y)), y].mean()


def blobs(rng, n, centres):
    labels = rng.integers(0, len(centres), size=n)
    return (centres[labels] + rng.standard_normal((n, centres.shape[1]))).astype(np.float32), labels


def test_one_step_follows_the_gradient_of_the_mean_cross_entropy():
    """After one step from zeros, W = -lr * dL/dW, checked against finite differences."""
    rng = np.random.default_rng(0)
    x, y = blobs(rng, 20, rng.standard_normal((3, 4)) * 2)
    lr = 0.1
    w, b = classification_head.train_classification_head(x, y, 3, steps=1, lr=lr)
    zero_w, zero_b, h = np.zeros((4, 3)), np.zeros(3), 1e-6
    for i in range(4):
        for k in range(3):
            bump = zero_w.copy()
            bump[i, k] = h
            numeric = (mean_cross_entropy(x, y, bump, zero_b) - mean_cross_entropy(x, y, -bump, zero_b)) / (2 * h)
            assert w[i, k] == pytest.approx(-lr * numeric, abs=1e-5)
    for k in range(3):
        bump = np.zeros(3)
        bump[k] = h
        numeric = (mean_cross_entropy(x, y, zero_w, bump) - mean_cross_entropy(x, y, zero_w, -bump)) / (2 * h)
        assert b[k] == pytest.approx(-lr * numeric, abs=1e-5)


def test_training_lowers_the_loss_and_separates_separable_classes():
    rng = np.random.default_rng(1)
    centres = np.array([[4.0, 0.0], [0.0, 4.0], [-4.0, -4.0]])
    x, y = blobs(rng, 300, centres)
    test_x, test_y = blobs(rng, 300, centres)
    w, b = classification_head.train_classification_head(x, y, 3)
    assert w.shape == (2, 3) and b.shape == (3,) and w.dtype == np.float32
    assert mean_cross_entropy(x, y, w, b) < 0.2 < np.log(3)
    assert classification_head.accuracy(test_x, test_y, w, b) > 0.95


def test_labels_must_fit_the_classes():
    x = np.zeros((3, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="labels"):
        classification_head.train_classification_head(x, np.array([0, 1, 3]), 3)
    with pytest.raises(ValueError, match="features"):
        classification_head.train_classification_head(x, np.array([0, 1]), 3)


def test_frozen_features_average_the_final_hidden_states_and_leave_the_model_alone():
    model = GPT.init(GPTConfig(vocab_size=16, n_positions=8, n_embd=8, n_layer=1, n_head=2), seed=0)
    before = {k: v.copy() for k, v in model.params.items()}
    ids = np.array([[1, 2, 3], [4, 5, 6]])
    features = classification_head.frozen_features(model, ids)
    np.testing.assert_allclose(features, model.hidden(ids).mean(axis=1))
    assert features.shape == (2, 8)
    assert all(np.array_equal(before[k], model.params[k]) for k in before)


@pytest.mark.reference
def test_steps_match_pytorch_gradient_descent():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x, y = blobs(rng, 50, rng.standard_normal((4, 6)) * 2)
    w = torch.zeros((6, 4), dtype=torch.float64, requires_grad=True)
    b = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=0.3)
    tx, ty = torch.tensor(x, dtype=torch.float64), torch.tensor(y)
    for _ in range(25):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(tx @ w + b, ty).backward()
        opt.step()
    ours_w, ours_b = classification_head.train_classification_head(x, y, 4, steps=25, lr=0.3)
    np.testing.assert_allclose(ours_w, w.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(ours_b, b.detach().numpy(), atol=1e-5)

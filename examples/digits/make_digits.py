"""Make the shipped example: per-example gradients of binary logistic regression on digits.

Data: scikit-learn's bundled handwritten digits (``sklearn.datasets.load_digits``,
1797 images of 8x8 pixels, shipped inside scikit-learn, no download). scikit-learn is
needed only to run this script, not by adamcheck.

Problem: one-vs-rest, y = 1 for the digit 3 (183 of 1797 images, about 10% positives,
so per-example gradients are skewed the way docs/theory.md sections 4 and 9 care about).
The 64 pixel features are standardised (constant pixels stay 0) and a bias column of
ones is appended: d = 65. Rows are shuffled once with seed 0, so consecutive rows are
not ordered by class.

Loss: the mean log-loss over rows, ell(theta) = (1/N) sum_j ell_j(theta) with
ell_j = log(1 + exp(x_j.theta)) - y_j x_j.theta, whose per-example gradient is
grad ell_j = (sigmoid(x_j.theta) - y_j) x_j (reduction "mean", loss scale 1, each
example differentiated on its own: mean_over = 1).

Points: P = 4 points along plain full-batch gradient descent from theta = 0 with
step 1/L, L = lambda_max(X^T X / N) / 4 (the loss's smoothness constant), after
0, 10, 100 and 1000 steps.

Outputs (deterministic, same bytes on every run):

* ``digits_binary.npz``: ``X`` float64 (1797, 65), ``y`` float64 (1797,) in {0, 1}
  (the simulator's ``--problem logistic --data`` reads these keys);
* ``grads.npz``: ``grads`` float32 (4, 1797, 65) per-example gradients, with
  ``reduction``, ``loss_scale``, ``mean_over``, and ``steps`` (4,), ``theta`` (4, 65).

Run from the repository root: ``python examples/digits/make_digits.py``.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DIGIT = 3
STEPS = (0, 10, 100, 1000)
SEED = 0


def write_npz(path: Path, arrays: dict) -> None:
    """Uncompressed npz with fixed member timestamps (numpy.savez stamps the clock)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, value in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free


def main() -> None:
    from sklearn.datasets import load_digits  # only this script needs scikit-learn

    digits = load_digits()
    pixels = digits.data.astype(np.float64)
    y = (digits.target == DIGIT).astype(np.float64)
    std = pixels.std(axis=0)
    features = (pixels - pixels.mean(axis=0)) / np.where(std > 0, std, 1.0)
    X = np.hstack([features, np.ones((features.shape[0], 1))])
    order = np.random.default_rng(SEED).permutation(X.shape[0])
    X, y = X[order], y[order]
    N, d = X.shape

    L = np.linalg.eigvalsh(X.T @ X / N).max() / 4.0
    theta = np.zeros(d)
    thetas, done = [], 0
    for target in STEPS:
        for _ in range(target - done):
            theta = theta - (X.T @ (sigmoid(X @ theta) - y) / N) / L
        done = target
        thetas.append(theta.copy())
    thetas = np.stack(thetas)
    residual = sigmoid(np.einsum("nd,pd->pn", X, thetas)) - y  # (P, N)
    grads = (residual[:, :, None] * X[None, :, :]).astype(np.float32)

    write_npz(HERE / "digits_binary.npz", {"X": X, "y": y})
    write_npz(HERE / "grads.npz", {
        "grads": grads, "reduction": np.asarray("mean"), "loss_scale": np.asarray(1.0),
        "mean_over": np.asarray(1), "steps": np.asarray(STEPS), "theta": thetas,
    })
    full = grads.astype(np.float64).mean(axis=1)
    print(f"N = {N}, d = {d}, positives = {int(y.sum())} ({y.mean():.1%}), step 1/L = {1 / L:.4g}")
    for s, g in zip(STEPS, full):
        print(f"  after {s:4d} GD steps: |grad ell|^2 = {g @ g:.4g}")


if __name__ == "__main__":
    main()

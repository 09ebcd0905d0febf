"""Least squares and logistic regression on data (X, y) split into mini-batches.

Mini-batch i holds rows [iB, (i+1)B) (the last one is shorter when B does not
divide N, as with a PyTorch DataLoader without ``drop_last``; with ``drop_last=True``
the N mod B leftover rows are dropped, as ``adamcheck estimate`` does with n = N // B);
its loss is the mean over its rows of

* least squares: (x . w - y)^2 / 2,
* logistic (labels in {0, 1}): log(1 + exp(x . w)) - y (x . w).

The full objective is ell(w) = (1/n) sum_i ell_i(w), n = ceil(N/B) (docs/theory.md
section 1), so rows of a short last batch weigh more.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._validate import check_finite_array, check_nonnegative_float, check_positive_int
from ._base import Problem

__all__ = ["LeastSquares", "LogisticRegression", "load_xy"]


def load_xy(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read X (N, d) and y (N,) from an ``.npz`` file, never unpickling.

    Example:
        >>> import numpy as np, tempfile, os
        >>> f = os.path.join(tempfile.mkdtemp(), "d.npz")
        >>> np.savez(f, X=np.eye(2), y=np.array([1.0, 0.0]))
        >>> [a.shape for a in load_xy(f)]
        [(2, 2), (2,)]
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file {str(path)!r} does not exist: check the path")
    if path.is_dir():
        raise DataError(f"data file {str(path)!r} is a folder: give an .npz file holding X and y")
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if not (magic.startswith(b"PK") or magic.startswith(b"\x93NUMPY")):
        raise DataError(
            f"{str(path)!r} is not a NumPy file (.npz/.npy): save X and y with np.savez(FILE, X=X, y=y)"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            if not hasattr(data, "files"):
                raise DataError(
                    f"{str(path)!r} holds a single array: save X and y together with np.savez(FILE, X=X, y=y)"
                )
            missing = [k for k in ("X", "y") if k not in data.files]
            if missing:
                raise DataError(
                    f"{str(path)!r} has arrays {sorted(data.files)} but no {' or '.join(missing)}: "
                    "save them with np.savez(FILE, X=X, y=y)"
                )
            X, y = data["X"], data["y"]
    except DataError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataError(
                f"{str(path)!r} contains pickled objects, which adamcheck never loads: "
                "save plain numeric arrays"
            ) from None
        raise DataError(f"cannot read {str(path)!r} as .npz: {exc}") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"cannot read {str(path)!r} as .npz ({exc}): write it with numpy.savez") from None
    return _check_xy(X, y)


def _check_xy(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = check_finite_array(X, "X", ndim=2)
    y = check_finite_array(y, "y", ndim=(1, 2))
    if y.ndim == 2:
        if y.shape[1] != 1:
            raise DataError(f"y has shape {y.shape}: give one target per row, shape (N,)")
        y = y[:, 0]
    if y.shape[0] != X.shape[0]:
        raise DataError(f"X has {X.shape[0]} rows but y has {y.shape[0]}: give one target per row of X")
    return X, y


class _BatchedData(Problem):
    loss_floor = 0.0  # both losses are non-negative

    def __init__(self, X: Any, y: Any, batch_size: int, dtype: Any = np.float64, drop_last: bool = False):
        X, y = _check_xy(X, y)
        self.batch_size = check_positive_int(batch_size, "batch size")
        N = X.shape[0]
        if self.batch_size > N:
            raise InvalidParameterError(
                f"batch size {self.batch_size} is larger than the data ({N} rows): use at most {N}"
            )
        self.dtype = np.dtype(dtype)
        self.X = np.ascontiguousarray(X, dtype=self.dtype)
        self.y = np.ascontiguousarray(y, dtype=self.dtype)
        self.dim = X.shape[1]
        self.drop_last = bool(drop_last)
        if self.drop_last:
            N = (N // self.batch_size) * self.batch_size
            self.X, self.y = self.X[:N], self.y[:N]
        self.n_components = -(-N // self.batch_size)
        self.starts = np.arange(self.n_components) * self.batch_size
        self.stops = np.minimum(self.starts + self.batch_size, N)
        sizes = (self.stops - self.starts).astype(float)
        # Row weight in the full objective: 1/(n |batch|).
        self.row_weight = np.repeat(1.0 / (self.n_components * sizes), sizes.astype(int))
        self._minimizers: dict[float, np.ndarray | None] = {}

    def _batch(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return self.X[self.starts[i] : self.stops[i]], self.y[self.starts[i] : self.stops[i]]

    def _residual_grad(self, z: np.ndarray, yb: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def gradient(self, x: np.ndarray, comp: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        comps = np.unique(comp)
        for c in comps:
            Xb, yb = self._batch(int(c))
            if comps.size == 1:
                rows = slice(None)
            else:
                rows = np.flatnonzero(comp == c)
            z = Xb @ x[rows].T  # (b, runs)
            r = self._residual_grad(z, yb[:, None])
            out[rows] = (Xb.T @ r).T / Xb.shape[0]
        return out

    def gradient_into(self, x: np.ndarray, comp, out: np.ndarray) -> None:
        if np.ndim(comp) != 0:
            out[...] = self.gradient(x, comp)
            return
        Xb, yb = self._batch(int(comp))
        r = self._residual_grad(Xb @ x.T, yb[:, None])
        np.matmul(r.T, Xb, out=out)
        out /= Xb.shape[0]

    def full_gradient(self, x: np.ndarray) -> np.ndarray:
        """grad ell(w) at every row of x: (runs, d), rows weighted as in the objective."""
        r = self._residual_grad(self.X @ x.T, self.y[:, None])  # (N, runs)
        return (r * self.row_weight[:, None]).T @ self.X

    def minimizer(self, l2: float = 0.0) -> np.ndarray | None:
        """Minimiser of ell(w) + l2/2 |w|^2 (cached), or None if it does not exist."""
        l2 = check_nonnegative_float(l2, "l2")
        if l2 not in self._minimizers:
            self._minimizers[l2] = self._solve(l2)
        return self._minimizers[l2]

    def _solve(self, l2: float) -> np.ndarray | None:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dim": self.dim,
            "n_components": self.n_components,
            "rows": int(self.X.shape[0]),
            "batch_size": self.batch_size,
            "drop_last": self.drop_last,
        }


class LeastSquares(_BatchedData):
    """Mini-batch least squares: ell_i(w) = mean over batch i of (x.w - y)^2 / 2.

    Example:
        >>> import numpy as np
        >>> p = LeastSquares(np.eye(2), np.array([1.0, 2.0]), batch_size=1)
        >>> p.minimizer().tolist()
        [1.0, 2.0]
    """

    name = "lsq"

    def _residual_grad(self, z: np.ndarray, yb: np.ndarray) -> np.ndarray:
        return z - yb

    def loss(self, x: np.ndarray) -> np.ndarray:
        r = self.X @ x.T - self.y[:, None]
        return 0.5 * (self.row_weight @ (r * r))

    def _solve(self, l2: float) -> np.ndarray | None:
        Xw = self.X * self.row_weight[:, None]
        A = self.X.T @ Xw + l2 * np.eye(self.dim)
        b = Xw.T @ self.y
        if np.linalg.matrix_rank(A) < self.dim:
            return None
        return np.linalg.solve(A, b)


class LogisticRegression(_BatchedData):
    """Mini-batch logistic regression, labels in {0, 1}: mean of log(1+e^z) - y z, z = x.w.

    Example:
        >>> import numpy as np
        >>> X = np.array([[1.0], [1.0], [1.0]]); y = np.array([1.0, 1.0, 0.0])
        >>> p = LogisticRegression(X, y, batch_size=3)
        >>> round(float(p.minimizer()[0]), 6)  # log(2/1): the log-odds of the labels
        0.693147
    """

    name = "logistic"

    def __init__(self, X: Any, y: Any, batch_size: int, dtype: Any = np.float64, drop_last: bool = False):
        super().__init__(X, y, batch_size, dtype, drop_last)
        labels = np.unique(self.y)
        if not np.isin(labels, [0.0, 1.0]).all():
            raise DataError(
                f"logistic regression needs labels in {{0, 1}}, found {labels[:5].tolist()}: recode them"
            )

    def _residual_grad(self, z: np.ndarray, yb: np.ndarray) -> np.ndarray:
        from scipy.special import expit

        return expit(z) - yb

    def loss(self, x: np.ndarray) -> np.ndarray:
        z = self.X @ x.T
        return self.row_weight @ (np.logaddexp(0.0, z) - self.y[:, None] * z)

    def _solve(self, l2: float) -> np.ndarray | None:
        from scipy.optimize import minimize
        from scipy.special import expit

        X, y, w = self.X.astype(np.float64), self.y.astype(np.float64), self.row_weight

        def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
            z = X @ theta
            f = w @ (np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * theta @ theta
            g = X.T @ (w * (expit(z) - y)) + l2 * theta
            return float(f), g

        res = minimize(fun, np.zeros(self.dim), jac=True, method="L-BFGS-B",
                       options={"maxiter": 5000, "gtol": 1e-12, "ftol": 1e-15})
        grad_norm = float(np.linalg.norm(fun(res.x)[1]))
        # Separable data has no minimiser: the optimiser walks off to large |w|.
        if not np.all(np.isfinite(res.x)) or np.linalg.norm(res.x) > 1e4 or grad_norm > 1e-7:
            return None
        return res.x

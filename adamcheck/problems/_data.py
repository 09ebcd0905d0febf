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
from .._files import check_input_file, os_reason
from .._limits import check_work
from .._validate import check_finite_array, check_nonnegative_float, check_positive_int, from_tensor
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
    path = check_input_file(path, "data file", fix="give an .npz file holding X and y")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise DataError(f"cannot read data file {str(path)[:80]!r}: {os_reason(exc)}") from None
    if magic.startswith(b"\x93NUMPY"):
        raise DataError(
            f"{str(path)[:80]!r} is a .npy file holding a single array: save X and y together with "
            "np.savez(FILE, X=X, y=y)"
        )
    if not magic.startswith(b"PK"):
        raise DataError(
            f"{str(path)[:80]!r} is not a NumPy file (.npz): save X and y with np.savez(FILE, X=X, y=y)"
        )
    _check_npz_sizes(path)
    try:
        with np.load(path, allow_pickle=False) as data:
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


def _check_npz_sizes(path: Path) -> None:
    """Refuse X/y members whose headers claim more memory than the limits, before loading them.

    A compressed ``.npz`` of a few kilobytes can claim terabytes; ``np.load`` would try
    to allocate them.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            for member in zf.infolist():
                if member.filename not in ("X.npy", "y.npy"):
                    continue
                with zf.open(member) as fh:
                    version = np.lib.format.read_magic(fh)
                    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                            else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read(fh)  # the header only
                nbytes = float(np.prod(shape, dtype=float)) * np.dtype(dtype).itemsize
                check_work(f"{member.filename[:-4]} of shape {tuple(shape)}", nbytes=2 * nbytes,
                           fix="use fewer rows or columns")
    except InvalidParameterError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return  # np.load below reports unreadable archives in its own words


#: Entries of X and y above this overflow float64 once squared and summed (1e154**2 ~ 1e308).
MAX_ABS_VALUE = 1e150


def _check_real(value: Any, name: str) -> None:
    """Refuse what a cast to float64 would silently change: complex entries (the imaginary
    part would be dropped), objects, text, dates. Integers and booleans (0/1 features,
    labels) are real numbers and kept."""
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        try:
            dtype = np.asarray(value).dtype
        except (ValueError, TypeError):  # ragged lists: check_finite_array names the problem
            return
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.complexfloating):
        raise DataError(
            f"{name} has complex dtype {dtype}: least squares and logistic regression take real data; "
            f"give the real part ({name}.real) or split it into real columns"
        )
    if not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)
            or np.issubdtype(dtype, np.bool_)):
        raise DataError(f"{name} has dtype {dtype}: give a real numeric array (floats, integers or booleans)")


def _check_xy(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X, y = from_tensor(X, "X", DataError), from_tensor(y, "y", DataError)  # torch tensors via NumPy
    _check_real(X, "X")
    _check_real(y, "y")
    X = check_finite_array(X, "X", ndim=2)
    y = check_finite_array(y, "y", ndim=(1, 2))
    for name, arr in (("X", X), ("y", y)):
        big = float(np.abs(arr).max()) if arr.size else 0.0
        if big > MAX_ABS_VALUE:
            raise DataError(
                f"{name} holds values up to {big:.3g}, whose squares overflow float64: rescale {name} "
                f"(entries at most {MAX_ABS_VALUE:g} in size; standardise the columns)"
            )
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
        with np.errstate(all="ignore"):
            A = self.X.T @ Xw + l2 * np.eye(self.dim)
            b = Xw.T @ self.y
        # LAPACK prints "** On entry to DLASCL ..." to stdout on non-finite input: never pass it one.
        if not (np.isfinite(A).all() and np.isfinite(b).all()):
            return None
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
        from scipy.special import expit  # lazy: keeps scipy off `adamcheck simulate`

        return expit(z) - yb

    def loss(self, x: np.ndarray) -> np.ndarray:
        z = self.X @ x.T
        return self.row_weight @ (np.logaddexp(0.0, z) - self.y[:, None] * z)

    def _solve(self, l2: float) -> np.ndarray | None:
        from scipy.optimize import minimize  # lazy: keeps scipy off `adamcheck simulate`
        from scipy.special import expit  # lazy: keeps scipy off `adamcheck simulate`

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

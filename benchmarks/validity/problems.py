"""The real problems of the validation suite: data that ships with installed packages.

Each problem gives training data, held-out data, a model factory (seed -> torch module),
a mean loss and a held-out metric. Data sets:

* ``logistic_fair``: statsmodels' ``fair`` (6,366 rows, 8 features; label: any affair),
  logistic regression (a linear layer with 1 output and the logistic loss).
* ``logistic_anes``: statsmodels' ``anes96`` (944 rows, 10 features; label: vote),
  logistic regression.
* ``logistic_digits``: scikit-learn's ``load_digits``, digit 3 against the rest (the
  shipped example of examples/digits), logistic regression: the problem where reversed
  coordinates sink Adam at small batch with beta1 = 0.
* ``mlp_digits``: scikit-learn's ``load_digits`` (1,797 images of 8x8), MLP 64-128-10.
* ``cnn_digits``: the same images, a small CNN (two 3x3 convolutions, 8 and 16
  channels, then a linear layer).
* ``charlm``: a character-level language model (embeddings of 8 previous characters,
  a hidden layer of 128, softmax over the characters) on the text of Python's own
  standard-library documentation strings (the docstrings of ``argparse``, ``textwrap``,
  ``json`` and ``difflib``), which ship with every Python.
* ``tinylm``: a small transformer language model on the same text: characters embedded
  in 16 dimensions with learned positions, 2 pre-LayerNorm blocks of causal
  self-attention (2 heads) and a 4x MLP (GELU), a final LayerNorm and a linear head,
  next-character loss at every position of an 8-character context; trained with AdamW
  (decoupled weight decay 0.1), as transformers are (tiny, so that CPUs can sweep it).
* ``regression_diabetes``: scikit-learn's ``load_diabetes`` (442 rows, 10 features),
  linear regression with the mean squared error, target standardised on the training
  split (so the loss starts near 1 and the best linear fit reaches about 0.5).

Features are standardised on the training split; splits are stratified 80/20 with
``random_state=0``. scikit-learn's breast-cancer data set is held back for an
independent check and is used nowhere here.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = ["Problem", "PROBLEMS", "load_problem"]


@dataclass(frozen=True)
class Problem:
    name: str
    description: str
    X: Any
    y: Any
    X_eval: Any
    y_eval: Any
    model_fn: Callable[[int], Any]
    loss_fn: Callable[[Any, Any], Any]
    eval_fn: Callable[[Any, Any], Any]
    #: a held-out metric below this (accuracy) also counts as failure
    min_eval: float | None
    d: int
    #: decoupled weight decay (AdamW) of every run, 0 for plain Adam
    weight_decay: float = 0.0
    #: language models: the tokens a sample's loss averages over; the recommendation then
    #: counts the batch in tokens, as a user's ``--seq-len`` does (the practice reference
    #: is an LM run stated in tokens)
    tokens_per_sample: int | None = None


def _split_standardise(X: np.ndarray, y: np.ndarray, stratify: bool = True):
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y if stratify else None)
    sc = StandardScaler().fit(Xtr)
    return sc.transform(Xtr), sc.transform(Xte), ytr, yte


def _regression_split(X: np.ndarray, y: np.ndarray):
    """An unstratified split with features and the target standardised on the training part
    (so an MSE starts near 1 whatever the target's units)."""
    Xtr, Xte, ytr, yte = _split_standardise(X, y, stratify=False)
    mu, sd = ytr.mean(), ytr.std()
    return Xtr, Xte, (ytr - mu) / sd, (yte - mu) / sd


def _torch():
    import torch

    return torch


def _binary_logistic(name: str, description: str, X: np.ndarray, y: np.ndarray) -> Problem:
    torch = _torch()
    Xtr, Xte, ytr, yte = _split_standardise(X.astype(float), y.astype(float))
    f = Xtr.shape[1]

    def model_fn(seed: int):
        torch.manual_seed(seed)
        return torch.nn.Linear(f, 1)

    def loss_fn(out, target):
        return torch.nn.functional.binary_cross_entropy_with_logits(out[..., 0], target)

    def eval_fn(out, target):
        return ((out[..., 0] > 0).to(target.dtype) == target).to(out.dtype).mean()

    t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return Problem(name, description, t(Xtr), t(ytr), t(Xte), t(yte), model_fn, loss_fn, eval_fn,
                   None, f + 1)


def _logistic_fair() -> Problem:
    import statsmodels.api as sm

    d = sm.datasets.fair.load_pandas().data
    X = d.drop(columns=["affairs"]).to_numpy()
    y = (d["affairs"].to_numpy() > 0).astype(float)
    return _binary_logistic("logistic_fair", "logistic regression, statsmodels fair (6,366 x 8)", X, y)


def _logistic_anes() -> Problem:
    import statsmodels.api as sm

    d = sm.datasets.anes96.load_pandas().data
    X = d.drop(columns=["vote"]).to_numpy()
    y = d["vote"].to_numpy().astype(float)
    return _binary_logistic("logistic_anes", "logistic regression, statsmodels anes96 (944 x 10)", X, y)


def _logistic_digits() -> Problem:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return _binary_logistic("logistic_digits", "logistic regression, scikit-learn digits 3 vs rest (1,797 x 64)",
                            X, (y == 3).astype(float))


def _digits(cnn: bool) -> Problem:
    from sklearn.datasets import load_digits

    torch = _torch()
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = _split_standardise(X, y)

    def mlp(seed: int):
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))

    def cnn_fn(seed: int):
        torch.manual_seed(seed)
        return torch.nn.Sequential(
            torch.nn.Unflatten(-1, (1, 8, 8)),
            torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 16, 3, padding=1, stride=2), torch.nn.ReLU(),
            torch.nn.Flatten(-3), torch.nn.Linear(16 * 4 * 4, 10),
        )

    def loss_fn(out, target):
        return torch.nn.functional.cross_entropy(out, target)

    def eval_fn(out, target):
        return (out.argmax(-1) == target).to(out.dtype).mean()

    model_fn = cnn_fn if cnn else mlp
    d = sum(p.numel() for p in model_fn(0).parameters())
    name, desc = ("cnn_digits", "small CNN, scikit-learn digits") if cnn else ("mlp_digits", "MLP 64-128-10, scikit-learn digits")
    return Problem(name, desc, torch.tensor(Xtr, dtype=torch.float32), torch.tensor(ytr),
                   torch.tensor(Xte, dtype=torch.float32), torch.tensor(yte), model_fn, loss_fn, eval_fn, 0.5, d)


def _stdlib_text() -> str:
    import argparse
    import difflib
    import json
    import textwrap

    parts = []
    for mod in (argparse, textwrap, json, difflib):
        for _, obj in inspect.getmembers(mod):
            doc = inspect.getdoc(obj)
            if doc and (inspect.isfunction(obj) or inspect.isclass(obj)):
                parts.append(doc)
    return "\n".join(parts)


def _char_windows(context: int, max_rows: int, seed: int) -> tuple[np.ndarray, int, int]:
    """Character windows of ``context + 1`` ids of the stdlib docstrings, a seeded sample of at
    most ``max_rows``, for the two language models: (windows, train/eval cut at 80%, characters)."""
    text = _stdlib_text()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text])
    windows = np.lib.stride_tricks.sliding_window_view(ids, context + 1)
    rows = np.random.default_rng(seed).choice(len(windows), size=min(max_rows, len(windows)), replace=False)
    data = windows[rows]
    return data, int(0.8 * len(data)), len(chars)


def _charlm(context: int = 8, max_rows: int = 8192) -> Problem:
    torch = _torch()
    data, cut, V = _char_windows(context, max_rows, seed=0)

    def model_fn(seed: int):
        torch.manual_seed(seed)
        return torch.nn.Sequential(
            torch.nn.Embedding(V, 16), torch.nn.Flatten(-2),
            torch.nn.Linear(16 * context, 128), torch.nn.Tanh(), torch.nn.Linear(128, V),
        )

    def loss_fn(out, target):
        return torch.nn.functional.cross_entropy(out, target)

    def eval_fn(out, target):
        return torch.nn.functional.cross_entropy(out, target)

    d = sum(p.numel() for p in model_fn(0).parameters())
    X = torch.tensor(data[:, :context]); y = torch.tensor(data[:, context])
    return Problem("charlm", f"character MLP language model ({V} characters, context {context}), stdlib docstrings",
                   X[:cut], y[:cut], X[cut:], y[cut:], model_fn, loss_fn, eval_fn, None, d, tokens_per_sample=1)


def _regression_diabetes() -> Problem:
    from sklearn.datasets import load_diabetes

    torch = _torch()
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = _regression_split(X, y)
    f = Xtr.shape[1]

    def model_fn(seed: int):
        torch.manual_seed(seed)
        return torch.nn.Linear(f, 1)

    def loss_fn(out, target):
        return ((out[..., 0] - target) ** 2).mean()

    t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return Problem("regression_diabetes", "linear regression (MSE), scikit-learn diabetes (442 x 10)",
                   t(Xtr), t(ytr), t(Xte), t(yte), model_fn, loss_fn, loss_fn, None, f + 1)


def _tinylm(context: int = 8, width: int = 16, heads: int = 2, layers: int = 2, max_rows: int = 1280) -> Problem:
    torch = _torch()
    nn = torch.nn
    data, cut, V = _char_windows(context, max_rows, seed=1)

    class Block(nn.Module):
        # attention written out (no nn.MultiheadAttention) so that torch.func.vmap runs it
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
            self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))
            self.register_buffer("mask", torch.tril(torch.ones(context, context, dtype=torch.bool)))

        def forward(self, x):
            T = x.shape[-2]
            q, k, v = self.qkv(self.ln1(x)).split(width, dim=-1)
            split = lambda a: a.unflatten(-1, (heads, width // heads)).transpose(-3, -2)  # noqa: E731
            q, k, v = split(q), split(k), split(v)
            att = (q @ k.transpose(-1, -2)) / (width // heads) ** 0.5
            att = att.masked_fill(~self.mask[:T, :T], float("-inf")).softmax(-1)
            y = (att @ v).transpose(-3, -2).flatten(-2)
            x = x + self.proj(y)
            return x + self.mlp(self.ln2(x))

    class TinyLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(V, width), nn.Parameter(torch.zeros(context, width))
            self.blocks = nn.Sequential(*[Block() for _ in range(layers)])
            self.ln, self.head = nn.LayerNorm(width), nn.Linear(width, V)

        def forward(self, idx):
            x = self.tok(idx) + self.pos[: idx.shape[-1]]
            return self.head(self.ln(self.blocks(x)))

    def model_fn(seed: int):
        torch.manual_seed(seed)
        m = TinyLM()
        torch.nn.init.normal_(m.pos, std=0.02)
        return m

    def loss_fn(out, target):
        return torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), target.reshape(-1))

    d = sum(p.numel() for p in model_fn(0).parameters())
    X = torch.tensor(data[:, :context]); y = torch.tensor(data[:, 1:])
    return Problem("tinylm", f"transformer LM ({layers} blocks, width {width}, {heads} heads, context {context}, "
                   f"{V} characters), stdlib docstrings, AdamW (weight decay 0.1)",
                   X[:cut], y[:cut], X[cut:], y[cut:], model_fn, loss_fn, loss_fn, None, d, weight_decay=0.1,
                   tokens_per_sample=context)


PROBLEMS: dict[str, Callable[[], Problem]] = {
    "logistic_fair": _logistic_fair,
    "logistic_anes": _logistic_anes,
    "logistic_digits": _logistic_digits,
    "mlp_digits": lambda: _digits(cnn=False),
    "cnn_digits": lambda: _digits(cnn=True),
    "charlm": _charlm,
    "tinylm": _tinylm,
    "regression_diabetes": _regression_diabetes,
}


def load_problem(name: str) -> Problem:
    return PROBLEMS[name]()

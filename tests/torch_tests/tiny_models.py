"""Shared tiny models for the adamcheck.torch tests: a character-level GPT-2 (random init,
no download) on the source of a stdlib module, and the standardised digits data."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest


def text_tokens(seq_len: int, sequences: int, offset: int = 0):
    """(inputs, targets) of shape (sequences, seq_len): characters of textwrap.py's source."""
    import torch

    text = Path(textwrap.__file__).read_text()
    vocab = sorted(set(text))
    ids = torch.tensor([vocab.index(c) for c in text[: (offset + sequences + 1) * seq_len + 1]])
    starts = [(offset + i) * seq_len for i in range(sequences)]
    x = torch.stack([ids[s : s + seq_len] for s in starts])
    y = torch.stack([ids[s + 1 : s + seq_len + 1] for s in starts])
    return x, y, len(vocab)


def tiny_gpt2(vocab: int, seq_len: int, seed: int = 0, n_embd: int = 32, n_layer: int = 2):
    import pytest
    import torch

    pytest.importorskip("transformers", reason="transformers is not installed (the tiny GPT-2 is its model)")
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=vocab, n_positions=seq_len, n_embd=n_embd, n_layer=n_layer, n_head=2,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)
    cfg._attn_implementation = "eager"
    return GPT2LMHeadModel(cfg)


def lm_loss(out, y):
    import torch

    logits = out.logits
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def digits():
    import torch
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-8)
    return torch.tensor(X, dtype=torch.float32), torch.tensor(y)


def digits_mlp(seed: int = 0):
    import torch

    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))


def rng_order(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models on one intra-op thread (more only add contention: 40x slower on a loaded
    2-core box); a test module opts in with ``from tiny_models import one_thread``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def digits_standardised(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` of scikit-learn's digits, features standardised over all 1,797 (float64)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    return X[:n], y[:n]

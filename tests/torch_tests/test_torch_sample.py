"""Coordinate-sampled per-example gradients against a per-example autograd loop (the
independent route), the coordinate allocation, and the file the CLI reads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tiny_models import lm_loss, text_tokens, tiny_gpt2

pytestmark = pytest.mark.torch


def loop_gradients(model, loss_fn, x, y, sample):
    """Per-example gradients one example at a time with loss.backward(), at the sampled coordinates."""
    import torch

    params = dict(model.named_parameters())
    rows = []
    for j in range(len(x)):
        model.zero_grad()
        loss_fn(model(x[j : j + 1]), y[j : j + 1]).backward()
        rows.append(np.concatenate([
            params[n].grad.reshape(-1)[torch.as_tensor(i)].numpy() for n, i in zip(sample.names, sample.per_tensor())
        ]))
    return np.stack(rows)


def assert_rel_close(got, ref, rel):
    # relative to each example's gradient scale (max |coordinate|): float32 sums differ in order
    scale = np.abs(ref).max(axis=1, keepdims=True)
    assert (np.abs(got - ref) <= rel * scale).all(), float((np.abs(got - ref) / scale).max())


def test_mlp_sampled_gradients_equal_the_loop_at_those_coordinates():
    import torch

    from adamcheck.torch import sample_per_example_gradients

    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.Tanh(), torch.nn.Linear(32, 4))
    x, y = torch.randn(23, 10), torch.randint(0, 4, (23,))
    loss = torch.nn.functional.cross_entropy
    out = sample_per_example_gradients(model, loss, x, y, coordinates=100, chunk_size=5, seed=3)
    assert out.grads.shape == (23, out.sample.size) and out.grads.dtype == np.float32
    assert_rel_close(out.grads, loop_gradients(model, loss, x, y, out.sample), 1e-6)


def test_tiny_gpt2_sampled_gradients_equal_the_loop_at_those_coordinates():
    from adamcheck.torch import sample_per_example_gradients

    x, y, vocab = text_tokens(16, 6)
    model = tiny_gpt2(vocab, 16)
    out = sample_per_example_gradients(model, lm_loss, x, y, coordinates=600, chunk_size=4, seed=0)
    names = set(out.sample.names[t] for t in np.unique(out.sample.param))
    # every kind of tensor is sampled: embeddings, LayerNorm, attention, MLP
    for part in ("wte", "wpe", "ln_1.weight", "attn.c_attn.weight", "mlp.c_fc.bias", "ln_f.bias"):
        assert any(part in n for n in names), part
    ref = loop_gradients(model, lm_loss, x, y, out.sample)
    assert_rel_close(out.grads, ref, 1e-6)
    assert np.abs(ref).max() > 0


def test_allocation_is_proportional_with_a_floor_and_seeded():
    from adamcheck.torch import choose_coordinates

    sizes = [("emb", 50_000), ("w", 20_000), ("ln", 64), ("b", 3)]
    s = choose_coordinates(sizes, 1000, seed=7, floor_per_tensor=8)
    counts = [len(i) for i in s.per_tensor()]
    # quotas 713.60, 285.44, 0.91, 0.04: floors give 998, the two largest remainders (ln, emb)
    # take the last 2, then the floor of 8 lifts ln and caps b at its 3 elements
    assert counts == [714, 285, 8, 3]
    for (name, n), idx in zip(sizes, s.per_tensor()):
        assert len(np.unique(idx)) == len(idx) and idx.min() >= 0 and idx.max() < n
    again = choose_coordinates(sizes, 1000, seed=7, floor_per_tensor=8)
    other = choose_coordinates(sizes, 1000, seed=8, floor_per_tensor=8)
    assert np.array_equal(s.index, again.index) and not np.array_equal(s.index, other.index)
    everything = choose_coordinates([("a", 5), ("b", 2)], 4096)
    assert everything.size == 7


def test_file_is_read_by_estimate_and_same_seed_gives_same_bytes(tmp_path, run_cli):
    import torch

    from adamcheck.noise import open_gradients
    from adamcheck.torch import sample_per_example_gradients, save_sampled_gradients

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    x, y = torch.randn(64, 6), torch.randint(0, 3, (64,))
    paths = []
    for name in ("a", "b"):
        out = sample_per_example_gradients(model, torch.nn.functional.cross_entropy, x, y, coordinates=20, seed=5)
        paths.append(save_sampled_gradients(tmp_path / f"{name}.npz", out.grads, out.sample, batch_size=8, step=12,
                                            dtype=out.dtype))
    assert paths[0].read_bytes() == paths[1].read_bytes()
    with open_gradients(paths[0]) as src:
        assert src.shape == (1, 64, out.sample.size)
        assert src.metadata == {"reduction": "mean", "loss_scale": 1.0, "mean_over": 1, "row_batch_size": 1,
                                "batch_size": 8}
    with np.load(paths[0], allow_pickle=False) as f:
        assert f["param_names"].tolist() == list(out.sample.names)
        assert f["coord_index"].tolist() == out.sample.index.tolist() and int(f["step"][0]) == 12
        assert int(f["batch_size"]) == 8 and str(f["dtype"]) == "float32"
    code, stdout, err = run_cli("estimate", paths[0], "--batch-size", "8", "--json")
    assert code == 0, err
    est = json.loads(stdout)
    ref = out.grads.astype(np.float64).mean(axis=0)
    assert est["grad_norm_sq"][0] == pytest.approx(float(ref @ ref), rel=1e-5)


def test_bad_inputs_are_clear_errors():
    import torch

    from adamcheck import AdamCheckError
    from adamcheck.torch import choose_coordinates, sample_per_example_gradients

    model = torch.nn.Linear(3, 2)
    with pytest.raises(AdamCheckError, match="targets"):
        sample_per_example_gradients(model, torch.nn.functional.mse_loss, torch.zeros(4, 3), torch.zeros(3, 2))
    other = choose_coordinates([("x", 5)], 3)
    with pytest.raises(AdamCheckError, match="other parameters"):
        sample_per_example_gradients(model, torch.nn.functional.mse_loss, torch.zeros(4, 3), torch.zeros(4, 2),
                                     sample=other)
    with pytest.raises(AdamCheckError, match="coordinates"):
        choose_coordinates([("x", 5)], 0)


def test_import_adamcheck_and_adamcheck_torch_do_not_import_torch(run_cli_subprocess):
    import subprocess
    import sys

    code = ("import sys, adamcheck, adamcheck.torch; "
            "assert 'torch' not in sys.modules, 'torch imported'; print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr

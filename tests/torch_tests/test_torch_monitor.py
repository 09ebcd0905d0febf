"""GradientMonitor: its records against the optimizer and hand-made gradients, the two-batch
noise scale against McCandlish's formula on independently computed micro-batch gradients,
the file it writes read by the CLI, and the warnings on the digits MLP."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from tiny_models import digits, digits_mlp, lm_loss, rng_order, text_tokens, tiny_gpt2

pytestmark = pytest.mark.torch


def sampled(model, sample, tensors):
    import torch

    return np.concatenate([tensors[n].detach().reshape(-1)[torch.as_tensor(i)].double().numpy()
                           for n, i in zip(sample.names, sample.per_tensor())])


def test_records_match_the_optimizer_and_the_two_batch_formula():
    import torch

    from adamcheck.torch import GradientMonitor

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.8, 0.99), eps=1e-8)
    mon = GradientMonitor(opt, batch_size=12, coordinates=40, every=10**6, model=model, multiples=(1,),
                          accumulation_steps=3)
    lazy = GradientMonitor(opt, batch_size=12, coordinates=40, every=10**6, model=model, multiples=(1,))
    x, y = torch.randn(20 * 12, 5), torch.randint(0, 3, (20 * 12,))
    loss_fn = torch.nn.functional.cross_entropy
    small_sq, big_sq, grads = [], [], []
    for step in range(20):
        xb, yb = x[step * 12 : (step + 1) * 12], y[step * 12 : (step + 1) * 12]
        # independent route: each micro-batch's mean gradient from its own backward, on a copy
        params = dict(model.named_parameters())
        micro = []
        for k in range(3):
            model.zero_grad()
            loss_fn(model(xb[4 * k : 4 * k + 4]), yb[4 * k : 4 * k + 4]).backward()
            micro.append(sampled(model, mon.sample, {n: p.grad for n, p in params.items()}))
        big = np.mean(micro, axis=0)
        small_sq.append(np.mean([m @ m for m in micro]))
        big_sq.append(big @ big)
        grads.append(big)
        # the training step: 3 micro-batches accumulated, loss / 3 (gradient accumulation)
        opt.zero_grad()
        for k in range(3):
            (loss_fn(model(xb[4 * k : 4 * k + 4]), yb[4 * k : 4 * k + 4]) / 3).backward()
        opt.step()
    np.testing.assert_allclose(mon.recorder.rows.last()[0], np.stack(grads), rtol=1e-5, atol=1e-7)
    state = {n: opt.state[p] for n, p in dict(model.named_parameters()).items()}
    m = sampled(model, mon.sample, {n: s["exp_avg"] for n, s in state.items()})
    v = sampled(model, mon.sample, {n: s["exp_avg_sq"] for n, s in state.items()})
    d = np.linalg.norm((m / (1 - 0.8**20)) / (np.sqrt(v / (1 - 0.99**20)) + 1e-8))
    # between analyses m and v are replayed from the recorded gradients (in blocks of steps,
    # up to date once a result is read): float32 rounding apart
    assert mon.report().direction_norm_last == pytest.approx(d, rel=1e-4)
    np.testing.assert_allclose(mon.recorder.last_m, m, rtol=1e-4, atol=1e-9)
    mon.analyse()  # reads the optimizer's own
    np.testing.assert_allclose(mon.recorder.last_m, m, rtol=1e-12)
    rep = mon.report()
    assert rep.small_batch == 4 and rep.small_batch_source == "micro-batches"
    b, B = 4, 12
    s2, g2 = np.mean(small_sq), np.mean(big_sq)
    expected = ((s2 - g2) / (1 / b - 1 / B)) / ((B * g2 - b * s2) / (B - b))  # McCandlish et al. A.1
    assert rep.b_simple == pytest.approx(expected, rel=1e-5)
    assert rep.grad_norm_sq == pytest.approx(g2, rel=1e-5)
    # without the hint, micro-batches are gathered from the second accumulating step on
    lazy.analyse()
    s2, g2 = np.mean(small_sq[1:]), np.mean(big_sq[1:])
    expected = ((s2 - g2) / (1 / b - 1 / B)) / ((B * g2 - b * s2) / (B - b))
    assert lazy.report().b_simple == pytest.approx(expected, rel=1e-5)
    assert rep.step == 20 and rep.window == 20 and rep.beta2_critical is not None


def test_monitor_file_is_the_same_bytes_for_the_same_run(tmp_path):
    import torch

    from adamcheck.torch import GradientMonitor

    paths = []
    for name in ("a", "b"):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
        mon = GradientMonitor(opt, batch_size=8, coordinates=30, every=10**6, model=model, seed=4)
        g = torch.Generator().manual_seed(1)
        for _ in range(12):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(torch.randn(8, 5, generator=g)),
                                              torch.randint(0, 3, (8,), generator=g)).backward()
            opt.step()
        paths.append(mon.save(tmp_path / f"{name}.npz"))
    assert paths[0].read_bytes() == paths[1].read_bytes()
    with np.load(paths[0], allow_pickle=False) as f:
        k = mon.sample.size  # 30 by size (16, 3, 10, 1), then the floor of 4: 16, 4, 10, 3 (all of the 3-element bias)
        assert k == 33 and f["grads"].shape == (1, 12, k) and f["exp_avg"].shape == (k,) and float(f["beta2"]) == 0.999


def train_digits(beta2, steps=400, seed=0):
    import torch

    from adamcheck.torch import AdamCheckWarning, GradientMonitor

    X, y = digits()
    model = digits_mlp(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, beta2))
    mon = GradientMonitor(opt, batch_size=1, every=200, model=model, multiples=(1,))
    order = rng_order(len(X), seed)
    loss_fn = torch.nn.functional.cross_entropy
    with torch.no_grad():
        start = loss_fn(model(X), y).item()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AdamCheckWarning)
        for s in range(steps):
            j = int(order[s % len(order)])
            opt.zero_grad()
            loss_fn(model(X[j : j + 1]), y[j : j + 1]).backward()
            opt.step()
    with torch.no_grad():
        end = loss_fn(model(X), y).item()
    ours = [w for w in caught if issubclass(w.category, AdamCheckWarning)]
    return mon.report(), ours, start, end


@pytest.mark.slow
def test_digits_batch1_warns_at_beta2_half_and_not_at_0999():
    bad, bad_warnings, start, end = train_digits(0.5)
    assert end > 10 * start  # the premise: beta2 = 0.5 with beta1 = 0.9 diverges on this problem
    assert bad_warnings and all(w.step <= 400 for w in bad.warnings)
    # which warnings fired, and when: the update-norm spike (the direct symptom of
    # beta1 >= sqrt(beta2)) as soon as the spike window is full, and beta2 < beta2* at the
    # first analysis (step 200). beta2* comes from adamcheck.drift.training_boundary, whose
    # constants were calibrated on this same digits MLP (its docstring says so): the spike
    # rule is the check that does not lean on that calibration.
    first = {}
    for w in bad.warnings:
        first.setdefault(w.kind, w.step)
    assert set(first) == {"update_spike", "beta2_below_critical"}
    assert first["update_spike"] < 200 and first["beta2_below_critical"] == 200
    assert 0.5 < bad.beta2_critical < 0.999
    spike = next(str(w.message) for w in bad_warnings if "update norm" in str(w.message))
    assert "beta2 = 0.5" in spike and "batch size 1" in spike and "0.81" in spike
    below = [w for w in bad.warnings if w.kind == "beta2_below_critical"]
    assert all(w.value > 0.5 and "beta2 = 0.5" in w.message and "batch size 1" in w.message
               and f"at least {w.value:.4g}" in w.message for w in below)
    assert below[-1].value == bad.beta2_critical
    assert bad.direction_norm_max_ratio > 10 and not bad.paper_condition
    good, good_warnings, start, end = train_digits(0.999)
    assert end < start
    assert good_warnings == [] and good.warnings == () and good.spikes == 0
    assert good.direction_norm_max_ratio < bad.direction_norm_max_ratio / 10
    assert good.analysed_step == 400 and good.paper_condition and good.beta2_critical < 0.999


def test_tiny_gpt2_monitor_file_is_read_by_recommend(tmp_path, run_cli):
    import torch

    from adamcheck.torch import GradientMonitor

    T, B, steps = 16, 4, 40
    x, y, vocab = text_tokens(T, B * steps)
    model = tiny_gpt2(vocab, T)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95))
    mon = GradientMonitor(opt, batch_size=B, coordinates=256, every=10**6, model=model)
    losses = []
    for s in range(steps):
        opt.zero_grad()
        loss = lm_loss(model(x[s * B : (s + 1) * B]), y[s * B : (s + 1) * B])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < np.mean(losses[:10])  # it trains for real
    path = mon.save(tmp_path / "monitor.npz")
    with np.load(path, allow_pickle=False) as f:
        assert f["grads"].shape == (1, steps, mon.sample.size) and int(f["row_batch_size"]) == B
        assert f["monitor_steps"].tolist() == list(range(1, steps + 1))
        assert any("ln_f" in n for n in f["param_names"].tolist())
    code, out, err = run_cli("recommend", "--gradients", path, "--batch-size", str(B), "--beta1", "0.9", "--json")
    assert code in (0, 1), err
    rec = json.loads(out)
    text = json.dumps(rec)
    assert "calibrated lens not used" not in text
    code, out, err = run_cli("recommend", "--gradients", path, "--batch-size", "6", "--json")
    assert code == 2 and "multiple of 4" in err and "Traceback" not in err


def test_monitor_refuses_plain_sgd_and_empty_save(tmp_path):
    import torch

    from adamcheck import AdamCheckError
    from adamcheck.torch import GradientMonitor

    model = torch.nn.Linear(2, 1)
    with pytest.raises(AdamCheckError, match="betas"):
        GradientMonitor(torch.optim.SGD(model.parameters(), lr=0.1), batch_size=4)
    mon = GradientMonitor(torch.optim.Adam(model.parameters()), batch_size=4)
    with pytest.raises(AdamCheckError, match="no step"):
        mon.save(tmp_path / "x.npz")
    assert mon.report().beta2_critical is None


def test_beta2_below_critical_warns_on_the_two_point_law():
    """A one-parameter 'model' whose step gradients are draws of the section-4 two-point law
    (n = 10, a = 1/81): beta2* from the monitor's window is close to beta2* of the exact law,
    and beta2 = 0.5 below it warns with beta2, the batch size and the value needed."""
    import torch

    from adamcheck import GradientLaw
    from adamcheck.drift import critical_beta2
    from adamcheck.torch import AdamCheckWarning, GradientMonitor

    law = GradientLaw.two_point(10, 1 / 81)
    exact = float(critical_beta2(law, [0.0]).strict[0])
    draws = np.random.default_rng(4).choice(law.values[:, 0], size=400, p=law.weights)
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([w], lr=1e-3, betas=(0.0, 0.5))
    mon = GradientMonitor(opt, batch_size=1, first_analysis=400, every=400, multiples=(1,), spike_factor=1e9)
    with pytest.warns(AdamCheckWarning) as caught:
        for g in draws:
            opt.zero_grad()
            (float(g) * w).sum().backward()
            opt.step()
    rep = mon.report()
    assert rep.warning_kinds == {"beta2_below_critical"} and rep.warnings[0].step == 400
    assert 0.5 < rep.beta2_critical and abs(rep.beta2_critical - exact) < 0.1, (rep.beta2_critical, exact)
    msg = str(caught[0].message)
    assert "beta2 = 0.5" in msg and "batch size 1" in msg and f"{rep.beta2_critical:.4g}" in msg
    assert rep.reversed == 1 and rep.drift_ratio_min < 0  # the drift at (0, 0.5) is reversed


def test_fast_gather_equals_per_tensor_index_select():
    """The preallocated-row gather (torch.take into slices of one row) against the plain route:
    one index_select per flattened tensor, then torch.cat; with a missing .grad (zeros), a
    non-contiguous tensor, another dtype and a tensor that requires grad."""
    import torch

    from adamcheck.torch._recorder import _Gather

    g = torch.Generator().manual_seed(0)
    shapes = [(7, 5), (5,), (3, 4, 2), (6, 6)]
    params = [torch.nn.Parameter(torch.randn(s, generator=g)) for s in shapes]
    tracked = [(p, torch.as_tensor(np.sort(np.random.default_rng(i).choice(p.numel(), size=min(4 + i, p.numel()),
                                                                          replace=False))))
               for i, p in enumerate(params)]
    gather = _Gather(torch, tracked)
    tensors = [torch.randn(7, 5, generator=g), None, torch.randn(2, 4, 3, generator=g).permute(2, 1, 0),
               torch.randn(6, 6, generator=g, dtype=torch.float64).requires_grad_()]
    assert not tensors[2].is_contiguous()
    for _ in range(2):  # the row is reused: a second call must overwrite every slot
        row = gather(tensors)
        plain = torch.cat([torch.zeros(idx.numel()) if t is None else t.detach().reshape(-1).index_select(0, idx).float()
                           for t, (_, idx) in zip(tensors, tracked)])
        assert row.dtype == np.float32 and row.shape == (sum(i.numel() for _, i in tracked),)
        np.testing.assert_array_equal(row, plain.numpy())
        tensors = [None if t is None else 2.0 * t.detach() for t in tensors]
    # a float64 parameter makes the row float64 (the replay keeps float64 gradients exact)
    wide = _Gather(torch, tracked + [(torch.nn.Parameter(torch.zeros(3, dtype=torch.float64)), torch.tensor([0, 2]))])
    x = torch.tensor([1 + 1e-12, 0.0, -3.0], dtype=torch.float64)
    assert wide(tensors + [x]).dtype == np.float64 and wide.array[-2] == 1 + 1e-12


def test_running_median_and_ring_equal_numpy_on_a_window():
    """The spike rule's running median against np.median of the same window (ties, inf,
    NaN entering and leaving), and the ring of recorded rows against a plain list, across
    its growth and wrap."""
    from adamcheck.torch._recorder import _Rows, _RunningMedian

    rng = np.random.default_rng(1)
    values = np.round(rng.lognormal(size=400), 1)  # rounded: many ties
    values[[50, 51, 200]] = np.nan
    values[[120, 300]] = np.inf
    for size in (1, 6, 7, 50):
        med = _RunningMedian(size)
        for i, x in enumerate(values):
            med.push(float(x))
            window = values[max(0, i + 1 - size) : i + 1]
            assert med.full() == (window.size == size)
            if med.full():
                expected = np.median(window)
                got = med.median()
                assert got == expected or (np.isnan(got) and np.isnan(expected)), (size, i, got, expected)
    rows = _Rows(100, 3)
    kept = []
    for step in range(1, 251):
        row = rng.normal(size=3).astype(np.float32)
        rows.append(row, step)
        kept.append((row, step))
        if step in (1, 63, 64, 65, 100, 101, 199, 250):
            for n in (None, 1, 37, 100, 500):
                want = kept[-min(len(kept), 100):] if n is None else kept[-min(n, 100, len(kept)):]
                got, steps = rows.last(n)
                np.testing.assert_array_equal(got, np.stack([r for r, _ in want]))
                assert steps.tolist() == [s for _, s in want]
    assert len(rows) == 100 and rows.data.shape == (100, 3)


def test_steps_processed_in_blocks_equal_steps_processed_one_by_one():
    """Blocks of steps (the default: m, v, D_t and the spike rule run every 32 steps or when a
    result is read) against the per-step route on the same run: the same report, spikes and
    warnings (with the step each one names), bit for bit."""
    import dataclasses

    import torch

    from adamcheck.torch import GradientMonitor

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.9, 0.5))
    options = dict(batch_size=4, coordinates=40, every=150, multiples=(1,), spike_window=10, spike_factor=2.0,
                   warn=False)
    blocks = GradientMonitor(opt, **options)
    steps = GradientMonitor(opt, **options)
    steps.recorder.block = 1
    g = torch.Generator().manual_seed(2)
    for _ in range(203):
        opt.zero_grad()
        # rare large inputs among small ones: bursts of gradient, spikes of D_t at beta2 = 0.5
        rare = torch.rand(4, 1, generator=g) < 0.05
        x = 10 * torch.randn(4, 5, generator=g) * rare + 0.01 * torch.randn(4, 5, generator=g)
        torch.nn.functional.cross_entropy(model(x), torch.randint(0, 3, (4,), generator=g)).backward()
        opt.step()
    assert blocks.recorder.block == 32 and blocks.recorder.done < blocks.step  # steps were left for a later block
    a, b = blocks.report(), steps.report()
    assert a.spikes > 0 and a.warning_kinds == {"update_spike", "beta2_below_critical"} and a.analysed_step == 150
    da, db = dataclasses.asdict(a), dataclasses.asdict(b)
    assert da.keys() == db.keys()
    for key in da:  # NaN (no small batches: no noise scale) equals NaN here
        assert da[key] == db[key] or (da[key] != da[key] and db[key] != db[key]), key
    np.testing.assert_array_equal(blocks.recorder.last_m, steps.recorder.last_m)


def test_window_law_in_column_blocks_equals_the_widened_window():
    """window_law widens the float32 window 256 columns at a time; the plain route widens it
    whole: the same kept coordinates, atoms and standard errors."""
    from adamcheck.monitor import window_law

    rng = np.random.default_rng(3)
    x = (rng.normal(size=(300, 700)) * rng.lognormal(size=700) + rng.normal(size=700)).astype(np.float32)
    law = window_law(x, 8, 40)
    w = x.astype(np.float64)
    se = w.std(axis=0, ddof=1) / np.sqrt(w.shape[0])
    keep = np.sort(np.argsort(-np.abs(w.mean(axis=0)) / se, kind="stable")[:40])
    np.testing.assert_array_equal(law.meta["coords"], keep)
    np.testing.assert_array_equal(law.values, w[:, keep])
    np.testing.assert_array_equal(law.meta["mean_se"], se[keep])
    assert law.batch_size == 8 and window_law(x[:1], 8, 40) is None

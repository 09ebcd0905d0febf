"""torch helpers: vmap(grad) per-example gradients vs a per-example autograd loop, and a
2-process gloo all-reduce of the accumulator vs one pass."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from adamcheck.noise import GradientSource, accumulate, estimate, make_config, noise_constants, open_gradients

pytestmark = pytest.mark.torch
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_vmap_gradients_equal_a_per_example_autograd_loop(tmp_path):
    import torch

    from adamcheck.noise import per_example_gradients, save_per_example_gradients

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)).double()
    x = torch.randn(17, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (17,))
    loss_fn = torch.nn.functional.cross_entropy
    chosen = ["0.weight", "2.bias"]
    fast, names, sizes = per_example_gradients(model, loss_fn, x, y, params=chosen, chunk_size=5,
                                               dtype=np.float64, loss_scale=8.0)
    assert names == chosen and sizes == [24, 3] and fast.shape == (17, 27)
    params = dict(model.named_parameters())
    slow = []
    for j in range(17):
        model.zero_grad()
        (8.0 * loss_fn(model(x[j : j + 1]), y[j : j + 1])).backward()
        slow.append(torch.cat([params[k].grad.reshape(-1) for k in chosen]).numpy().copy())
    np.testing.assert_allclose(fast, np.stack(slow), rtol=1e-10, atol=1e-12)

    path = save_per_example_gradients(tmp_path / "g.npz", fast, loss_scale=8.0, names=names, sizes=sizes)
    with open_gradients(path) as src:
        assert src.metadata == {"reduction": "mean", "loss_scale": 8.0, "mean_over": 1}
    est = estimate(path, 4, replicates=0)
    assert est.scale.loss_scale == 8.0 and est.scale_source == "file"
    base = estimate(fast / 8.0, 4, replicates=0)
    np.testing.assert_allclose(est.constants.grad_norm_sq, base.constants.grad_norm_sq, rtol=1e-12)


def test_unknown_parameter_name_is_a_clear_error():
    import torch

    from adamcheck import InvalidParameterError
    from adamcheck.noise import per_example_gradients

    model = torch.nn.Linear(2, 1)
    with pytest.raises(InvalidParameterError, match="no parameter"):
        per_example_gradients(model, torch.nn.functional.mse_loss, torch.zeros(3, 2), torch.zeros(3, 1),
                              params=["weights"])


WORKER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch.distributed as dist
    from adamcheck.noise import open_gradients, make_config
    from adamcheck.noise._distributed import accumulate_distributed

    rank, port, path, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    src = open_gradients(path)
    cfg = make_config(src.examples, src.dim, src.points, unit=4, groups=16, seed=3)
    acc = accumulate_distributed(src, cfg, workers=1)
    np.save(f"{out}.{rank}.npy", acc.to_vector())
    dist.destroy_process_group()
    """
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_all_reduce_to_the_one_pass_state(tmp_path):
    x = np.random.default_rng(30).normal(0.2, 1.0, size=(2, 1001, 6))
    np.save(tmp_path / "g.npy", x)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    port = str(_free_port())
    out = str(tmp_path / "state")
    procs = [
        subprocess.Popen([sys.executable, str(script), str(r), port, str(tmp_path / "g.npy"), out],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for r in range(2)
    ]
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=180)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
    cfg = make_config(1001, 6, 2, unit=4, groups=16, seed=3)
    one = accumulate(GradientSource.from_array(x), cfg, workers=1)
    states = [np.load(f"{out}.{r}.npy") for r in range(2)]
    np.testing.assert_array_equal(states[0], states[1])
    np.testing.assert_allclose(states[0], one.to_vector(), rtol=1e-12, atol=1e-12)
    from adamcheck.noise import NoiseAccumulator

    merged = NoiseAccumulator.from_vector(cfg, states[0])
    a = noise_constants(merged, 8, seed=1)
    b = noise_constants(one, 8, seed=1)
    assert a.d1_at_d0_zero == pytest.approx(b.d1_at_d0_zero, rel=1e-12)
    np.testing.assert_allclose(np.ravel(a.ci["b_simple"]), np.ravel(b.ci["b_simple"]), rtol=1e-10)

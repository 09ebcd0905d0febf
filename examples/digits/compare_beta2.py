"""Does the recommendation hold on the same problem? Simulate Adam at batch 4.

The point estimate of beta2* for the digits example at batch 4 (``adamcheck recommend -b 4
--beta1 0 --gradients examples/digits/grads.npz --explain``) is 0.5, the ladder point the
command prints as its point estimate (the file itself decides no failure there). This script runs torch-convention Adam (beta1 = 0, lr 0.01, constant) on the
same logistic regression through the simulator, with beta2 well below beta2* and with
the recommended beta2, three seeds each, and plots the full loss over the run: below
beta2* the loss climbs far above its start (the average step goes uphill in the skewed
coordinates), with the recommended beta2 it falls.

Run from the repository root: ``python examples/digits/compare_beta2.py`` (writes
``examples/digits/compare_beta2.png`` and prints the final losses).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def compare(batch_size: int = 4, steps: int = 20000, seeds: int = 3, below: float = 0.1, record: int = 200):
    """Final and recorded full losses for beta2 = ``below`` and the recommended beta2."""
    from adamcheck.problems import LogisticRegression, load_xy
    from adamcheck.recommend import recommend
    from adamcheck.simulator import simulate

    rec = recommend(batch_size, gradients=HERE / "grads.npz", beta1=0.0)
    X, y = load_xy(HERE / "digits_binary.npz")
    problem = LogisticRegression(X, y, batch_size=batch_size, drop_last=True)  # n = N // B, as estimate
    betas = {"below beta2*": below, "recommended": rec.beta2}
    out = {"beta2_critical": rec.beta2_critical, "recommended": rec.beta2, "initial_loss": float(problem.loss(np.zeros((1, X.shape[1])))[0])}
    for label, b2 in betas.items():
        res = simulate(problem, steps=steps, beta1=0.0, beta2=b2, lr=0.01, eps=1e-8, convention="torch",
                       schedule="constant", seed=list(range(seeds)), record_every=max(1, steps // record))
        losses = np.stack([problem.loss(res.trajectory[k]) for k in range(res.trajectory.shape[0])])
        out[label] = {"beta2": b2, "steps": res.record_steps, "loss": losses, "final_loss": losses[-1]}
    return out


def main() -> None:
    from adamcheck._plotting import pyplot, save_figure

    out = compare()
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    colours = {"below beta2*": "#d62728", "recommended": "#1f77b4"}
    for label in ("below beta2*", "recommended"):
        run = out[label]
        for s in range(run["loss"].shape[1]):
            ax.plot(run["steps"], run["loss"][:, s], color=colours[label], lw=1,
                    label=f"{label}: beta2 = {run['beta2']:.6g}" if s == 0 else None)
        print(f"{label:>13}: beta2 = {run['beta2']:.6g}, final loss per seed {np.round(run['final_loss'], 4)}")
    ax.axhline(out["initial_loss"], color="0.5", lw=0.8, ls=":", label="loss at the start")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("full logistic loss")
    ax.set_title(f"digits, batch 4, beta1 = 0: beta2* = {out['beta2_critical']:.3f}", fontsize=10)
    ax.legend(fontsize=8)
    save_figure(fig, HERE / "compare_beta2.png")
    print(f"wrote {HERE / 'compare_beta2.png'}")


if __name__ == "__main__":
    main()

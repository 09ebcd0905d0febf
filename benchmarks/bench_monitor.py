"""Cost of adamcheck.torch on GPT-2s from a transformers config (random init, CPU), as
ratios against peers measured in the same run.

1. GradientMonitor overhead at its defaults (4,096 coordinates; first analysis at 10% of the
   planned steps, at most 200; later ones as the cost budget of 2% of the measured step time
   allows), end to end: two identical models train on the same batches, one with the monitor,
   in alternating blocks so machine noise hits both alike. The analyses run where the monitor
   puts them, inside the timed blocks. Reported per model: the total overhead (CPU time of
   all blocks with / without - 1, analyses included; target <= 3%), the per-step overhead
   (median of paired blocks without an analysis), the analyses (steps, CPU seconds) and the
   monitor's own accounting of its cost. Two models: the tiny GPT-2 (d = 110k, 2 layers,
   width 64, 8 x 64 tokens) and a small transformer (4 layers, width 128, 8 x 128 tokens);
   and the tiny one over a 300-step run, where the one analysis a short run gets is most of
   the cost.
2. Sampled per-example gradients (``sample_per_example_gradients``, 4,096 coordinates)
   for 512 sequences against one forward + backward of the mean loss over the same 512
   (the peer). Target: <= 3x.

Both use eager attention: PyTorch has no vmap batching rule for CPU flash attention
(``scaled_dot_product_attention``), so under vmap it falls back to a slow per-example
loop; eager attention is plain matmuls.

Run:  python benchmarks/bench_monitor.py [--steps 3000] [--block 50] [--only monitor|sampler]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def tokens(seq_len: int, count: int):
    import torch

    text = Path(textwrap.__file__).read_text()
    text = (text * (1 + (count + 1) * seq_len // len(text)))[: (count + 1) * seq_len + 1]
    vocab = sorted(set(text))
    ids = torch.tensor([vocab.index(c) for c in text])
    x = torch.stack([ids[i * seq_len : (i + 1) * seq_len] for i in range(count)])
    y = torch.stack([ids[i * seq_len + 1 : (i + 1) * seq_len + 1] for i in range(count)])
    return x, y, len(vocab)


def gpt2(vocab: int, seq_len: int, n_embd: int, n_layer: int):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=vocab, n_positions=seq_len, n_embd=n_embd, n_layer=n_layer, n_head=4,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)
    cfg._attn_implementation = "eager"
    return GPT2LMHeadModel(cfg)


def loss_fn(out, y):
    import torch

    return torch.nn.functional.cross_entropy(out.logits.reshape(-1, out.logits.shape[-1]), y.reshape(-1))


def bench_monitor(args, name: str, n_embd: int, n_layer: int, seq_len: int, steps: int) -> dict:
    """One end-to-end overhead measurement (module docstring, part 1)."""
    import torch

    from adamcheck.torch import GradientMonitor

    T, B = seq_len, args.batch
    x, y, vocab = tokens(T, B * 64)
    models = [gpt2(vocab, T, n_embd, n_layer) for _ in range(2)]
    opts = [torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.95)) for m in models]
    d = sum(p.numel() for p in models[0].parameters())

    def block(i: int, start: int, count: int) -> float:
        t = time.process_time()
        for s in range(start, start + count):
            j = (s % 64) * B
            opts[i].zero_grad()
            loss_fn(models[i](x[j : j + B]), y[j : j + B]).backward()
            opts[i].step()
        return time.process_time() - t

    block(0, 0, 3), block(1, 0, 3)  # warm-up (before the monitor: its step count starts at the timed run)
    mon = GradientMonitor(opts[1], batch_size=B, model=models[1], warn=False, planned_steps=steps)
    plain, watched, analysed = [], [], []
    for k in range(0, steps, args.block):
        count = min(args.block, steps - k)
        before = len(mon.analyses)
        plain.append(block(0, k, count))
        watched.append(block(1, k, count))
        analysed.append(len(mon.analyses) > before)
    total = sum(watched) / sum(plain) - 1
    quiet = [b / a for a, b, an in zip(plain, watched, analysed) if not an]
    per_step = statistics.median(quiet) - 1 if quiet else float("nan")
    # the analyses' own CPU time: the blocks that held one, less their median quiet ratio
    extra = sum(b - a * (1 + per_step) for a, b, an in zip(plain, watched, analysed) if an)
    rep = mon.report()
    print(f"{name}: d = {d:,}, batch {B} x {T} tokens, {mon.k} coordinates, {steps} steps in "
          f"{len(plain)} alternating blocks; step without the monitor {sum(plain) / steps * 1e3:.2f} ms CPU")
    print(f"  total overhead, analyses included: {total:+.1%}  (target <= +3%)")
    print(f"  per-step records: {per_step:+.1%} (median of {len(quiet)} paired blocks without an analysis)")
    print(f"  analyses at steps {[a.step for a in mon.analyses]}: {extra:.2f} s CPU = {extra / sum(plain):.1%} of "
          f"the run; next planned: {rep.next_analysis}")
    c = mon.costs
    print(f"  the monitor's own accounting (wall clock): {c.spent_seconds:.2f} s = {c.share or float('nan'):.1%} of "
          f"its measured training time {c.train_seconds:.1f} s (budget {mon.settings.budget:.0%}; records "
          f"{c.record_seconds * 1e6:.0f} us per step)")
    return {"name": name, "steps": steps, "total": total, "per_step": per_step, "analyses": len(mon.analyses)}


def bench_sampler(args) -> None:
    import torch

    from adamcheck.torch import sample_per_example_gradients

    T, N = args.seq_len, args.examples
    x, y, vocab = tokens(T, N)
    model = gpt2(vocab, T, args.n_embd, args.n_layer)
    model.eval()

    def full() -> float:
        t = time.process_time()
        model.zero_grad()
        loss_fn(model(x), y).backward()
        return time.process_time() - t

    def chunked() -> float:  # the same forward + backward in chunks of the sampler's size (cache-friendlier)
        t = time.process_time()
        model.zero_grad()
        for a in range(0, N, args.chunk):
            (loss_fn(model(x[a : a + args.chunk]), y[a : a + args.chunk]) * (min(args.chunk, N - a) / N)).backward()
        return time.process_time() - t

    def sampled() -> float:
        t = time.process_time()
        sample_per_example_gradients(model, loss_fn, x, y, coordinates=4096, chunk_size=args.chunk)
        return time.process_time() - t

    full(), chunked(), sampled()  # warm-up
    fb, cb, sp = [], [], []
    for _ in range(args.repeats):
        fb.append(full())
        cb.append(chunked())
        sp.append(sampled())
    f, c, s = statistics.median(fb), statistics.median(cb), statistics.median(sp)
    print(f"{N} sequences of {T} tokens (CPU seconds, medians of {args.repeats}): forward+backward {f:.2f} s "
          f"in one batch, {c:.2f} s in chunks of {args.chunk}; sampled per-example gradients (4,096 "
          f"coordinates, chunk {args.chunk}) {s:.2f} s")
    for name, peer in (("one batch", fb), (f"chunks of {args.chunk}", cb)):
        print(f"  ratio to forward+backward in {name}: {s / statistics.median(peer):.2f}x (medians), "
              f"{statistics.median([b / a for a, b in zip(peer, sp)]):.2f}x (paired)  (target <= 3x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--short", type=int, default=300, help="steps of the short tiny GPT-2 run (0: skip)")
    ap.add_argument("--small-steps", type=int, default=1000, help="steps of the small transformer (0: skip)")
    ap.add_argument("--block", type=int, default=50)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--n-embd", type=int, default=64)
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--examples", type=int, default=512)
    ap.add_argument("--chunk", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", choices=("monitor", "sampler"))
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)  # a shared 2-core machine: one thread for both sides of each ratio
    if args.only != "sampler":
        bench_monitor(args, "tiny GPT-2", args.n_embd, args.n_layer, args.seq_len, args.steps)
        if args.small_steps:
            bench_monitor(args, "small transformer", 128, 4, 128, args.small_steps)
        if args.short:
            bench_monitor(args, "tiny GPT-2, a short run", args.n_embd, args.n_layer, args.seq_len, args.short)
    if args.only != "monitor":
        bench_sampler(args)


if __name__ == "__main__":
    main()

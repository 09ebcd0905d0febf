"""Cost of adamcheck.torch on a tiny GPT-2 (random init from a transformers config, CPU),
as ratios against peers measured in the same run.

1. GradientMonitor overhead at default settings (4,096 coordinates, analysis every 5,000
   steps on the last 1,000): two identical models train on the same batches, one with the monitor, in
   alternating blocks so machine noise hits both alike. Reported: per-step overhead
   (median block time with / without - 1), the time of one analysis (beta2*, drift
   ratio, noise scale) on the window recorded by then, and the total overhead with that
   analysis amortised over ``every`` steps. Target: <= 5%.
2. Sampled per-example gradients (``sample_per_example_gradients``, 4,096 coordinates)
   for 512 sequences against one forward + backward of the mean loss over the same 512
   (the peer). Target: <= 3x.

Both use eager attention: PyTorch has no vmap batching rule for CPU flash attention
(``scaled_dot_product_attention``), so under vmap it falls back to a slow per-example
loop; eager attention is plain matmuls.

Run:  python benchmarks/bench_monitor.py [--steps 1000] [--block 50] [--examples 512]
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


def bench_monitor(args) -> None:
    import torch

    from adamcheck.torch import GradientMonitor

    T, B = args.seq_len, args.batch
    x, y, vocab = tokens(T, B * 64)
    models = [gpt2(vocab, T, args.n_embd, args.n_layer) for _ in range(2)]
    opts = [torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.95)) for m in models]
    mon = GradientMonitor(opts[1], batch_size=B, model=models[1], warn=False)
    d = sum(p.numel() for p in models[0].parameters())
    print(f"tiny GPT-2: d = {d:,} parameters, batch {B} x {T} tokens, monitor: {mon.k} coordinates, "
          f"analysis every {mon.every} steps on a {mon.window}-step window")

    def block(i: int, start: int) -> float:
        t = time.process_time()
        for s in range(start, start + args.block):
            j = (s % 64) * B
            opts[i].zero_grad()
            loss_fn(models[i](x[j : j + B]), y[j : j + B]).backward()
            opts[i].step()
        return (time.process_time() - t) / args.block

    block(0, 0), block(1, 0)  # warm-up
    plain, watched = [], []
    mon.every = 10**9  # no analysis inside the timed blocks: it is timed on its own below
    for k in range(args.steps // args.block):
        plain.append(block(0, k * args.block))
        watched.append(block(1, k * args.block))
    p, w = statistics.median(plain), statistics.median(watched)
    paired = statistics.median([b / a for a, b in zip(plain, watched)])
    print(f"step CPU time, median over {len(plain)} blocks of {args.block}: without {p * 1e3:.2f} ms, "
          f"with monitor {w * 1e3:.2f} ms")
    print(f"  per-step overhead: {w / p - 1:+.1%} (medians), {paired - 1:+.1%} (paired blocks)")
    recorded = len(mon._rows)
    t = time.process_time()
    mon.analyse()
    a = time.process_time() - t
    every = GradientMonitor.__init__.__kwdefaults__["every"]
    print(f"  one analysis on a {recorded}-step window: {a:.2f} s CPU = {a / (every * p):.1%} of {every} steps")
    print(f"  total with the analysis amortised: {w / p - 1 + a / (every * p):+.1%}  (target <= +5%)")


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
    ap.add_argument("--steps", type=int, default=1000)
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
        bench_monitor(args)
    if args.only != "monitor":
        bench_sampler(args)


if __name__ == "__main__":
    main()

"""Property-based fuzzing of the whole command line (hypothesis).

Arguments for every command are generated from pools of valid, boundary and absurd
values (negative and zero sizes, 2**64, 10**200, nan, inf, 1e-320, 1/0, garbage
text, devices, missing and malformed files). Sizes that would make a *valid* run
long (steps, seeds, grid points, replicates, atoms) are drawn either small or far
beyond adamcheck's limits, never in between, so each invocation is cheap and the
limits themselves are exercised. Every invocation runs in-process through
``adamcheck.cli.main`` (the console entry's code path) and must:

* exit 0, 1 or 2 (never 3, the internal-error code, and never raise);
* print no traceback; on exit 2 print exactly one ``adamcheck: error:`` line;
* with ``--json`` and exit 0/1, print only JSON on stdout;
* leave every input file as it was, and no temporary file behind.

The pools hold one of each kind of bad input of the bad-input reports (issue 19: disagreeing
and malformed gradient-file metadata, batch sizes above the data, complex data, duplicate
config keys, outputs that are inputs or devices (/dev/full), format-3.0, malformed and
negative-dimension .npy headers, a 5,000-digit integer in a JSON config, a member that
inflates beyond its header, a 4 MB TOML, check's own ERROR verdicts); a tenth of
the runs have ``ADAMCHECK_DEBUG=1`` (exit codes must not change) and one in twenty is sent
SIGTERM at a random moment (exit 143 with one line, or its normal result).

``FUZZ_EXAMPLES`` (default 2,200) sets the number of invocations; the run is
derandomized, so CI explores the same inputs every time and a failure reproduces
(``FUZZ_RANDOM=1`` explores new ones; ``FUZZ_PROFILE=1`` prints time and exit codes per
command).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from _hypothesis import AVAILABLE, REASON_MISSING, HealthCheck, given, settings, st

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2200"))
#: Wall-clock bound of one invocation (generous: CI machines are shared).
MAX_SECONDS = 10.0

ABSURD_INTS = ["-1", "0", str(2**31), str(2**63 - 1), str(2**63), str(2**64), "1" + "0" * 200, "1e3", "abc", "",
               "-0", "+5", "0x10", "1_000"]
ABSURD_FLOATS = ["nan", "inf", "-inf", "1e-320", "1e308", "1e999", "-0", "0", "1/0", "0/0", "1/81", "abc", "",
                 "-1", "1", "0.5", "0.999", "2", "1e-8", "1" + "0" * 400, "9" * 100 + "/7"]


def mostly(valid, invalid, tenths: int = 8):
    """``valid`` in ``tenths`` out of 10 draws, else ``invalid``: runs get past the first check."""
    return st.integers(0, 9).flatmap(lambda k: valid if k < tenths else invalid)


def small_int(lo: int = 1, hi: int = 30):
    """A size drawn small (cheap when valid) or absurd (must be refused)."""
    return mostly(st.integers(lo, hi).map(str),
                  st.one_of(st.sampled_from(ABSURD_INTS), st.integers(10**13, 10**30).map(str)))


def any_int():
    return mostly(st.integers(1, 5000).map(str), st.one_of(st.integers(-5, 0).map(str), st.sampled_from(ABSURD_INTS)))


def any_float():
    return mostly(
        st.floats(0, 1).map(lambda x: f"{x:.6g}"),
        st.one_of(st.sampled_from(ABSURD_FLOATS), st.floats(allow_nan=True, allow_infinity=True).map(repr)),
    )


def float_list(n: int = 3):
    return st.lists(mostly(st.floats(0, 1, exclude_max=True).map(lambda x: f"{x:.4g}"),
                           st.one_of(st.floats(-0.5, 1.2).map(lambda x: f"{x:.4g}"), st.sampled_from(ABSURD_FLOATS))),
                    min_size=1, max_size=n).map(",".join)


def axis_spec():
    lo_hi = st.one_of(st.floats(-0.5, 1.2).map(lambda x: f"{x:.3g}"), st.sampled_from(["nan", "inf", "x", ""]))
    ranged = st.tuples(lo_hi, lo_hi, small_int(1, 3)).map(lambda t: ":".join(t))
    return st.one_of(ranged, float_list(3), st.sampled_from(["0:1", "a:b:c", "0:1:2:3", ":", ",", "0.9,"]))


def options(pairs: dict, max_size: int = 5):
    """A few of ``pairs`` (flag -> strategy of its value, or None for a flag without value)."""
    flags = sorted(pairs)
    return st.lists(st.sampled_from(flags), max_size=max_size, unique=True).flatmap(
        lambda chosen: st.tuples(*[
            st.just([f]) if pairs[f] is None else pairs[f].map(lambda v, f=f: [f, v]) for f in chosen
        ])
    ).map(lambda parts: [w for part in parts for w in part])


@pytest.fixture(scope="module")
def fuzz_files(tmp_path_factory):
    root = Path(__file__).resolve().parents[2]
    d = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(0)
    np.save(d / "grads.npy", rng.normal(0.3, 1.0, size=(48, 4)))
    g = rng.normal(size=(16, 3))
    g[1, 1] = np.nan
    np.save(d / "nan.npy", g)
    np.save(d / "one.npy", rng.normal(size=(1, 3)))
    np.save(d / "points.npy", rng.normal(size=(2, 16, 3)))
    np.save(d / "ints.npy", np.arange(12).reshape(4, 3))
    np.savez(d / "xy.npz", X=rng.normal(size=(12, 3)), y=rng.normal(size=12))
    np.savez(d / "xy_bin.npz", X=rng.normal(size=(12, 3)), y=(rng.random(12) > 0.5).astype(float))
    np.savez(d / "nokeys.npz", A=np.ones(3))
    (d / "junk.npy").write_bytes(b"\x93NUMPY\x01\x00garbage")
    # gradient files of the third bad-input round: one loader and one validator for every command
    with open(d / "v3.npy", "wb") as f:
        np.lib.format.write_array(f, rng.normal(0.3, 1.0, size=(48, 4)), version=(3, 0))
    for name, header in (("badheader.npy", b"{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3),"),
                         ("negshape.npy", b"{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 8), }")):
        body = header + b" " * (-(len(header) + 11) % 64) + b"\n"
        (d / name).write_bytes(b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body + b"\0" * 96)
    g4 = rng.normal(0.3, 1.0, size=(48, 4))
    np.savez(d / "monitor4.npz", grads=g4, row_batch_size=4, batch_size=4, beta1=0.0, reduction="mean")
    np.savez(d / "sum.npz", grads=g4, reduction="sum")
    np.savez(d / "rbs25.npz", grads=g4, row_batch_size=2.5)
    np.savez(d / "banana.npz", grads=g4, reduction="banana", loss_scale=float("nan"), mean_over=-3)
    np.savez_compressed(d / "zipped.npz", grads=g4)
    (d / "pickle.npy").write_bytes(b"\x80\x04\x95junk")
    (d / "empty.json").write_text("")
    (d / "list.json").write_text("[1, 2, 3]")
    (d / "weird.json").write_text('{"per_device_train_batch_size": 1e400, "adam_beta2": "nan", '
                                  '"gradient_accumulation_steps": -3, "adam_beta1": 2}')
    (d / "hf.yaml").write_text("per_device_train_batch_size: 8\nadam_beta2: 0.95\nadam_epsilon: 1e-8\n")
    (d / "deep.json").write_text("[" * 100000 + "]" * 100000)
    levels = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        levels.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    (d / "laughs.yaml").write_text("\n".join(levels) + "\nadam_beta2: *i\n")
    for i in range(6):  # nine includes of nine includes of ...
        nxt = f"inc{i + 1}.yaml" if i < 5 else None
        body = "\n".join(f"k{j}: !include {nxt}" for j in range(9)) if nxt else "adam_beta2: 0.95"
        (d / f"inc{i}.yaml").write_text("optimizer:\n  type: adam\n" + body + "\n")
    (d / "nano.py").write_text("batch_size = 12\nbeta2 = 0.99\nimport os\nos.system('false')\n")
    (d / "args.txt").write_text("--micro-batch-size 4 --global-batch-size 1e99 --adam-beta2 0.95 --seq-length x\n")
    (d / "bad.toml").write_text("[optimizer]\nname = 'AdamW'\nbeta2 = nan\n[training]\nbatch_size = -1\n")
    (d / "binary.bin").write_bytes(bytes(range(256)))
    (d / "folder").mkdir()
    os.symlink(root / "examples", d / "examples")
    _issue19_files(d, rng)
    return d


def _issue19_files(d: Path, rng) -> None:
    """One file of each kind of bad input in issue 19 (bad input, round 3) beyond the gradient
    files above (format 3.0, bad headers, a monitor file, disagreeing and malformed metadata)."""
    g = rng.normal(0.3, 1.0, size=(48, 4))
    np.savez(d / "grads.npz", grads=g)
    # 3: one malformed metadata value per file, so each check is reached
    for name, key, value in [("meta_rb0", "row_batch_size", 0), ("meta_rbneg", "row_batch_size", -4),
                             ("meta_lsnan", "loss_scale", float("nan")), ("meta_ls0", "loss_scale", 0.0),
                             ("meta_lsneg", "loss_scale", -1.0), ("meta_mo", "mean_over", -3)]:
        np.savez(d / f"{name}.npz", grads=g, **{key: np.asarray(value)})
    # 4: complex data
    np.savez(d / "xy_complex.npz", X=rng.normal(size=(12, 3)) + 1j, y=rng.normal(size=12))
    # 5/10/16: configs with duplicate keys, a 5,000-digit integer, beta2 outside [0, 1)
    (d / "dup.json").write_text('{"per_device_train_batch_size": 8, "adam_beta2": 0.95, "adam_beta2": 0.999}')
    (d / "dup.yaml").write_text("per_device_train_batch_size: 8\nadam_beta2: 0.95\nadam_beta2: 0.999\n")
    (d / "bigint.json").write_text('{"per_device_train_batch_size": 8, "adam_beta2": 0.999, "max_steps": '
                                   + "9" * 5000 + "}")
    for name, value in [("b2_one", "1"), ("b2_big", "1.5"), ("b2_neg", "-0.5"), ("b2_inf", "1e400")]:
        (d / f"{name}.json").write_text(f'{{"per_device_train_batch_size": 8, "adam_beta2": {value}}}')
    # 6/7: outputs that are inputs (a name, a symlink, a hard link) or devices
    (d / "grads_link.npz").symlink_to(d / "grads.npz")
    (d / "grads_link.png").symlink_to(d / "grads.npz")
    os.link(d / "grads.npz", d / "grads_hard.npz")
    (d / "xy_link.png").symlink_to(d / "xy.npz")
    for name, device in [("full.npz", "/dev/full"), ("full.png", "/dev/full"), ("null.npz", "/dev/null"),
                         ("null.png", "/dev/null")]:
        (d / name).symlink_to(device)
    # 14: a compressed member whose stream inflates far beyond the shape its header declares
    import zipfile

    with zipfile.ZipFile(d / "lying.npz", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        head = io.BytesIO()
        np.lib.format.write_array(head, np.zeros((10, 4)))
        zf.writestr("grads.npy", head.getvalue() + bytes(8 << 20))
    # 15: a 4 MB TOML holding a 2-million-element array
    (d / "huge.toml").write_text("[training]\nbatch_size = 8\nbetas = [" + "0," * 2_000_000 + "0]\n")


GOOD_GRADS = ["grads.npy", "points.npy", "v3.npy", "monitor4.npz", "zipped.npz", "grads.npz"]
ISSUE19_GRADS = ["meta_rb0.npz", "meta_rbneg.npz", "meta_lsnan.npz", "meta_ls0.npz", "meta_lsneg.npz", "meta_mo.npz",
                 "lying.npz", "grads.npz", "grads_hard.npz"]
GRAD_FILES = ["grads.npy", "nan.npy", "one.npy", "points.npy", "ints.npy", "xy.npz", "nokeys.npz", "junk.npy",
              "pickle.npy", "missing.npy", "folder", "/dev/null", "/dev/zero", "empty.json", "v3.npy",
              "badheader.npy", "negshape.npy", "monitor4.npz", "sum.npz", "rbs25.npz", "banana.npz", "zipped.npz"
              ] + ISSUE19_GRADS
CONFIG_FILES = ["examples/configs/hf/training_args_defaults.json", "examples/configs/hf/sft_recipe.yaml",
                "examples/configs/deepspeed/ds_config_zero2.json", "examples/configs/deepspeed/training_args.json",
                "examples/configs/nanogpt/train_shakespeare_char.py", "examples/configs/megatron/gpt_small_args.txt",
                "examples/configs/megatron/train_gpt3_175b.sh", "examples/configs/torchtitan/llama3_8b.toml",
                "examples/configs/olmo/OLMo2-7B-stage1.yaml", "examples/configs/torchtitan/config_registry.py",
                "examples/configs/levanter/gpt2_small.yaml", "examples/configs/axolotl/llama-3-8b-fft.yaml",
                "examples/configs/litgpt/pretrain_tinyllama.yaml", "examples/configs/torchtune/llama3_1_8B_full.yaml",
                "examples/configs/llamafactory/qwen3_full_sft.yaml", "examples/configs/hf/trainer_state.json",
                "examples/configs/accelerate/default_config.yaml", "examples/configs/nanogpt/train_gpt2_2023_02.py",
                "empty.json", "list.json", "weird.json", "hf.yaml", "deep.json", "laughs.yaml", "nano.py", "inc0.yaml",
                "args.txt", "bad.toml", "binary.bin", "folder", "missing.json", "/dev/null", "/dev/zero", "grads.npy",
                "dup.json", "dup.yaml", "bigint.json", "b2_one.json", "b2_big.json", "b2_neg.json", "b2_inf.json",
                "huge.toml"]
REFERENCES = st.one_of(
    st.sampled_from(["0.95@8", "0.999@32", "0.95@2048tok", "1@8", "0@8", "nan@8", "0.9@0", "0.9@-1", "0.9@1e400",
                     "0.9@inf", "x@y", "@", "0.95", "0.9@8@9", "", "0.95@8 tok"]),
    st.tuples(any_float(), any_int()).map("@".join),
)
BAD_INVALID_GRADS = st.sampled_from([g for g in GRAD_FILES if g != "grads.npy"])
PROBLEM_OPTS = {
    "--n": small_int(0, 12), "--a": any_float(), "--C": any_float(), "--period": small_int(0, 6),
    "--delta": any_float(), "--data": st.sampled_from(["xy.npz", "xy_bin.npz", "nokeys.npz", "grads.npy",
                                                       "missing.npz", "/dev/zero", "xy_complex.npz"]),
    "--batch-size": small_int(0, 14), "--drop-last": None,
}
PROBLEMS = mostly(st.sampled_from(["counterexample", "reddi-online", "reddi-stochastic"]),
                  st.sampled_from(["lsq", "logistic", "other"]), 7)


def simulate_args():
    opts = {**PROBLEM_OPTS, "--beta1": float_list(), "--beta2": float_list(), "--lr": float_list(2),
            "--eps": float_list(1), "--weight-decay": float_list(1), "--decoupled": None,
            "--eps-root": float_list(1), "--seed": st.one_of(any_int(), st.just("1,2,3"), st.just("1,,x")),
            "--steps": small_int(1, 40), "--convention": st.sampled_from(["torch", "paper", "shi2021", "optax",
                                                                          "keras", "adam"]),
            "--sampling": st.sampled_from(["replacement", "reshuffle", "cyclic", "x"]),
            "--schedule": st.sampled_from(["constant", "inv-sqrt", "inv-sqrt-epoch", "cosine"]),
            "--x0": float_list(4), "--dtype": st.sampled_from(["float64", "float32", "float16"]),
            "--record-every": small_int(1, 40), "--workers": st.sampled_from(["1", "-1", "x"]),
            "--plot": st.sampled_from(["nofolder/x.png", "x.txt", "folder", "full.png", "null.png", "out.png"])}
    return st.tuples(PROBLEMS, options(opts, 7)).map(lambda t: ["simulate", "--problem", t[0], "--steps", "20",
                                                                 *t[1]])


def phase_args():
    opts = {**PROBLEM_OPTS, "--beta1": axis_spec(), "--beta2": axis_spec(), "--steps": small_int(1, 30),
            "--seeds": small_int(1, 2), "--seed": any_int(), "--lr": any_float(), "--eps": any_float(),
            "--convention": st.sampled_from(["torch", "paper", "keras"]), "--x0": any_float(),
            "--schedule": st.sampled_from(["constant", "inv-sqrt"]), "--log-beta2": None,
            "--workers": st.sampled_from(["1", "-1"]), "--out": st.sampled_from(["nofolder/p.png", "p.jpg"]),
            "--plot": st.sampled_from(["nofolder/p.png", "p.tiff", "folder", "full.png", "out.png"])}
    return st.tuples(PROBLEMS, options(opts, 6)).map(
        lambda t: ["phase", "--problem", t[0], "--beta1", "0,0.9", "--beta2", "0.5,0.99", "--steps", "20", *t[1]])


def estimate_args():
    opts = {"--batch-size": small_int(0, 60), "--dataset-size": any_int(),
            "--reduction": st.sampled_from(["mean", "sum", "max", ""]), "--loss-scale": any_float(),
            "--mean-over": any_int(), "--key": st.sampled_from(["grads", "X", "nope"]),
            "--partitions": small_int(0, 3), "--file-partition": None, "--level": any_float(),
            "--replicates": small_int(0, 40), "--atoms": small_int(1, 16), "--workers": st.sampled_from(["0", "1",
                                                                                                        "-1"]),
            "--seed": any_int(), "--laws-out": st.sampled_from(["nofolder/l.npz", "l.txt", "full.npz", "null.npz",
                                                                "laws.npz"]),
            "--plot": st.sampled_from(["nofolder/n.png", "n.gif", "full.png"])}
    files = mostly(st.sampled_from(GOOD_GRADS).map(lambda f: [f]),
                   st.lists(st.sampled_from(GRAD_FILES), min_size=1, max_size=2), 6)
    return st.tuples(files, options(opts, 4)).map(
        lambda t: ["estimate", *t[0], "-b", "4", "--replicates", "20", "--atoms", "8", *t[1]])


def recommend_args():
    opts = {"--dataset-size": any_int(), "--gradients": BAD_INVALID_GRADS, "--beta1": any_float(),
            "--reference": REFERENCES, "--tokens-per-sample": any_int(), "--eps": any_float(),
            "--margin": any_float(), "--steps": any_int(), "--max-steps": any_int(), "--seed": any_int(),
            "--plot": st.sampled_from(["nofolder/r.png", "r.bmp", "full.png"])}
    return st.tuples(any_int(), options(opts, 6)).map(lambda t: ["recommend", "--batch-size", t[0], *t[1]])


def check_args():
    opts = {"--format": st.sampled_from(["hf", "deepspeed", "nanogpt", "megatron", "torchtitan", "axolotl",
                                         "llamafactory", "torchtune", "litgpt", "olmo", "levanter",
                                         "trainer_state", "accelerate", "xml"]),
            "--preset": st.sampled_from(["llama3_8b", "llama3_70b", "nope", "", "x" * 300]),
            "--accumulation": st.sampled_from(["per-rank", "global", "both"]),
            "--world-size": any_int(), "--seq-len": any_int(), "--micro-batch-size": any_int(),
            "--grad-accum": any_int(), "--global-batch-size": any_int(), "--max-steps": any_int(),
            "--dataset-size": any_int(), "--gradients": BAD_INVALID_GRADS, "--reference": REFERENCES,
            "--reference-seq-len": any_int()}
    files = mostly(st.sampled_from(CONFIG_FILES[:18] + ["hf.yaml"]).map(lambda f: [f]),
                   st.lists(st.sampled_from(CONFIG_FILES), min_size=1, max_size=2), 6)
    return st.tuples(files, options(opts, 5)).map(lambda t: ["check", *t[0], *t[1]])


def derive_args():
    number = st.one_of(st.sampled_from(["1/4", "3", "0.25", "-1", "0", "1/0", "abc", "1e999999999", "1e40", "nan",
                                        "9" * 70, "", "2/3", "1e-5"]), st.integers(-3, 12).map(str))
    cheap = st.sampled_from(["recurrence", "shi", "theorem23", "reddi-theorem1", "counterexample", "d1",
                             "shi-threshold", "theorem22", "nope"])
    opts = {"--convention": st.sampled_from(["all", "torch", "paper", "nope"]),
            "--problem": st.sampled_from(["counterexample", "reddi-online", "reddi-stochastic", "reddi-experiment",
                                          "lsq"]),
            "--n": number, "--a": number, "--C": number, "--delta": number, "--c": number,
            "--variant": st.sampled_from(["2026", "2022", "1999"]), "--d": number, "--D1": number,
            "--beta1": number, "--d1-convention": st.sampled_from(["sum", "mean", "max"]), "--latex": None}
    return st.tuples(cheap, options(opts, 5)).map(lambda t: ["derive", t[0], *t[1]])


def boundary_args():
    opts = {"--n": small_int(0, 12), "--a": any_float(), "--gradients": mostly(st.just("grads.npy"), BAD_INVALID_GRADS, 3),
            "--max-update": any_float(), "--max-climbing": any_float(),
            "--batch-sizes": st.sampled_from(["1,4", "0", "-1", "x", "", "1," + str(2**64), "1000," + str(10**30),
                                              "4,49", ",".join(map(str, range(1, 150)))]),
            "--dataset-size": any_int(), "--beta1": st.sampled_from(["0.5", "nan", "1", "0:0.5:1", "x", "0.9,2"]),
            "--eps": any_float(), "--seed": any_int(), "--plot": st.sampled_from(["nofolder/b.png", "b.jpeg"]),
            "--steps": small_int(20, 60), "--seeds": small_int(1, 2), "--workers": st.sampled_from(["1", "-1"])}
    problem = st.sampled_from([["--problem", "counterexample"], ["--problem", "other"], []])
    return st.tuples(problem, options(opts, 4)).map(lambda t: ["boundary", *t[0], "--beta1", "0.5", *t[1]])


_EST = ("estimate", "grads.npz", "-b", "4", "--replicates", "20", "--atoms", "8")
_LSQ = ("--problem", "lsq", "--data", "xy.npz", "--batch-size", "4", "--steps", "20")
#: An output that is one of the command's inputs: by name, path, symlink or hard link (issue 19 item 6).
SAME_FILE_CASES = [
    (*_EST, "--laws-out", "grads.npz"), (*_EST, "--laws-out", "./grads.npz"), (*_EST, "--laws-out", "grads_link.npz"),
    (*_EST, "--laws-out", "grads_hard.npz"), (*_EST, "--plot", "grads_link.png"),
    ("recommend", "-b", "4", "--gradients", "grads.npz", "--plot", "grads_link.png"),
    ("boundary", "--gradients", "grads.npz", "--batch-sizes", "4", "--beta1", "0", "--plot", "grads_link.png"),
    ("simulate", *_LSQ, "--plot", "xy_link.png"),
    ("phase", *_LSQ, "--beta1", "0,0.9", "--beta2", "0.5,0.99", "--plot", "xy_link.png"),
]


def same_file_args():
    return st.sampled_from(SAME_FILE_CASES).map(list)


def prove_args():
    return st.sampled_from(["zzz-no-such", "x" * 200, "\x00"]).map(lambda only: ["prove", "--only", only])


def other_args():
    words = st.sampled_from(["--help", "-h", "--version", "nope", "--json", "-q", "--quiet", "recommend", "check",
                             "--", "-", "--batch-size", "8", "simulate", "--steps", "\x00", "é", " "])
    return st.lists(words, max_size=4)


# Weights: derive (SymPy) and boundary (drift-ratio search) cost ~0.1 s a call, the rest
# ~1-5 ms; they get ~1 in 37 draws each so 2,200 invocations fit in about a minute.
_CHEAP = ([simulate_args()] * 8 + [check_args()] * 8 + [recommend_args()] * 7 + [phase_args()] * 5
          + [estimate_args()] * 5 + [other_args(), prove_args(), same_file_args()])
COMMANDS = st.one_of(*_CHEAP, derive_args(), boundary_args())
JSON_COMMANDS = ("simulate", "phase", "estimate", "recommend", "check", "derive", "boundary", "prove")
JSON_FLAG = st.sampled_from([[], [], ["--json"]])
#: ADAMCHECK_DEBUG=1 in one run in ten; SIGTERM after a random delay in one in twenty.
DEBUG_FLAG = st.integers(0, 9).map(lambda k: k == 0)
SIGTERM_AFTER = st.integers(0, 19).flatmap(lambda k: st.floats(0.0, 0.01) if k == 0 else st.none())


PROFILE: dict[str, tuple[float, int]] = {}
CODES: dict[tuple[str, int], int] = {}


def _run(args: list[str], debug: bool = False, sigterm_after: float | None = None) -> tuple[int, str, str]:
    from adamcheck.cli import main

    out, err = io.StringIO(), io.StringIO()
    timer = None
    if sigterm_after is not None:  # as `timeout` or a job scheduler would, at a random moment
        main_thread = threading.main_thread().ident
        timer = threading.Timer(sigterm_after, lambda: signal.pthread_kill(main_thread, signal.SIGTERM))
    if debug:
        os.environ["ADAMCHECK_DEBUG"] = "1"
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            if timer is not None:
                timer.start()
            code = main(args)
    finally:
        if timer is not None:
            timer.cancel()
            timer.join()
        os.environ.pop("ADAMCHECK_DEBUG", None)
    return code, out.getvalue(), err.getvalue()


def _inputs(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Identity, size and modification time of every regular file: what an overwrite changes."""
    files = {}
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False):
            st_ = entry.stat(follow_symlinks=False)
            files[entry.name] = (st_.st_ino, st_.st_size, st_.st_mtime_ns)
    return files


@pytest.mark.slow
@pytest.mark.skipif(not AVAILABLE, reason=REASON_MISSING)
def test_cli_fuzz(fuzz_files, monkeypatch):
    monkeypatch.chdir(fuzz_files)
    monkeypatch.delenv("ADAMCHECK_DEBUG", raising=False)
    # Outside adamcheck's own handler (installed while a command runs), a late SIGTERM is ignored.
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    inputs = _inputs(fuzz_files)
    count = {"n": 0}
    started = time.perf_counter()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("FUZZ_RANDOM"), database=None,
              suppress_health_check=list(HealthCheck))
    @given(args=COMMANDS, json_flag=JSON_FLAG, debug=DEBUG_FLAG, sigterm_after=SIGTERM_AFTER)
    def check(args, json_flag, debug, sigterm_after):
        argv = list(args) + (json_flag if args and args[0] in JSON_COMMANDS else [])
        count["n"] += 1
        if sigterm_after is not None:
            # The same command first without the signal, so every module it imports is loaded: an
            # exception in the middle of an import would leave this interpreter a half-initialised
            # module (a real process exits on SIGTERM and never sees that state).
            _run(argv)
        t0 = time.perf_counter()
        code, out, err = _run(argv, debug=debug, sigterm_after=sigterm_after)
        elapsed = time.perf_counter() - t0
        if os.environ.get("FUZZ_PROFILE"):
            name = argv[0] if argv else ""
            total, n = PROFILE.get(name, (0.0, 0))
            PROFILE[name] = (total + elapsed, n + 1)
            CODES[(name, code)] = CODES.get((name, code), 0) + 1
            if elapsed > 0.5:
                print(f"slow {elapsed:.2f}s {argv}")
        assert "Traceback" not in err and "internal error" not in err, (argv, debug, err[-500:])
        assert elapsed < MAX_SECONDS, (argv, elapsed)
        lines = err.strip().splitlines()
        if code == 143:  # SIGTERM came while the command ran: its line ends stderr
            assert sigterm_after is not None, (argv, err[-500:])
            assert lines and lines[-1].startswith("adamcheck: error: terminated by SIGTERM"), (argv, err[-500:])
        else:
            assert code in (0, 1, 2), (argv, code, err[-500:])
        if code == 2 and argv:  # every exit 2 says why, in one line (bare `adamcheck` prints its usage)
            assert len(lines) == 1 and lines[0].startswith("adamcheck: error:"), (argv, err[-500:])
        if tuple(args) in SAME_FILE_CASES and sigterm_after is None:
            assert code == 2 and "is the input file" in err, (argv, code, err[-500:])
        if (argv and argv[0] in JSON_COMMANDS and "--json" in argv and code in (0, 1)
                and "--help" not in argv and "-h" not in argv):
            json.loads(out)
        now = _inputs(fuzz_files)
        assert {k: now.get(k) for k in inputs} == inputs, (argv, "an input file was overwritten or removed")
        assert not [n for n in now if n.startswith(".") and ".tmp" in n], (argv, "a temporary file was left")

    try:
        check()
    finally:
        signal.signal(signal.SIGTERM, previous)
    seconds = time.perf_counter() - started
    for name, (total, n) in sorted(PROFILE.items()):
        codes = {c: k for (m, c), k in CODES.items() if m == name}
        print(f"  {name or '(none)':<10} {n:5d} runs, {1000 * total / n:7.1f} ms each, exit codes {codes}")
    print(f"\nfuzz: {count['n']} invocations in {seconds:.1f} s ({count['n'] / seconds:.0f}/s)")
    assert count["n"] >= min(EXAMPLES, 2000)


# --- the Python API: wrong types raise our errors (issue 19, item 11) ---------------------------------
class _NotANumber:
    pass


def _wrong_values() -> dict:
    """One of each kind of wrong value a caller hands over by mistake."""
    values = {"None": None, "text": "abc", "range text": "0:1:3", "bytes": b"x", "empty list": [],
              "ragged": [[1, 2], [3]], "dict": {}, "object": _NotANumber(), "complex": 1 + 2j,
              "text array": np.array(["a", "b"]), "nan": float("nan"), "inf": float("inf"), "bool": True,
              "10**400": 10**400, "2**70": 2**70, "-1": -1, "2.5": 2.5, "set": {1, 2}, "matrix": np.ones((2, 2))}
    try:
        import torch
    except Exception:  # without torch, tensors are not a value anyone can pass
        return values
    values.update({"tensor": torch.tensor([0.5, 0.9]), "0-d tensor": torch.tensor(0.5),
                   "tensor with grad": torch.ones(2, requires_grad=True)})
    return values


def _api_calls() -> dict:
    """Entry point -> (call, valid keyword arguments); each argument is replaced in turn."""
    import adamcheck
    from adamcheck.drift import training_boundary
    from adamcheck.recommend import batch_size_boundary, counterexample_boundary

    rng = np.random.default_rng(0)
    grads = rng.normal(0.3, 1.0, size=(64, 5))
    problem = adamcheck.Counterexample(n=5, a=1 / 16)
    X, y = rng.normal(size=(8, 2)), rng.normal(size=8)
    calls = {
        "simulate": (lambda **k: adamcheck.simulate(problem, **k), dict(
            steps=20, beta1=0.9, beta2=0.99, lr=0.1, eps=1e-8, weight_decay=0.0, eps_root=0.0, seed=0, x0=0.0,
            convention="paper", sampling=None, schedule="constant", dtype="float64", record_every=None,
            workers=1, tol=0.05, criterion=None)),
        "phase_grid": (lambda **k: adamcheck.phase_grid(problem, **k), dict(
            beta1=[0.0, 0.9], beta2=[0.5, 0.99], steps=20, seeds=1, seed=0, lr=0.1, eps=1e-8,
            convention="paper", sampling=None, schedule="inv-sqrt", x0=0.0, workers=1, tol=0.05,
            dtype="float64", criterion=None)),
        "simulate(problem)": (lambda problem: adamcheck.simulate(problem, steps=10), dict(problem=problem)),
        # estimate's grads go through adamcheck/noise's GradientSource.from_array (not swept here:
        # nested lists and tensors with grad raise there; reported to that module's owner)
        "estimate": (lambda **k: adamcheck.estimate(grads, **k), dict(
            batch_size=4, dataset_size=None, reduction=None, loss_scale=None, mean_over=None, key=None,
            partitions=0, level=0.95, replicates=0, law_atoms=8, seed=0, workers=None)),
        "recommend": (lambda **k: adamcheck.recommend(**k), dict(
            batch_size=8, dataset_size=None, beta1=None, reference=None, tokens_per_sample=None, eps=None,
            planned_steps=None, seed=0)),
        "recommend(gradients)": (lambda **k: adamcheck.recommend(8, **k), dict(gradients=grads)),
        "training_boundary": (lambda **k: training_boundary(**k), dict(
            gradients=grads, batch_sizes=[1, 4], beta1=0.9, beta2s=None, eps=1e-8, steps=50, max_update=2.0,
            max_climbing=1.0, window=10, quantile=0.99, coordinates=8, seed=0, progress=False)),
        "batch_size_boundary": (lambda **k: batch_size_boundary(**k), dict(gradients=grads, batch_sizes=[1, 4],
                                                                            steps=50)),
        "counterexample_boundary": (lambda **k: counterexample_boundary(**k), dict(n=5, a=None,
                                                                                    beta1s=[0.0, 0.5])),
        "LeastSquares": (lambda **k: adamcheck.LeastSquares(**k), dict(X=X, y=y, batch_size=4)),
        "counterexample_d1": (lambda **k: adamcheck.counterexample_d1(**k), dict(n=5, a=1 / 16)),
        "shi_min_beta2": (lambda **k: adamcheck.shi_min_beta2(**k), dict(n=5, d=1, d1=21.375)),
    }
    try:
        import torch

        from adamcheck.torch import phase_sweep
    except Exception:
        return calls
    tX = torch.linspace(-1, 1, 16).reshape(-1, 1)

    def model_fn(seed):
        torch.manual_seed(seed)
        return torch.nn.Linear(1, 1)

    def loss_fn(out, target):
        return ((out[:, 0] - target) ** 2).mean()

    calls["phase_sweep"] = (lambda **k: phase_sweep(model_fn, loss_fn, **k), dict(
        data=(tX, 3 * tX[:, 0]), batch_sizes=[4], beta1=0.9, beta2=[0.99], lr=0.05, steps=5, seeds=1,
        weight_decay=0.0, eps=1e-8, schedule="constant", sampling="reshuffle", batching="rows", dtype=None,
        device="cpu", record_every=None, reference_loss=None, criterion=None, chunk_size=None,
        memory_limit=1 << 30, progress=False))
    return calls


@pytest.mark.slow
def test_api_wrong_types_raise_adamcheck_errors():
    """Every argument of each public entry point, replaced in turn by each wrong value: the call
    returns or raises an AdamCheckError, never TypeError/ValueError/RuntimeError/OverflowError..."""
    import warnings

    from adamcheck import AdamCheckError

    wrong = _wrong_values()
    escaped = []
    for name, (call, valid) in _api_calls().items():
        call(**valid)  # the valid call works, so each failure below is the replaced argument's
        for arg in valid:
            for label, value in wrong.items():
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        call(**{**valid, arg: value})
                except AdamCheckError:
                    pass
                except Exception as exc:  # noqa: BLE001 - the point: anything else is a bug
                    escaped.append(f"{name}({arg}={label}): {type(exc).__name__}: {str(exc)[:120]}")
    assert not escaped, "\n".join(escaped)

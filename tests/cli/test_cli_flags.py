"""One meaning per option across commands; the old spellings still work, hidden."""

from __future__ import annotations

import json

import click
import pytest

from adamcheck.cli import cli

EXAMPLE = "examples/digits/grads.npz"


def _options(name: str) -> dict[str, click.Option]:
    command = cli.get_command(click.Context(cli), name)
    return {opt: p for p in command.params if isinstance(p, click.Option) for opt in p.opts}


def test_plot_is_the_picture_option_of_every_drawing_command():
    for name in ("recommend", "boundary", "estimate", "simulate", "phase"):
        assert "--plot" in _options(name), name


def test_old_spellings_are_hidden():
    assert _options("phase")["--out"].hidden and not _options("phase")["--plot"].hidden
    assert _options("recommend")["--steps"].hidden and not _options("recommend")["--max-steps"].hidden
    assert "--max-steps" in _options("check")


def test_workers_zero_means_all_cores_everywhere():
    for name in ("simulate", "phase", "boundary", "estimate"):
        assert "0: all cores" in _options(name)["--workers"].help, name


def test_convention_choices_come_from_theory():
    from adamcheck.theory import CONVENTIONS

    assert tuple(_options("simulate")["--convention"].type.choices) == CONVENTIONS
    assert tuple(_options("phase")["--convention"].type.choices) == CONVENTIONS
    assert tuple(_options("derive")["--convention"].type.choices) == ("all",) + CONVENTIONS


def test_recommend_max_steps_and_its_alias_agree(run_cli):
    outs = []
    for flag in ("--max-steps", "--steps"):
        code, out, _ = run_cli("recommend", "-b", "32", flag, "100", "--json")
        assert code == 0
        outs.append(json.loads(out))
    assert outs[0] == outs[1]
    code, out, _ = run_cli("recommend", "-b", "32", "--json")
    assert json.loads(out) != outs[0]  # the option is not ignored: 1/(1-beta2) > 100 warns


def test_phase_plot_and_its_alias_write_the_picture(run_cli, tmp_path):
    for flag, name in (("--plot", "a.png"), ("--out", "b.png")):
        code, _, err = run_cli("phase", "--n", "5", "--beta1", "0", "--beta2", "0.5,0.99", "--steps", "200",
                               "--workers", "1", flag, tmp_path / name, "-q")
        assert code == 0, err
        assert (tmp_path / name).stat().st_size > 1000


def test_estimate_workers_zero_gives_the_same_numbers(run_cli, root):
    outs = [json.loads(run_cli("estimate", root / EXAMPLE, "-b", "32", "--replicates", "20", "--workers", w,
                               "--json", "-q")[1]) for w in ("1", "0")]
    assert outs[0] == outs[1]


@pytest.mark.parametrize("flags", [(), ("--gradients", EXAMPLE)])
def test_recommend_plot_is_drawn_by_the_library(run_cli, root, tmp_path, flags):
    flags = tuple(str(root / f) if f.endswith(".npz") else f for f in flags)
    code, _, err = run_cli("recommend", "-b", "4", "--beta1", "0", *flags, "--plot", tmp_path / "r.png", "-q")
    assert code == 0, err
    assert (tmp_path / "r.png").stat().st_size > 1000

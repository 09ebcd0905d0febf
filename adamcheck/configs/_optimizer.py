"""``check_optimizer``: the same checks on a live ``torch.optim.Adam``/``AdamW``.

torch is imported inside the function, so importing adamcheck never loads it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable

from .._errors import InvalidParameterError
from .._halflife import BetaReference
from .._measurement import Measurement
from .._validate import check_positive_int
from ._check import check_setup
from ._report import CheckReport
from ._rules import Finding
from ._setup import Sourced, TrainingSetup

__all__ = ["check_optimizer"]


def _scalar(value: Any) -> float:
    # lr and betas may be tensors (torch allows Tensor lr/betas for capturable optimizers).
    return float(value.item()) if hasattr(value, "item") else float(value)


def check_optimizer(
    optimizer: Any,
    batch_size: int,
    *,
    dataset_size: int | None = None,
    gradients: str | Path | None = None,
    seq_len: int | None = None,
    max_steps: int | None = None,
    reference: BetaReference | str | None = None,
    reference_seq_len: int | None = None,
    domain: str | None = None,
    measurements: Iterable[Measurement] = (),
) -> CheckReport:
    """Check the betas and eps of a torch Adam/AdamW optimizer at a batch size.

    ``batch_size`` is the number of sequences (samples) per optimizer step over all
    ranks and accumulation steps; ``seq_len`` (optional) gives tokens per sequence.
    Each distinct (betas, eps) among the param groups is checked; with several,
    each finding names the groups it is about and ``param_groups`` lists them all. The
    parameters' dtype is the precision of Adam's m and v (the eps rule: eps that rounds
    to 0 in fp16 is a risk). ``domain`` and ``measurements`` as in
    :func:`adamcheck.configs.check_setup`.

    Raises :class:`~adamcheck.InvalidParameterError` for an optimizer that is not a
    ``torch.optim.Adam`` or ``torch.optim.AdamW`` (or a subclass).

    Example:
        >>> import torch
        >>> opt = torch.optim.AdamW([torch.zeros(2, requires_grad=True)], betas=(0.9, 0.95))
        >>> check_optimizer(opt, batch_size=8).exit_code
        0
        >>> half = torch.optim.AdamW([torch.zeros(2, dtype=torch.float16, requires_grad=True)], eps=1e-8)
        >>> [f.rule for f in check_optimizer(half, batch_size=8).by_level("risk")]   # eps rounds to 0 in fp16
        ['eps_precision']
    """
    import torch  # optional: torch

    if not isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW)):
        raise InvalidParameterError(
            f"{type(optimizer).__name__} is not torch.optim.Adam or AdamW: check_optimizer checks "
            "Adam-family optimizers only; pass an Adam or AdamW instance"
        )
    batch_size = check_positive_int(batch_size, "batch size")
    name = type(optimizer).__name__
    groups: list[dict[str, Any]] = []
    for i, group in enumerate(optimizer.param_groups):
        beta1, beta2 = (_scalar(b) for b in group["betas"])
        groups.append(
            {
                "index": i,
                "beta1": beta1,
                "beta2": beta2,
                "eps": _scalar(group["eps"]),
                "weight_decay": _scalar(group.get("weight_decay", 0.0)),
                "lr": _scalar(group["lr"]),
                "amsgrad": bool(group.get("amsgrad", False)),
                "params": len(group["params"]),
            }
        )
    distinct: dict[tuple[float, float, float], list[int]] = {}
    for g in groups:
        distinct.setdefault((g["beta1"], g["beta2"], g["eps"]), []).append(g["index"])

    reports = []
    for indices in distinct.values():
        g = groups[indices[0]]
        where = f"{name}.param_groups[{', '.join(map(str, indices))}]"
        setup = TrainingSetup(format="torch", files=[f"{name} optimizer"])
        setup.optimizer = Sourced(name, f"type of the optimizer object ({type(optimizer).__module__}.{name})")
        setup.beta1 = Sourced(g["beta1"], f"{where}['betas'][0]")
        setup.beta2 = Sourced(g["beta2"], f"{where}['betas'][1]")
        setup.eps = Sourced(g["eps"], f"{where}['eps']")
        setup.weight_decay = Sourced(g["weight_decay"], f"{where}['weight_decay']")
        setup.lr = Sourced(g["lr"], f"{where}['lr']")
        setup.global_batch = Sourced(batch_size, "argument batch_size")
        if seq_len is not None:
            setup.seq_len = Sourced(check_positive_int(seq_len, "seq_len"), "argument seq_len")
        if max_steps is not None:
            setup.max_steps = Sourced(check_positive_int(max_steps, "max_steps"), "argument max_steps")
        dtype = _param_dtype(optimizer.param_groups[indices[0]])
        if dtype is not None:
            setup.state_dtype = Sourced(dtype, f"{where}: the parameters' dtype (Adam's m and v take it)")
        if any(groups[i]["amsgrad"] for i in indices):
            setup.warnings.append(f"{where}: amsgrad=True runs AMSGrad, whose convergence story differs from Adam's")
        report = check_setup(
            setup,
            reference=reference,
            reference_seq_len=reference_seq_len,
            gradients=gradients,
            dataset_size=dataset_size,
            domain=domain,
            measurements=measurements,
        )
        reports.append((indices, report))

    first = reports[0][1]
    if len(reports) == 1:
        first.param_groups = groups
        return first
    findings: list[Finding] = []
    warnings: list[str] = []
    for indices, report in reports:
        label = f"param group{'s' if len(indices) > 1 else ''} {', '.join(map(str, indices))}: "
        findings.extend(replace(f, message=label + f.message) for f in report.findings)
        warnings.extend(w for w in report.setup.warnings if w not in warnings)
    merged = replace(first, findings=findings, param_groups=groups)
    merged.setup = replace(first.setup, warnings=warnings)
    return merged


def _param_dtype(group: dict[str, Any]) -> str | None:
    params = list(group.get("params") or [])
    if not params:
        return None
    name = str(params[0].dtype).replace("torch.", "")
    return {"float32": "fp32", "float64": "fp32", "float16": "fp16", "bfloat16": "bf16"}.get(name)

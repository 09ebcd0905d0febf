"""Optimizers named by their Python class path (torchtune ``_component_``, litgpt
``class_path``) and the defaults of those classes.

A class path is never imported: the name decides. Defaults come from the classes'
signatures: ``torch.optim.Adam`` (betas (0.9, 0.999), eps 1e-8, weight_decay 0) and
``torch.optim.AdamW`` (the same, weight_decay 0.01) in torch 2.x; bitsandbytes'
``AdamW``/``PagedAdamW``/``AdamW8bit``/``PagedAdamW8bit``/``Adam``/``Adam8bit`` and
torchao's ``AdamW8bit``/``AdamW4bit``/``AdamWFp8`` keep torch's betas and eps.
"""

from __future__ import annotations

from ._names import NOT_ADAM_HINTS, NotCoveredError
from .._errors import ConfigError

__all__ = ["adam_class_defaults"]

_TORCH = {"Adam": 0.0, "AdamW": 0.01}
_LOW_BIT = ("AdamW", "PagedAdamW", "AdamW8bit", "PagedAdamW8bit", "Adam", "Adam8bit", "PagedAdam",
            "PagedAdam8bit", "AdamW4bit", "AdamWFp8", "AdamW32bit", "PagedAdamW32bit")


def adam_class_defaults(path: str, where: str) -> tuple[str, dict[str, float]]:
    """``(library, {beta1, beta2, eps, weight_decay})`` for an Adam class path; raises for others.

    Example:
        >>> adam_class_defaults("torch.optim.AdamW", "c.yaml: optimizer")
        ('torch 2.x', {'beta1': 0.9, 'beta2': 0.999, 'eps': 1e-08, 'weight_decay': 0.01})
    """
    if not isinstance(path, str) or not path:
        raise ConfigError(f"{where} = {path!r} is not an optimizer class path: write e.g. torch.optim.AdamW")
    module, _, cls = path.rpartition(".")
    module = module or "torch.optim"
    lowered = cls.lower()
    if "adam" not in lowered or any(h in lowered for h in NOT_ADAM_HINTS if h not in ("adam",)):
        raise NotCoveredError(
            f"{where} = {path!r} is not Adam: not covered by adamcheck check, which checks Adam/AdamW only"
        )
    if module in ("torch.optim", "torch.optim.adamw", "torch.optim.adam") and cls in _TORCH:
        return "torch 2.x", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": _TORCH[cls]}
    if module.split(".")[0] in ("bitsandbytes", "bnb", "torchao") and cls in _LOW_BIT:
        decay = 0.01 if "W" in cls else 0.0
        return module.split(".")[0], {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": decay}
    raise ConfigError(
        f"{where} = {path!r} is an Adam-like class adamcheck does not know the defaults of: "
        "write its betas and eps in the file, or use torch.optim.AdamW"
    )

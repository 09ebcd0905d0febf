"""The Hugging Face Trainer callback's old home: it lives in the torch wing,
:mod:`adamcheck.torch._hf`; these names stay importable from here and from
:mod:`adamcheck.configs`."""

from __future__ import annotations

from ..torch._hf import LOGGER_NAME, check_training_arguments, hf_check_callback

__all__ = ["LOGGER_NAME", "check_training_arguments", "hf_check_callback"]

"""``estimate``: every noise quantity adamcheck needs from per-example gradients, in one call.

Data flow: one streaming pass builds the mergeable accumulator (:mod:`._accumulate`);
the noise constants, the (D0, D1) frontier of the expected partition and their
bootstrap intervals come from it (:mod:`._constants`); a seeded sample of mini-batches
read by random access gives the two-batch estimator and the per-coordinate mini-batch
laws (:mod:`._sampling`); actual partitions are read only when asked.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._files import check_input_file
from .._laws import GradientLaw
from .._limits import check_count, check_work
from .._progress import Progress
from .._quiet import numpy_quiet
from .._validate import check_finite_float, check_nonnegative_int, check_positive_int, check_seed
from ._accumulate import AccumulatorConfig, accumulate, make_config
from ._constants import NoiseConstants, noise_constants
from ._meta import GradientFileMeta
from ._npz import write_npz
from ._sampling import (
    PartitionConstants,
    TwoBatchEstimate,
    choose_law_coords,
    laws_from_sample,
    partition_constants,
    sample_minibatches,
    two_batch_estimate,
)
from ._scale import GradientScale, ScaleOptions
from ._signal import nonnegative, nonnegative_intervals, read_signal
from ._source import opened_gradients

__all__ = ["EstimateSettings", "NoiseEstimate", "estimate", "run_estimate", "minibatch_laws", "resolve_scale", "save_laws", "load_laws"]

#: Laws over at most this many coordinates are listed coordinate by coordinate in the JSON.
PER_COORDINATE_LIMIT = 256


@dataclass
class NoiseEstimate:
    """Everything :func:`estimate` found; ``to_dict()`` is the ``adamcheck estimate --json`` output."""

    files: list[str]
    shape: tuple[int, int, int]
    dtypes: list[str]
    scale: GradientScale
    scale_source: str
    constants: NoiseConstants
    two_batch: TwoBatchEstimate | None
    laws: list[GradientLaw]
    partitions: list[PartitionConstants]
    config: AccumulatorConfig
    seed: int
    notes: list[str] = field(default_factory=list)
    #: examples per row: 1 for per-example gradients, R for a GradientMonitor file whose
    #: rows are mini-batch gradients (then shape, batch_size and dataset_size count rows)
    row_batch_size: int = 1
    #: the files' validated metadata (:class:`~adamcheck.noise._meta.GradientFileMeta`)
    meta: GradientFileMeta = field(default_factory=GradientFileMeta)

    # -- convenience ------------------------------------------------------------------
    @property
    def n(self) -> int:
        return self.constants.n

    def law_summary(self) -> dict[str, Any]:
        points = []
        for law in self.laws:
            mean = law.mean()
            se = law.mean_se
            resolved = np.abs(mean) > 2.0 * se
            skew = law.skewness()
            agree = law.sign_agreement()

            def q(x: np.ndarray) -> dict[str, Any]:
                if x.size == 0:
                    return {"min": None, "median": None, "max": None}
                return {"min": float(x.min()), "median": float(np.median(x)), "max": float(x.max())}

            entry = {
                "point": law.meta["point"],
                "resolved_coordinates": int(resolved.sum()),
                "skewness": q(skew[resolved]),
                "sign_agreement": q(agree[resolved]),
                "normalised_mean": q(law.normalised_mean()[resolved]),
            }
            if law.dim <= PER_COORDINATE_LIMIT:
                entry["per_coordinate"] = {
                    "coords": law.meta["coords"], "mean": mean, "second_moment": law.second_moment(),
                    "skewness": skew, "sign_agreement": agree, "mean_se": se,
                }
            points.append(entry)
        first = self.laws[0] if self.laws else None
        return {
            "batch_size": self.constants.batch_size,
            "atoms": first.n_atoms if first else 0,
            "coordinates": first.dim if first else 0,
            "matched_moments": first.meta["matched_moments"] if first else None,
            "resolved": "coordinates with |mean| > 2 standard errors (summaries below use only these)",
            "points": points,
        }

    def to_dict(self) -> dict[str, Any]:
        c = self.constants
        out: dict[str, Any] = {
            "files": self.files,
            "points": self.shape[0],
            "sample_size": self.shape[1],
            "dim": self.shape[2],
            "row_batch_size": self.row_batch_size,
            "monitor_file": self.meta.is_monitor,
            "file_metadata": self.meta.stated(),
            "dtype": self.dtypes,
            "n": c.n,
            "batch_size": c.batch_size,
            "dataset_size": c.dataset_size,
            "reduction": self.scale.reduction,
            "loss_scale": self.scale.loss_scale,
            "mean_over": self.scale.mean_over,
            "scale": {**self.scale.to_dict(), "source": self.scale_source},
            # a negative unbiased |G|^2 is no squared norm: null here, the reason in "signal"
            "grad_norm_sq": nonnegative(c.grad_norm_sq),
            "trace_sigma": c.trace_sigma,
            "minibatch_second_moment": c.minibatch_second_moment,
            "b_simple": c.b_simple,
            "signal": self.signal(),
            "b_simple_two_batch": self.two_batch.b_simple if self.two_batch else None,
            "d1_at_d0_zero": c.d1_at_d0_zero,
            "d0_at_d1_n": c.d0_at_d1_n,
            "partition": "expected",
            "frontier": c.frontier,
            "ci": _clipped_ci(c.ci),
            "two_batch": self.two_batch.to_dict() if self.two_batch else None,
            "actual_partitions": [pc.to_dict() for pc in self.partitions],
            "laws": self.law_summary(),
            "bootstrap_groups": {"groups": self.config.groups, "unit": self.config.unit,
                                 "identity": self.config.identity},
            "seed": self.seed,
            "notes": c.notes + self.notes,
        }
        if self.two_batch and self.two_batch.ci:
            out["ci"] = {**out["ci"], "b_simple_two_batch": self.two_batch.ci.get("b_simple")}
        return out

    def signal(self) -> dict[str, Any]:
        """Per point, |G|^2 and B_simple as resolved values or bounds (:func:`read_signal`).

        The reading is of the estimator the intervals belong to: the unbiased estimates
        for the data distribution when the file is the whole data set (``ci["estimate"]``;
        the exact values of the data set have no interval), else the point values.
        """
        c = self.constants
        est = c.ci.get("estimate")
        src = est if est is not None else {"grad_norm_sq": c.grad_norm_sq, "trace_sigma": c.trace_sigma}
        target = (c.ci.get("target") if c.ci else
                  "the data set the file samples (no intervals: replicates = 0)" if c.sample_size < c.dataset_size
                  else "this data set (exact values, no intervals)")
        return {
            "estimator": ("unbiased, for the data distribution (ci.estimate)" if est is not None
                          else "the point values above"),
            "target": target,
            "points": read_signal(src["grad_norm_sq"], src["trace_sigma"], grad_ci=c.ci.get("grad_norm_sq"),
                                  b_simple_ci=c.ci.get("b_simple")),
        }


def _clipped_ci(ci: dict[str, Any]) -> dict[str, Any]:
    """The intervals with |G|^2's ends at 0 or above (the interval met with [0, inf)) and its estimate null if negative."""
    if not ci:
        return ci
    out = dict(ci)
    if "grad_norm_sq" in ci:
        out["grad_norm_sq"] = nonnegative_intervals(ci["grad_norm_sq"])
    if "estimate" in ci:
        out["estimate"] = {**ci["estimate"], "grad_norm_sq": nonnegative(ci["estimate"]["grad_norm_sq"])}
    return out


def resolve_scale(
    reduction: str | None, loss_scale: float | None, mean_over: int | None,
    metadata: GradientFileMeta | dict[str, Any],
) -> tuple[GradientScale, str]:
    """Options win over the file's stored metadata, which wins over the defaults (mean, 1, 1).

    ``metadata``: the file's :class:`GradientFileMeta` (a plain dict is validated first).
    """
    meta = metadata if isinstance(metadata, GradientFileMeta) else GradientFileMeta.from_mapping(metadata, "metadata")
    used_file = False
    values: dict[str, Any] = {}
    for name, given, default in (("reduction", reduction, "mean"), ("loss_scale", loss_scale, 1.0),
                                 ("mean_over", mean_over, 1)):
        if given is not None:
            values[name] = given
        elif getattr(meta, name) is not None:
            values[name] = getattr(meta, name)
            used_file = True
        else:
            values[name] = default
    explicit = any(v is not None for v in (reduction, loss_scale, mean_over))
    source = "options" if explicit and not used_file else ("file" if used_file and not explicit else
                                                          ("options and file" if used_file else "defaults"))
    return GradientScale(**values), source


def _rows_per_batch(B: int, dataset_size: int | None, meta: GradientFileMeta,
                    label: str = "the gradient file") -> tuple[int, int | None, str]:
    """Batch size and data-set size in rows when each row is a mini-batch gradient of R examples.

    A :class:`adamcheck.torch.GradientMonitor` file stores each training step's mini-batch
    gradient (batch R) as one row; the mean of B / R such rows is a mini-batch gradient
    of B examples, so B must be a multiple of R (:meth:`GradientFileMeta.batch_rows`).
    """
    R = meta.rows_per_example
    if R <= 1:
        if meta.is_monitor:
            return B, dataset_size, ("rows are the mini-batch gradients of a monitored run's steps (batch 1), "
                                     "not examples at one point")
        return B, dataset_size, ""
    meta.batch_rows(B, label)
    if dataset_size is not None:
        dataset_size = max(1, check_positive_int(dataset_size, "dataset size") // R)
    note = (f"rows are mini-batch gradients of {R} examples (row_batch_size): batch {B} averages {B // R} "
            f"row(s); per-example quantities (trace_sigma, b_simple) are per row, multiply b_simple by {R}")
    return B // R, dataset_size, note


@numpy_quiet
def estimate(
    grads: Any,
    batch_size: int,
    *,
    dataset_size: int | None = None,
    reduction: str | None = None,
    loss_scale: float | None = None,
    mean_over: int | None = None,
    key: str | None = None,
    partitions: int = 0,
    file_partition: bool = False,
    level: float = 0.95,
    replicates: int = 1000,
    groups: int = 64,
    unit: int | None = None,
    big_batch_factor: int = 8,
    big_batches: int | None = None,
    law_atoms: int = 256,
    law_coords: Any = None,
    match_moments: bool = True,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = False,
) -> NoiseEstimate:
    """Noise constants, (D0, D1) frontier, two-batch B_simple and mini-batch laws at batch B.

    Args:
        grads: path(s) to ``.npy``/``.npz`` files, an (N, d) or (P, N, d) array, or a
            :class:`GradientSource`.
        batch_size: B.
        dataset_size: N of the data set the file samples (default: the file is the data set).
        reduction, loss_scale, mean_over: how the rows were made (:class:`GradientScale`);
            default: the file's stored metadata, else mean, 1, 1.
        key: array name inside ``.npz`` files.
        partitions: number of random actual partitions to evaluate exactly (0: none).
        file_partition: also evaluate the partition into consecutive rows of the file.
        level, replicates: bootstrap intervals.
        groups, unit: bootstrap grouping (:func:`make_config`).
        big_batch_factor, big_batches: the two-batch design (big batch = factor x B).
        law_atoms: at least this many small batches are drawn (law atoms K).
        law_coords: coordinates kept in the laws (default: all if K d <= 2**22, else
            the most resolved ones).
        match_moments: give the laws the exact mean and variance of the mini-batch
            gradient (from all examples) and keep the resampled shape.
        seed: seed of every random draw.
        workers: threads of the streaming pass (default 1).
        progress: draw a progress bar on stderr.

    Returns:
        :class:`NoiseEstimate`.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(0.5, 1.0, size=(2048, 4))
        >>> est = estimate(x, batch_size=32, replicates=200)
        >>> est.n, round(float(est.constants.b_simple[0]), 1)   # tr(S)/|G|^2 ~ 4/1
        (64, 4.0)

    References:
        docs/theory.md sections 2, 8, 9; McCandlish et al., arXiv:1812.06162 (2018);
        Zhang, Li, Chen, Luo, Sun, arXiv:2603.02092 (2026).
    """
    B = check_positive_int(batch_size, "batch size")
    settings = EstimateSettings(partitions=partitions, file_partition=file_partition, level=level,
                                replicates=replicates, groups=groups, unit=unit, big_batch_factor=big_batch_factor,
                                big_batches=big_batches, law_atoms=law_atoms, law_coords=law_coords,
                                match_moments=match_moments, seed=seed)
    return run_estimate(grads, B, settings, dataset_size=dataset_size,
                        scale_options=ScaleOptions(reduction, loss_scale, mean_over), key=key, workers=workers,
                        progress=progress)


@dataclass(frozen=True, eq=False)
class EstimateSettings:
    """What :func:`estimate` computes and with which budget, validated once at construction.

    Attributes: those of :func:`estimate` (``partitions``, ``file_partition``, ``level``,
    ``replicates``, ``groups``, ``unit``, ``big_batch_factor``, ``big_batches``,
    ``law_atoms``, ``law_coords``, ``match_moments``, ``seed``).

    Raises:
        InvalidParameterError: a count out of range or beyond the limits, a seed that is
            not a whole number >= 0, a confidence level outside (0, 1) when intervals are asked.

    Example:
        >>> EstimateSettings(replicates=0, law_atoms=64).law_atoms
        64
    """

    partitions: int = 0
    file_partition: bool = False
    level: float = 0.95
    replicates: int = 1000
    groups: int = 64
    unit: int | None = None
    big_batch_factor: int = 8
    big_batches: int | None = None
    law_atoms: int = 256
    law_coords: Any = None
    match_moments: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        put("seed", check_seed(self.seed))
        put("partitions", check_count(check_nonnegative_int(self.partitions, "partitions"), "partitions"))
        put("replicates", check_count(check_nonnegative_int(self.replicates, "replicates"), "replicates"))
        put("law_atoms", check_count(check_positive_int(self.law_atoms, "law atoms"), "law atoms"))
        if self.replicates:
            level = check_finite_float(self.level, "level")
            if not 0.0 < level < 1.0:
                raise InvalidParameterError(
                    f"level = {level:g} must lie strictly between 0 and 1 (a confidence level such as 0.95)"
                )
            put("level", level)


def _check_rows(source: Any, B: int, dataset_size: int | None, settings: EstimateSettings) -> None:
    """Refuse a file with fewer rows than a batch, a data-set size below the rows, partitions of a sample."""
    P, N_s, d = source.shape
    if N_s < B:
        if source.meta.is_monitor:
            raise DataError(
                f"{source.label} holds {N_s} steps' mini-batch gradients, fewer than the {B} a batch of "
                f"{B * source.meta.rows_per_example} examples averages: record more steps (a longer history) "
                "or ask for a smaller batch"
            )
        raise DataError(
            f"the gradients hold N = {N_s} examples, fewer than the batch size B = {B}: "
            "sample at least B examples (better: many batches' worth)"
        )
    if dataset_size is not None and check_positive_int(dataset_size, "dataset size") < N_s:
        raise InvalidParameterError(
            f"dataset size {dataset_size} is smaller than the {N_s} examples in the file: "
            "give the size of the whole data set"
        )
    if (settings.partitions or settings.file_partition) and dataset_size not in (None, N_s):
        raise InvalidParameterError(
            "actual partitions need the whole data set in the file (dataset size = "
            f"{N_s} examples); the expected partition works with a sample"
        )


@numpy_quiet
def run_estimate(
    grads: Any,
    batch_size: int,
    settings: EstimateSettings,
    *,
    dataset_size: int | None = None,
    scale_options: ScaleOptions | None = None,
    key: str | None = None,
    workers: int | None = None,
    progress: bool = False,
    on_block: Callable[[int, int, np.ndarray], None] | None = None,
) -> NoiseEstimate:
    """:func:`estimate` with what it computes as one :class:`EstimateSettings`.

    The other arguments say where the gradients come from and how they were made,
    as in :func:`estimate` (``scale_options``: its ``reduction``, ``loss_scale`` and
    ``mean_over`` as one :class:`~adamcheck.noise._scale.ScaleOptions`; None: the file's); ``on_block(point, first_example, block)`` sees every block of
    the streaming pass (native dtype, a reused buffer: copy what you keep), so a caller
    that needs its own statistic of every row reads the file once.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(0.5, 1.0, size=(2048, 4))
        >>> run_estimate(x, 32, EstimateSettings(replicates=200)).n
        64

    References:
        docs/theory.md sections 2, 8, 9; McCandlish et al., arXiv:1812.06162 (2018).
    """
    B = check_positive_int(batch_size, "batch size")
    if not isinstance(settings, EstimateSettings):
        raise InvalidParameterError("settings must be an adamcheck.noise.EstimateSettings (or call estimate)")
    st, seed = settings, settings.seed
    if workers is not None:
        workers = check_nonnegative_int(workers, "workers")
    with opened_gradients(grads, key, progress=progress) as source:
        progress = progress or source.progress
        given = scale_options or ScaleOptions()
        scale, scale_source = resolve_scale(given.reduction, given.loss_scale, given.mean_over, source.meta)
        per_row = source.meta.rows_per_example
        B, dataset_size, row_note = _rows_per_batch(B, dataset_size, source.meta, source.label)
        _check_rows(source, B, dataset_size, st)
        P, N_s, d = source.shape
        cfg = make_config(N_s, d, P, groups=st.groups, unit=st.unit, seed=seed)
        m = max(1, min(st.big_batch_factor, N_s // B))
        R = st.big_batches if st.big_batches is not None else math.ceil(st.law_atoms / m)
        n_parts = st.partitions + int(st.file_partition)
        _check_estimate_size(P, N_s, d, B, R * m, st.replicates, n_parts)
        total = P * N_s + P * R * m * B + P * n_parts * (N_s // B) * B
        with Progress(total=total, label="estimate", enabled=progress) as bar:
            acc = accumulate(source, cfg, workers=workers, on_chunk=bar.update, on_block=on_block)
            consts = noise_constants(acc, B, dataset_size=dataset_size, scale=scale, level=st.level,
                                     replicates=st.replicates, seed=seed)
            coords = choose_law_coords(consts.mean, consts.mean_se, R * m, st.law_coords)
            sample = sample_minibatches(source, B, factor=m, big_batches=R, coords=coords,
                                        scale=scale, seed=seed, on_rows=bar.update)
            two = two_batch_estimate(sample, N_s, level=st.level, replicates=st.replicates, seed=seed)
            laws = laws_from_sample(sample, consts, match_moments=st.match_moments)
            parts: list[PartitionConstants] = []
            if st.partitions:
                parts.append(partition_constants(source, B, partitions=st.partitions, kind="random",
                                                 scale=scale, seed=seed, on_rows=bar.update))
            if st.file_partition:
                parts.append(partition_constants(source, B, kind="file", scale=scale,
                                                 on_rows=bar.update))
        if per_row > 1:  # the laws describe mini-batches of B x R examples
            laws = [replace(law, batch_size=B * per_row, meta={**law.meta, "row_batch_size": per_row})
                    for law in laws]
        notes: list[str] = list(source.notes) + ([row_note] if row_note else [])
        if two is None:
            notes.append(f"the two-batch estimator needs at least 2B = {2 * B} examples; skipped")
        if coords.size < d:
            notes.append(f"laws keep {coords.size} of {d} coordinates (the most resolved ones)")
        return NoiseEstimate(
            files=source.names, shape=source.shape, dtypes=source.dtypes, scale=scale,
            scale_source=scale_source, constants=consts, two_batch=two, laws=laws,
            partitions=parts, config=cfg, seed=seed, notes=notes, row_batch_size=per_row, meta=source.meta,
        )


def _check_estimate_size(P: int, N: int, d: int, B: int, atoms: int, replicates: int, partitions: int) -> None:
    """Refuse, before reading a row, requests whose memory or time is beyond the limits.

    Bootstrap: replicates x N indices per point; laws: atoms mini-batches of B rows of d
    read per point, kept on at most 2**22 / atoms + 1 coordinates (see ``law_coords``);
    partitions: every row read once per partition and point.
    """
    # Per-atom and per-batch overheads measured on a (50, 5) file (55 us and ~2 KB per atom,
    # ~20 us per partition batch), counted as element operations at ~1e9 per second.
    kept = min(d, 2**22 // max(atoms, 1) + 1)
    check_work(f"replicates = {replicates:,} over N = {N:,} examples at {P} point(s)",
               nbytes=16.0 * replicates * max(N, 64), ops=float(P) * replicates * (N + 64 * d),
               fix="lower replicates (1000 is plenty for 95% intervals)")
    check_work(f"law atoms = {atoms:,} at batch size {B:,}, d = {d:,}, {P} point(s)",
               nbytes=float(P) * atoms * (16.0 * kept + 2048), ops=float(P) * atoms * (B * d + 50_000),
               fix="lower atoms")
    check_work(f"partitions = {partitions:,} of N = {N:,} examples, d = {d:,}, {P} point(s)",
               nbytes=16.0 * partitions * (N // B), ops=float(P) * partitions * (N * d + 20_000 * (N // B)),
               fix="lower partitions")


def minibatch_laws(
    grads: Any,
    batch_size: int,
    *,
    atoms: int = 256,
    coords: Any = None,
    match_moments: bool = True,
    seed: int = 0,
    **options: Any,
) -> list[GradientLaw]:
    """Per-point laws of the mini-batch gradient at batch B, for the drift-ratio code.

    Representation: one :class:`adamcheck._laws.GradientLaw` per sampled point, with K
    equally weighted atoms ``values`` (K, c): the mean gradients of K mini-batches of B
    examples, each drawn without replacement (seeded; K = m ceil(atoms / m) with m
    small batches per big batch of the shared two-batch design), on c coordinates
    (all d when K d <= 2**22, i.e. 32 MiB per point; otherwise the coordinates whose
    mean is most standard errors from zero, or ``coords``). With ``match_moments`` each
    coordinate's atoms are shifted and scaled so that the law's mean and variance are
    the exact ones from all examples, E[g] = G_k and Var[g] = c_B sigma_k^2 (docs/theory.md
    section 8 per coordinate), keeping the resampled shape (skewness, sign
    frequencies), which is what docs/theory.md section 9's drift ratio depends on.

    ``law.meta`` holds: ``point``, ``coords``, ``mean_se`` (per-coordinate standard
    error of the mean gradient from all sampled examples, from the bootstrap groups,
    so the boundary code can drop coordinates whose mean cannot be told from zero),
    ``mean_all_examples``, ``second_moment_all_examples``, ``dataset_size``,
    ``sample_size``, ``reduction``, ``loss_scale``, ``mean_over``, ``atoms``,
    ``matched_moments``, ``seed``. Values are on the canonical scale (:mod:`._scale`).

    Other keyword options are those of :func:`estimate`.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(1).exponential(1.0, size=(1000, 3)) - 0.9
        >>> law = minibatch_laws(x, batch_size=4, atoms=64)[0]
        >>> law.n_atoms, law.dim, law.batch_size
        (64, 3, 4)
        >>> bool(np.allclose(law.mean(), x.mean(axis=0)))
        True
    """
    est = estimate(grads, batch_size, law_atoms=atoms, law_coords=coords, match_moments=match_moments,
                   seed=seed, replicates=0, **options)
    return est.laws


def save_laws(path: str | os.PathLike, laws: list[GradientLaw]) -> Path:
    """Write laws from :func:`minibatch_laws` to an ``.npz`` (no pickles; read with :func:`load_laws`)."""
    if not laws:
        raise InvalidParameterError("no laws to save")
    path = Path(path)
    first = laws[0]
    arrays: dict[str, Any] = {
        "values": np.stack([law.values for law in laws]),
        "weights": first.weights,
        "batch_size": np.int64(first.batch_size or 0),
        "coords": np.asarray(first.meta["coords"], dtype=np.int64),
        "mean_se": np.stack([law.mean_se for law in laws]),
        "mean_all_examples": np.stack([np.asarray(law.meta["mean_all_examples"], dtype=float) for law in laws]),
    }
    for k in ("dataset_size", "sample_size", "loss_scale", "mean_over", "atoms", "seed"):
        arrays[k] = np.asarray(first.meta[k])
    for k in ("reduction", "matched_moments"):
        arrays[k] = np.asarray(str(first.meta[k]))
    return write_npz(path, arrays)


def load_laws(path: str | os.PathLike) -> list[GradientLaw]:
    """Read laws written by :func:`save_laws` (``allow_pickle=False``)."""
    path = check_input_file(path, "law file", fix="give the .npz written by save_laws or --laws-out")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except ValueError as exc:
        raise DataError(f"{str(path)!r} is not a law file written by adamcheck ({exc})") from None
    need = {"values", "weights", "coords", "mean_se"}
    if not need <= set(data):
        raise DataError(f"{str(path)!r} lacks {sorted(need - set(data))}: write it with save_laws")
    laws = []
    B = int(data.get("batch_size", 0)) or None
    for p in range(data["values"].shape[0]):
        meta = {k: (v.item() if v.shape == () else v) for k, v in data.items()
                if k not in ("values", "weights", "mean_se", "mean_all_examples")}
        meta.update(point=p, mean_se=data["mean_se"][p], mean_all_examples=data.get("mean_all_examples", data["mean_se"])[p])
        laws.append(GradientLaw(values=data["values"][p], weights=data["weights"], batch_size=B,
                                label=f"resampled mini-batch law, point {p}", meta=meta))
    return laws

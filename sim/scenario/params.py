"""Uncertain parameters: a number, or a distribution sampled once per replicate.

A numeric scenario parameter may be written as a plain number or as one of::

    {normal: [mean, sd]}            # clipped to the parameter's legal range
    {uniform: [lo, hi]}
    {triangular: [lo, mode, hi]}
    {beta: [a, b]}                  # on [0, 1], rescaled to the parameter's range

Each parameter draws from its own random stream, derived from the run's root seed and the
parameter's key path, so changing one parameter never changes the draws of another (common
random numbers across scenario variants).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

DIST_KINDS: dict[str, int] = {"normal": 2, "uniform": 2, "triangular": 3, "beta": 2}
"""Distribution names and how many numbers each takes."""

DIST_HELP = "a number, or {normal: [mean, sd]}, {uniform: [lo, hi]}, {triangular: [lo, mode, hi]}, {beta: [a, b]}"


@dataclass(frozen=True)
class Dist:
    """A distribution over one parameter, sampled per replicate.

    Attributes:
        kind: One of ``normal``, ``uniform``, ``triangular``, ``beta``.
        args: The distribution's numbers as written in the scenario.
        lo: Lower end of the parameter's legal range (draws are clipped or rescaled to it).
        hi: Upper end of the parameter's legal range.
    """

    kind: str
    args: tuple[float, ...]
    lo: float = -math.inf
    hi: float = math.inf

    @property
    def mean(self) -> float:
        """Expected value of the (unclipped) distribution, in the parameter's units."""
        a = self.args
        if self.kind == "normal":
            return a[0]
        if self.kind == "uniform":
            return (a[0] + a[1]) / 2
        if self.kind == "triangular":
            return sum(a) / 3
        m = a[0] / (a[0] + a[1])
        return self.lo + m * (self.hi - self.lo)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (one per replicate), kept inside ``[lo, hi]``."""
        a = self.args
        if self.kind == "normal":
            x = rng.normal(a[0], a[1], n)
        elif self.kind == "uniform":
            x = rng.uniform(a[0], a[1], n)
        elif self.kind == "triangular":
            lo, mode, hi = a
            x = np.full(n, lo) if hi == lo else rng.triangular(lo, mode, hi, n)
        else:
            x = self.lo + rng.beta(a[0], a[1], n) * (self.hi - self.lo)
        return np.clip(x, self.lo, self.hi)

    def to_yaml(self) -> dict[str, list[float]]:
        """The scenario-file form, e.g. ``{"normal": [0.5, 0.1]}``."""
        return {self.kind: list(self.args)}


def _finite(x: Any) -> bool:
    if not isinstance(x, int | float) or isinstance(x, bool):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:  # an int beyond the float range (e.g. 10**400 written out in YAML)
        return False


def parse_param(value: Any, lo: float, hi: float) -> float | Dist:
    """Check a parameter as written in YAML against its legal range ``[lo, hi]``.

    Returns:
        A float, or a :class:`Dist` carrying the range.

    Raises:
        ValueError: with a message saying what is accepted.
    """
    rng_text = f"[{lo:g}, {hi:g}]"
    if _finite(value):
        v = float(value)
        if not lo <= v <= hi:
            raise ValueError(f"{value!r} is out of range; allowed: a number in {rng_text}")
        return v
    if isinstance(value, dict) and len(value) == 1:
        kind, args = next(iter(value.items()))
        if kind not in DIST_KINDS:
            raise ValueError(f"unknown distribution {kind!r}; allowed: {', '.join(DIST_KINDS)} (or a number)")
        n = DIST_KINDS[kind]
        if not isinstance(args, list) or len(args) != n or not all(_finite(x) for x in args):
            raise ValueError(f"{kind} takes a list of {n} finite numbers; allowed: {DIST_HELP}")
        a = tuple(float(x) for x in args)
        if kind == "normal":
            if a[1] < 0 or not lo <= a[0] <= hi:
                raise ValueError(f"normal needs mean in {rng_text} and sd >= 0, got {list(a)}")
        elif kind == "uniform":
            if not lo <= a[0] <= a[1] <= hi:
                raise ValueError(f"uniform needs {lo:g} <= lo <= hi <= {hi:g}, got {list(a)}")
        elif kind == "triangular":
            if not lo <= a[0] <= a[1] <= a[2] <= hi:
                raise ValueError(f"triangular needs {lo:g} <= lo <= mode <= hi <= {hi:g}, got {list(a)}")
        elif kind == "beta":
            if a[0] <= 0 or a[1] <= 0:
                raise ValueError(f"beta needs a > 0 and b > 0, got {list(a)}")
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise ValueError("beta is only allowed for parameters with a bounded range")
        return Dist(kind, a, lo, hi)
    if isinstance(value, bool) or value is None or isinstance(value, str | list | dict):
        shown = repr(value) if not isinstance(value, dict) else "a mapping"
        raise ValueError(f"expected a number, got {shown}; allowed: {DIST_HELP}")
    if isinstance(value, int):
        raise ValueError(f"an integer of {value.bit_length()} bits is too large; allowed: a number in {rng_text}")
    raise ValueError(f"{value!r} is not a finite number; allowed: {DIST_HELP} in {rng_text}")


def param_stream(root_seed: int, path: str) -> np.random.Generator:
    """The random stream for one parameter: a function of the root seed and its key path only."""
    return np.random.default_rng(np.random.SeedSequence([root_seed, zlib.crc32(path.encode())]))


def realise(value: float | Dist, n: int, root_seed: int, path: str) -> np.ndarray:
    """Per-replicate values of a parameter: a constant array, or ``n`` draws from its stream."""
    if isinstance(value, Dist):
        return value.sample(param_stream(root_seed, path), n)
    return np.full(n, float(value))


def mean_of(value: float | Dist) -> float:
    """The parameter's central value (a number as is; a distribution's mean)."""
    return value.mean if isinstance(value, Dist) else float(value)

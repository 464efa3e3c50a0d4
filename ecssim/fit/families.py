"""Maximum-likelihood fits of the duration families a ``timing`` field takes, chosen by AIC.

Candidates, each fitted by maximum likelihood on positive samples: exponential (mean),
uniform (min, max), lognormal (median = exp(mean log), sigma = std of logs), Weibull (shape
by Newton iterations on the profile likelihood, numpy only). The chosen family has the least
AIC = 2 k - 2 ln L (k = its number of parameters; ties go to the earlier, simpler family).
Samples all equal are a constant. The Kolmogorov-Smirnov statistic measures each fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Candidate families, in tie-break order, with their number of free parameters.
FAMILIES = {"exponential": 1, "uniform": 2, "lognormal": 2, "weibull": 2}


@dataclass(frozen=True)
class Candidate:
    """One fitted family: its parameters (seconds for durations), log-likelihood, AIC, KS."""

    family: str
    params: dict[str, float]
    log_likelihood: float
    aic: float
    ks: float

    def entry(self, digits: int = 4) -> dict[str, object]:
        """The field's value in a timing file (numbers rounded to ``digits`` significant digits)."""
        return {"type": self.family, **{k: _significant(v, digits) for k, v in self.params.items()}}


def _significant(value: float, digits: int) -> float:
    return float(f"{value:.{digits}g}")


def ks_statistic(values: np.ndarray, cdf: np.ndarray) -> float:
    """The Kolmogorov-Smirnov distance between the samples' empirical CDF and a fitted CDF
    evaluated at the sorted samples."""
    n = len(values)
    upper = np.arange(1, n + 1) / n
    return float(max(np.max(upper - cdf), np.max(cdf - (upper - 1 / n))))


def _lognormal_cdf(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    z = (np.log(x) - mu) / (sigma * math.sqrt(2))
    return np.array([0.5 * (1 + math.erf(v)) for v in z])


def weibull_shape(x: np.ndarray, tolerance: float = 1e-10) -> float:
    """The maximum-likelihood Weibull shape of positive samples ``x`` (not all equal): the root
    of g(k) = sum(x^k ln x) / sum(x^k) - 1/k - mean(ln x), increasing in k; Newton steps kept
    inside a bracket, bisecting when a step leaves it."""
    logs = np.log(x / x.max())  # scale-free; <= 0, so x^k never overflows

    def g_and_slope(k: float) -> tuple[float, float]:
        w = np.exp(k * logs)
        a, b = float(np.sum(w * logs) / np.sum(w)), float(np.sum(w * logs**2) / np.sum(w))
        return a - 1 / k - float(logs.mean()), b - a * a + 1 / k**2

    k = max(math.pi / (math.sqrt(6) * float(np.std(logs))), 1e-3)
    low, high = k, k
    while g_and_slope(low)[0] > 0:
        low /= 2
    while g_and_slope(high)[0] < 0:
        high *= 2
    for _ in range(200):
        value, slope = g_and_slope(k)
        if value < 0:
            low = k
        else:
            high = k
        step = k - value / slope
        following = step if low < step < high else (low + high) / 2
        if abs(following - k) <= tolerance * k:
            return following
        k = following
    return k


def _exponential(x: np.ndarray) -> tuple[dict[str, float], float, np.ndarray]:
    mean = float(x.mean())
    return {"mean": mean}, -len(x) * (math.log(mean) + 1), 1 - np.exp(-x / mean)


def _uniform(x: np.ndarray) -> tuple[dict[str, float], float, np.ndarray]:
    low, high = float(x.min()), float(x.max())
    return {"low": low, "high": high}, -len(x) * math.log(high - low), (x - low) / (high - low)


def _lognormal(x: np.ndarray) -> tuple[dict[str, float], float, np.ndarray]:
    logs = np.log(x)
    mu, sigma = float(logs.mean()), float(logs.std())
    n = len(x)
    loglik = -float(logs.sum()) - n * math.log(sigma) - n / 2 * math.log(2 * math.pi) - n / 2
    return {"median": math.exp(mu), "sigma": sigma}, loglik, _lognormal_cdf(x, mu, sigma)


def _weibull(x: np.ndarray) -> tuple[dict[str, float], float, np.ndarray]:
    k = weibull_shape(x)
    scale = float(x.max() * np.mean((x / x.max()) ** k) ** (1 / k))
    n = len(x)
    ratio = (x / scale) ** k
    loglik = n * math.log(k) - n * k * math.log(scale) + (k - 1) * float(np.log(x).sum()) - float(ratio.sum())
    return {"shape": k, "scale": scale}, loglik, 1 - np.exp(-ratio)


_FITTERS = {"exponential": _exponential, "uniform": _uniform, "lognormal": _lognormal, "weibull": _weibull}


def fit_candidates(values: np.ndarray) -> list[Candidate]:
    """Every candidate family fitted to positive ``values`` (a constant alone when all equal),
    in :data:`FAMILIES` order."""
    x = np.sort(np.asarray(values, dtype=float))
    if len(x) == 0 or x[0] <= 0:
        raise ValueError("fitting needs positive samples")
    if x[0] == x[-1]:
        return [Candidate("constant", {"value": float(x[0])}, math.inf, -math.inf, 0.0)]
    found = []
    for family, k in FAMILIES.items():
        params, loglik, cdf = _FITTERS[family](x)
        found.append(Candidate(family, params, loglik, 2 * k - 2 * loglik, ks_statistic(x, cdf)))
    return found


def choose(candidates: list[Candidate]) -> Candidate:
    """The candidate of least AIC (the earliest on a tie)."""
    return min(candidates, key=lambda c: c.aic)

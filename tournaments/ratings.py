"""Ratings: Bradley-Terry Elo with 95% intervals, LOS, OpenSkill, SPRT, mean returns.

**Elo (the standings).** A Bradley-Terry model in Elo units: player i scores
against player j with probability ``1 / (1 + 10 ** ((r_j - r_i) / 400))``.
Draws count as half a win and half a loss (the likelihood of a game scored s
is ``p**s * (1 - p)**(1 - s)``). The fit is the maximum of the likelihood over
all games, with two mild priors so that it always exists:

- one virtual draw between every two players who met (BayesElo's device):
  a perfect score gives a large finite rating instead of infinity;
- a normal prior N(0, (1000 Elo)^2) on each rating: groups of players that
  never met one another (a swiss tournament's first round) stay finite; it
  weighs about an eighth of one even game.

Newton's method finds the maximum; the inverse of the negative Hessian there
is the covariance (the Laplace approximation, as BayesElo and Ordo report).
Ratings are then anchored: their mean is 0, or a named player's rating is 0;
the covariance is carried through that linear map, so 95% intervals and the
likelihood of superiority (LOS) between two players account for it.

**OpenSkill (the live table).** A Bayesian online rating (Weng-Lin
Plackett-Luce from the `openskill` package), updated game by game: cheap, and
fine for showing the leader while a tournament runs.

**SPRT.** For a head-to-head match: H0 "elo <= elo0" against H1 "elo >= elo1".
The log-likelihood ratio is the GSPRT's normal approximation of the trinomial
(win/draw/loss) likelihood in the logistic Elo model:
``LLR = n (s1 - s0) (2 x - s0 - s1) / (2 var)`` with x the mean score, var the
sample variance of the per-game score, and s0, s1 the expected scores at elo0
and elo1. Accept H1 when LLR >= log((1 - beta) / alpha), H0 when
LLR <= log(beta / (1 - alpha)).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Natural-log strength units -> Elo.
ELO_PER_NAT = 400.0 / math.log(10.0)
Z95 = 1.959963984540054

# -- Bradley-Terry ---------------------------------------------------------------------------


@dataclass
class EloFit:
    """Fitted ratings: Elo, 95% half-widths, and their covariance (Elo^2)."""

    names: list[str]
    elo: np.ndarray
    ci95: np.ndarray
    cov: np.ndarray
    games: np.ndarray  # games per player
    anchor: str | None  # None: the mean is 0

    def index(self, name: str) -> int:
        return self.names.index(name)

    def rating(self, name: str) -> float:
        return float(self.elo[self.index(name)])

    def los(self, a: str, b: str) -> float:
        """Likelihood of superiority: the posterior probability that `a` is stronger than `b`."""
        i, j = self.index(a), self.index(b)
        var = self.cov[i, i] + self.cov[j, j] - 2.0 * self.cov[i, j]
        diff = self.elo[i] - self.elo[j]
        if var <= 0:
            return 0.5 if diff == 0 else float(diff > 0)
        return normal_cdf(diff / math.sqrt(var))


def normal_cdf(x: float) -> float:
    """P(Z <= x) for a standard normal Z."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def expected_score(elo_diff: float) -> float:
    """The expected score of a player `elo_diff` Elo above its opponent."""
    return 1.0 / (1.0 + 10.0 ** (-elo_diff / 400.0))


def elo_from_score(score: float, games: int) -> float:
    """The Elo difference a score implies, 400 log10(s / (1 - s)): `expected_score`'s
    inverse, with s kept off 0 and 1 by half a game of the `games` played."""
    eps = 0.5 / max(games, 1)
    s = min(max(score, eps), 1.0 - eps)
    return 400.0 * math.log10(s / (1.0 - s))


def fit_elo(
    names: Sequence[str],
    games: Iterable[tuple[str, str, float]],
    *,
    anchor: str | None = None,
    prior_draws: float = 1.0,
    prior_sd_elo: float | None = 1000.0,
) -> EloFit:
    """Bradley-Terry Elo of `names` from `games` = (a, b, score of a: 1, 1/2 or 0).

    See the module's docstring for the model and priors. With `anchor`, that
    player's rating is 0 (its interval is 0 wide); else the mean rating is 0.
    `prior_draws=0, prior_sd_elo=None` gives the plain maximum-likelihood fit,
    which exists only when every player has both won and lost (a score strictly
    between 0 and 100%) and the players who met form one connected group.
    """
    names = list(names)
    n = len(names)
    index = {name: i for i, name in enumerate(names)}
    score = np.zeros((n, n))  # score[i, j]: points i took from j
    count = np.zeros((n, n))
    for a, b, s in games:
        i, j = index[a], index[b]
        score[i, j] += s
        score[j, i] += 1.0 - s
        count[i, j] += 1.0
        count[j, i] += 1.0
    met = count > 0
    score = score + 0.5 * prior_draws * met
    count = count + prior_draws * met
    # The prior's weight in natural units; without it only rating differences are
    # determined, and pseudo-inverses stand in for inverses (the anchoring below
    # removes the undetermined common shift).
    precision = 0.0 if prior_sd_elo is None else (ELO_PER_NAT / prior_sd_elo) ** 2

    theta = np.zeros(n)

    def log_posterior(t: np.ndarray) -> float:
        diff = t[:, None] - t[None, :]
        # log p(i beats j) = -log(1 + e^-(ti - tj)), computed without overflow
        log_p = -np.logaddexp(0.0, -diff)
        return float((score * log_p).sum() - 0.5 * precision * (t @ t))

    current = log_posterior(theta)
    for _ in range(100):
        diff = theta[:, None] - theta[None, :]
        p = 1.0 / (1.0 + np.exp(-diff))
        grad = (score - count * p).sum(axis=1) - precision * theta
        w = count * p * (1.0 - p)
        hess = w - np.diag(w.sum(axis=1)) - precision * np.eye(n)  # negative definite
        step = -np.linalg.pinv(hess) @ grad
        scale = 1.0
        while True:  # the posterior is concave; halving the step only guards against overshoot
            candidate = theta + scale * step
            value = log_posterior(candidate)
            if value >= current - 1e-12 or scale < 1e-6:
                break
            scale *= 0.5
        theta, current = candidate, value
        if np.abs(scale * step).max() < 1e-10:
            break
    diff = theta[:, None] - theta[None, :]
    p = 1.0 / (1.0 + np.exp(-diff))
    w = count * p * (1.0 - p)
    information = np.diag(w.sum(axis=1)) - w + precision * np.eye(n)
    cov_nat = np.linalg.pinv(information)
    if anchor is None:
        to_anchor = np.eye(n) - np.full((n, n), 1.0 / n)
    else:
        to_anchor = np.eye(n)
        to_anchor[:, index[anchor]] -= 1.0
    elo = ELO_PER_NAT * (to_anchor @ theta)
    cov = ELO_PER_NAT**2 * (to_anchor @ cov_nat @ to_anchor.T)
    ci95 = Z95 * np.sqrt(np.clip(np.diag(cov), 0.0, None))
    played = (count - prior_draws * met).sum(axis=1)
    return EloFit(names, elo, ci95, cov, played, anchor)


def los_from_counts(wins: int, losses: int) -> float:
    """Likelihood of superiority from a head-to-head record (draws carry no information).

    ``Phi((wins - losses) / sqrt(wins + losses))``, the normal approximation.
    """
    if wins + losses == 0:
        return 0.5
    return normal_cdf((wins - losses) / math.sqrt(wins + losses))


# -- SPRT ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SprtResult:
    """Where an SPRT stands: the LLR, its bounds, and the decision (None: keep playing)."""

    llr: float
    lower: float
    upper: float
    decision: str | None  # "H0" (elo <= elo0), "H1" (elo >= elo1) or None

    def describe(self, elo0: float, elo1: float) -> str:
        verdict = {"H1": f"H1 accepted (elo >= {elo1:g})", "H0": f"H0 accepted (elo <= {elo0:g})",
                   None: "undecided"}[self.decision]
        return f"SPRT {verdict}: LLR {self.llr:.2f} in [{self.lower:.2f}, {self.upper:.2f}]"


def sprt_bounds(alpha: float, beta: float) -> tuple[float, float]:
    """(lower, upper) LLR bounds: Wald's log(beta / (1 - alpha)) and log((1 - beta) / alpha)."""
    return math.log(beta / (1.0 - alpha)), math.log((1.0 - beta) / alpha)


def sprt_llr(wins: int, draws: int, losses: int, elo0: float, elo1: float) -> float:
    """The GSPRT log-likelihood ratio of H1 (elo1) over H0 (elo0) from a W/D/L record.

    0 when there is no information yet (no games, or every game scored alike).
    """
    n = wins + draws + losses
    if n == 0:
        return 0.0
    x = (wins + 0.5 * draws) / n
    var = (wins * (1.0 - x) ** 2 + draws * (0.5 - x) ** 2 + losses * x**2) / n
    if var <= 0.0:
        return 0.0
    s0, s1 = expected_score(elo0), expected_score(elo1)
    return n * (s1 - s0) * (2.0 * x - s0 - s1) / (2.0 * var)


def sprt(wins: int, draws: int, losses: int, elo0: float, elo1: float, alpha: float = 0.05,
         beta: float = 0.05) -> SprtResult:
    """The SPRT's state after a W/D/L record of the first player against the second."""
    llr = sprt_llr(wins, draws, losses, elo0, elo1)
    lower, upper = sprt_bounds(alpha, beta)
    decision = "H1" if llr >= upper else "H0" if llr <= lower else None
    return SprtResult(llr, lower, upper, decision)


# -- the live table --------------------------------------------------------------------------


@dataclass
class LiveTable:
    """Ratings updated game by game while a tournament runs.

    Two-player games: OpenSkill (Plackett-Luce) mu and sigma per participant,
    ranked by the conservative ordinal mu - 3 sigma. Single-player games: the
    running mean return.
    """

    names: list[str]
    single_player: bool = False
    _model: Any = None
    _ratings: dict[str, Any] = field(default_factory=dict)
    _returns: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.single_player:
            self._returns = {n: [] for n in self.names}
        else:
            from openskill.models import PlackettLuce

            self._model = PlackettLuce()
            self._ratings = {n: self._model.rating(name=n) for n in self.names}

    def record(self, seats: Sequence[str], returns: Sequence[float]) -> None:
        """One game: the participants by seat and their returns."""
        if self.single_player:
            self._returns[seats[0]].append(float(returns[0]))
            return
        teams = [[self._ratings[s]] for s in seats]
        # openskill ranks: lower is better, equal ranks are a draw.
        new = self._model.rate(teams, ranks=[-float(r) for r in returns])
        for s, (rating,) in zip(seats, new):
            self._ratings[s] = rating

    def table(self) -> list[dict[str, Any]]:
        """Participants best first, each with its figures."""
        if self.single_player:
            rows = [{"name": n, "episodes": len(r), "mean_return": sum(r) / len(r) if r else None}
                    for n, r in self._returns.items()]
            return sorted(rows, key=lambda row: -math.inf if row["mean_return"] is None
                          else -row["mean_return"])
        rows = [{"name": n, "mu": r.mu, "sigma": r.sigma, "ordinal": r.ordinal()}
                for n, r in self._ratings.items()]
        return sorted(rows, key=lambda row: -row["ordinal"])

    def leader(self, among: Iterable[str] | None = None) -> str | None:
        """The best participant so far as a short text, e.g. ``greedy (mu 29.1 ± 4.2)``."""
        keep = set(among) if among is not None else None
        for row in self.table():
            if keep is not None and row["name"] not in keep:
                continue
            if self.single_player:
                if row["mean_return"] is None:
                    return None
                return f"{row['name']} (mean return {row['mean_return']:.1f})"
            return f"{row['name']} (mu {row['mu']:.1f} ± {row['sigma']:.1f})"
        return None

"""The protocols: the US-mediated single text, the compromise, and adapters of the classic engines.

BDM, SMP and exchange run the engines of :mod:`sim.rules` (which work in each issue's own units
and on one replicate at a time) on the model's unit-scale ``(A, N, I)`` positions.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from sim.protocols.base import PARAMS_CONFIG, Protocol
from sim.rules import bdm, core, exchange, smp


class MediatedSingleText(Protocol):
    """A mediator drafts one text: the capability × salience weighted compromise of current positions.

    The mediator (the United States in the article's talks) drafts; by default
    (``mediator_weight: 1``) its own position counts like any other actor's, so the text is the
    compromise model's forecast (Achen 2006) applied to *current* bargaining positions, which
    move as rejecting actors concede. A ``mediator_weight`` above 1 multiplies the mediator's
    capability in the draft: a mediator that steers the text toward its own position.
    """

    name = "mediated_single_text"
    traits = {"stochastic": False, "multi_issue": True, "moves_positions": False, "yields_agreement": True}

    def propose(self, model: Any) -> np.ndarray:
        """Weighted compromise of the agents' current positions, with the mediator's weight."""
        return core.compromise_from_weights(model.positions, model.draft_weights, model.draft_total)


class Compromise(Protocol):
    """The compromise model: the capability × salience weighted mean ``Σcsx/Σcs`` per issue.

    Positions do not move by themselves (in a war scenario they move by the actors' concessions);
    the weighted median (Black 1948) is reported alongside. Source: van den Bos (1991); Achen
    (2006) in Thomson et al., *The European Union Decides*.
    """

    name = "compromise"
    traits = {"stochastic": False, "multi_issue": True, "moves_positions": False, "yields_agreement": True}


class _EngineProtocol(Protocol):
    """Shared machinery: run a :mod:`sim.rules` engine per group of identical replicates."""

    traits = {"stochastic": False, "multi_issue": True, "moves_positions": True, "yields_agreement": True}

    def start(self, model: Any) -> None:
        a, n, i = model.positions.shape
        key = np.concatenate(
            [
                model.positions.transpose(1, 0, 2).reshape(n, a * i),
                model.capability.T,
                model.salience.transpose(1, 0, 2).reshape(n, a * i),
            ],
            axis=1,
        )
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        self.reps = first  # representative replicate of each group
        self.group = inverse.reshape(-1)  # group of each replicate
        self.lo, self.hi = model.lo, model.hi
        self.states = [self._init(model, r) for r in self.reps]
        self._fc = [self._forecast(s) for s in self.states]

    def _to_scale(self, unit: np.ndarray) -> np.ndarray:
        return self.lo + unit * (self.hi - self.lo)

    def _to_unit(self, x: np.ndarray) -> np.ndarray:
        return (x - self.lo) / (self.hi - self.lo)

    def advance(self, model: Any) -> None:
        """One engine round per group; positions of every replicate in a group follow its representative."""
        if self.stopped:
            return
        infos = []
        for g, st in enumerate(self.states):
            st, info = self._round(st)
            self.states[g] = st
            infos.append(info)
            self._fc[g] = self._forecast(st)
        pos = np.stack([self._to_unit(self._positions(s)) for s in self.states])  # (G, A, I)
        model.positions[...] = np.clip(pos[self.group].transpose(1, 0, 2), 0.0, 1.0)
        self.history.append(self._extras(infos[0]))

    def forecasts(self, model: Any) -> dict[str, np.ndarray]:
        """The engine's forecasts (unit scale), broadcast to replicates by group."""
        keys = self._fc[0].keys()
        return {k: self._to_unit(np.stack([f[k] for f in self._fc]))[self.group] for k in keys}

    # engine-specific hooks
    def _init(self, model: Any, r: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _round(self, state: Any) -> tuple[Any, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _positions(self, state: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _forecast(self, state: Any) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _extras(self, info: Any) -> dict[str, Any]:
        return {}


class BDMParamsModel(BaseModel):
    """Parameters of the ``bdm`` protocol."""

    model_config = PARAMS_CONFIG
    variant: Literal["bdm", "scholz2011"] = Field(
        "bdm", description="'bdm': the published model; 'scholz2011': Scholz, Calbert & Smith (2011) with its quirks."
    )
    Q: float = Field(1.0, ge=0.0, le=1.0, description="Probability the status quo holds if nobody challenges.")
    T: float = Field(1.0, ge=0.0, le=1.0, description="Probability a change of status quo favours the challenger.")


class BDM(_EngineProtocol):
    """Bueno de Mesquita's expected-utility challenge model (:mod:`sim.rules.bdm`).

    Each round every actor weighs challenging every other (votes, probability of success, expected
    utility, risk exponents from "danger") and accepts the best offer (confrontation, compromise,
    capitulation). The forecast is the round's weighted median (BDM's prediction) and mean. The
    text on the table in a war scenario is the median.
    """

    name = "bdm"
    Params = BDMParamsModel

    def _init(self, model: Any, r: int) -> Any:
        self._bdm = bdm
        self._bp = bdm.BDMParams(variant=self.params.variant, Q=self.params.Q, T=self.params.T)
        x = self._to_scale(model.positions[:, r, :])
        scale = np.stack([self.lo, self.hi], axis=1)
        return bdm.initial_state(x, model.capability[:, r], model.salience[:, r, :], scale=scale)

    def _round(self, state: Any) -> tuple[Any, Any]:
        return self._bdm.bdm_round(state, self._bp)

    def _positions(self, state: Any) -> np.ndarray:
        return np.asarray(state.positions)

    def _forecast(self, state: Any) -> dict[str, np.ndarray]:
        median, mean = self._bdm.forecast(state)
        return {"median": np.asarray(median, float), "mean": np.asarray(mean, float)}

    def propose(self, model: Any) -> np.ndarray:
        """BDM predicts the weighted median."""
        return self.forecasts(model)["median"]

    def _extras(self, info: Any) -> dict[str, Any]:
        return {
            "eu_challenge": np.asarray(info.eu_challenge),
            "eu_challenged": np.asarray(info.eu_challenged),
            "risk": np.asarray(info.risk) if hasattr(info, "risk") else None,
        }


class SMPParamsModel(BaseModel):
    """Parameters of the ``smp`` protocol (KTAB names in the descriptions)."""

    model_config = PARAMS_CONFIG
    victory_model: Literal["linear", "square", "quartic", "octic"] = Field(
        "linear", description="VictoryProbModel: exponent of coalition strengths in a contest."
    )
    voting_rule: Literal["proportional", "binary", "cubic"] = Field("proportional", description="VotingRule.")
    risk_range: Literal["mid", "min", "max"] = Field("mid", description="BigRRange of inferred risk attitudes.")
    risk_adjust: Literal["none", "one_third", "half", "two_thirds", "full"] = Field(
        "one_third", description="BigRAdjust: how far estimates of others' risk attitudes move toward theirs."
    )
    interp: Literal["s2p2", "s1p1"] = Field("s2p2", description="InterVecBrgn: weights of the bargaining compromise.")


class SMP(_EngineProtocol):
    """KAPSARC's Spatial Model of Politics (:mod:`sim.rules.smp`), deterministic transitions.

    Salience-weighted distance, ``u = (1-d)(1+dR)``, proportional votes, victory probability
    models, conditional PCE, inferred risk attitudes, bargaining rounds and KTAB's stop rule.
    Scenario saliences are divided by their row sum where it exceeds 1 (KTAB needs row sums
    <= 1). The forecast is the most probable position ("mode") and the probability-weighted mean.
    """

    name = "smp"
    Params = SMPParamsModel

    def _init(self, model: Any, r: int) -> Any:
        self._smp = smp
        p = self.params
        self._sp = smp.SMPParams(
            victory_model=p.victory_model,
            voting_rule=p.voting_rule,
            risk_range=p.risk_range,
            risk_adjust=p.risk_adjust,
            interp=p.interp,
        )
        self._stopped = False
        sal = model.salience[:, r, :]
        sal = sal / np.maximum(1.0, sal.sum(axis=1, keepdims=True))
        x = self._to_scale(model.positions[:, r, :])
        return smp.make_state(x, model.capability[:, r], sal, lo=self.lo, hi=self.hi)

    def _round(self, state: Any) -> tuple[Any, Any]:
        new, info = self._smp.smp_round(state, self._sp)
        if getattr(info, "stop", False) or getattr(info, "stopped", False):
            self._stopped = True
        return new, info

    def _positions(self, state: Any) -> np.ndarray:
        return np.asarray(state.positions)

    def _forecast(self, state: Any) -> dict[str, np.ndarray]:
        q = self._smp.state_quantities(state, self._sp)
        return {"mode": np.asarray(q.forecast_mode, float), "mean": np.asarray(q.forecast_mean, float)}

    def propose(self, model: Any) -> np.ndarray:
        """SMP's most probable position."""
        return self.forecasts(model)["mode"]

    @property
    def stopped(self) -> bool:
        """KTAB's stop rule (positions no longer move appreciably)."""
        return getattr(self, "_stopped", False)

    def _extras(self, info: Any) -> dict[str, Any]:
        return {"win_prob": np.asarray(info.win_prob, float)}


class ExchangeParamsModel(BaseModel):
    """Parameters of the ``exchange`` protocol."""

    model_config = PARAMS_CONFIG
    max_exchanges_per_round: int | None = Field(None, ge=1, description="Cap on exchanges per round (None: 4·A²·I).")


class Exchange(_EngineProtocol):
    """Stokman & Van Oosten's exchange model, Equal Gain (:mod:`sim.rules.exchange`).

    Actors trade voting positions across pairs of issues where each gains equally; the forecast is
    the capability × salience weighted mean per issue after each round's exchanges.
    """

    name = "exchange"
    Params = ExchangeParamsModel

    def _init(self, model: Any, r: int) -> Any:
        self._ex = exchange
        self._xp = exchange.ExchangeParams(max_exchanges_per_round=self.params.max_exchanges_per_round)
        x = self._to_scale(model.positions[:, r, :])
        return exchange.ExchangeState(
            positions=x, power=model.capability[:, r], salience=model.salience[:, r, :], lower=self.lo, upper=self.hi
        )

    def _round(self, state: Any) -> tuple[Any, Any]:
        return self._ex.exchange_round(state, self._xp)

    def _positions(self, state: Any) -> np.ndarray:
        return np.asarray(state.positions, float)

    def _forecast(self, state: Any) -> dict[str, np.ndarray]:
        return {"mean": np.asarray(state.outcome(), float)}

    def _extras(self, info: Any) -> dict[str, Any]:
        return {"n_exchanges": len(info.exchanges)}

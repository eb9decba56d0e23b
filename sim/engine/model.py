"""The Mesa model: one instance runs every replicate of an ensemble at once.

Each actor is a Mesa agent whose state (positions, costs, acceptance) is a view into arrays with
a replicate axis; the model's step is one week:

1. **war**: the battlefield balance moves (replicates at war), costs accrue;
2. **talks**: the protocol forms a proposal; every agent evaluates it against its
   reservation value; a ceasefire is agreed where every actor whose veto the text engages (it
   changes an issue the actor holds a veto on) accepts; agents that reject
   ``concede`` toward the proposal;
3. **deterrence**: in replicates at ceasefire the challenger may resume the war;
4. **record**: ensemble quantiles of the week's state.

The arithmetic lives in :mod:`sim.rules.core` (pure numpy); agents call it.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.engine.agents import ActorAgent
from sim.protocols import get_protocol
from sim.rules import core
from sim.scenario.loader import OUTCOME_CLASSES, LoadedScenario
from sim.scenario.params import realise

WAR, CEASEFIRE, COLLAPSED = 0, 1, 2
"""Replicate states: at war (no ceasefire yet), in a ceasefire, at war again after a collapse."""
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


class NegotiationModel(mesa.Model):
    """An ensemble of ``n`` replicates of one scenario, advanced one week per ``step``.

    Args:
        loaded: The validated scenario.
        n: Number of replicates (the length of every replicate axis).
        seed: Root seed; parameter draws, war shocks and resumption draws derive from it.
        weeks: Horizon (for recording); the runner calls ``step`` this many times.
        keep: Arrays ``(weeks + 1, n, ...)`` to fill with every replicate's state each week
            (:meth:`keep_week`), or None to keep only the ensemble statistics.
    """

    def __init__(
        self, loaded: LoadedScenario, n: int, seed: int, weeks: int, keep: dict[str, np.ndarray] | None = None
    ) -> None:
        ss = np.random.SeedSequence(seed)
        war_ss, hazard_ss, mesa_ss = ss.spawn(3)
        super().__init__(rng=np.random.default_rng(mesa_ss))
        self.spec = loaded.spec
        self.loaded = loaded
        self.n, self.seed, self.weeks = n, seed, weeks
        self.keep = keep
        self.week = 0
        self.war_rng = np.random.default_rng(war_ss)
        self.hazard_rng = np.random.default_rng(hazard_ss)
        self.sampled: dict[str, np.ndarray] = {}
        self._build()
        for i, key in enumerate(self.actor_ids):  # Mesa registers each agent in self.agents, in actor order
            ActorAgent(self, key, i)
        proto = self.spec.negotiation.protocol
        self.protocol = get_protocol(proto.name, dict(proto.model_extra or {}))
        self.protocol.start(self)
        self.proposal = self._proposal()
        self.talking = np.zeros(n, dtype=bool)
        self.agreed_now = np.zeros(n, dtype=bool)
        self.still_talking = np.zeros(n, dtype=bool)  # in talks this week and no agreement yet
        self.positions_moved = np.ones((len(self.actor_ids), len(self.issue_ids)), dtype=bool)
        """Per actor and issue: positions written since the last record (their statistics must be recomputed)."""
        self._init_records()
        self._record()

    # ------------------------------------------------------------------ setup
    def _p(self, value, path: str) -> np.ndarray:
        arr = realise(value, self.n, self.seed, path)
        if not isinstance(value, float | int):
            self.sampled[path] = arr
        return arr

    def _build(self) -> None:
        """Every replicate's parameters and starting state, from the scenario, in the order of its sections."""
        self._build_issues()
        self._build_actors()
        self._build_talks()
        self.war_enabled = self.spec.war is not None
        if not self.war_enabled:  # talks only: no battlefield, costs or deterrence
            n, A = self.n, len(self.actor_ids)
            self.state = np.full(n, WAR, dtype=np.int8)
            self.talking = np.ones(n, dtype=bool)
            self.balance = np.full(n, np.nan)
            self.spend = np.zeros((A, n))
            self.losses = np.zeros((A, n))
            return
        self._build_war()
        self._build_deterrence()
        self._build_war_state()

    def _build_issues(self) -> None:
        """Issues: ids, scales (unit scale inside the model), labelled points, the status quo."""
        s = self.spec
        self.actor_ids = list(s.actors)
        self.issue_ids = list(s.issues)
        issues = [s.issues[i] for i in self.issue_ids]
        self.lo = np.array([iss.lo for iss in issues])
        self.hi = np.array([iss.hi for iss in issues])
        self.points_unit = [core.to_unit(np.array(sorted(iss.points)), iss.lo, iss.hi) for iss in issues]
        self.discrete = [iss.discrete for iss in issues]
        sq = np.array([iss.status_quo for iss in issues])
        self.status_quo = core.to_unit(sq, self.lo, self.hi)

    def _build_actors(self) -> None:
        """Actors: capability, resolve, risk, positions and saliences, red lines, vetoes, leverage, guarantees."""
        s, n = self.spec, self.n
        A, I = len(self.actor_ids), len(self.issue_ids)
        self.capability = np.zeros((A, n))
        self.resolve = np.zeros((A, n))
        self.exponent = np.zeros((A, n))
        self.revisionism = np.zeros((A, n))
        self.ideal = np.tile(self.status_quo, (A, n, 1))
        self.positions = self.ideal.copy()
        self.salience = np.zeros((A, n, I))
        self.red_lo = np.full((A, n, I), -np.inf)
        self.red_hi = np.full((A, n, I), np.inf)
        self.red_breaks = np.full((A, n, I), np.inf)
        kmax = max(
            (len(rl.exclude) for act in s.actors.values() for rl in act.red_lines.values()),
            default=0,
        )
        self.red_excl = np.full((A, I, kmax), np.nan)
        self.leverage_in = np.zeros((A, n))
        self.ref_bn = np.full((A, n), np.inf)
        self.ref_losses = np.full((A, n), np.inf)
        self.veto = np.zeros((A, I), dtype=bool)  # actor a holds a veto on issue j
        C = len(OUTCOME_CLASSES)
        self.g_commit = np.zeros((C, A, n))
        self.g_cred = np.zeros((C, A, n))
        self.g_cost = np.zeros((C, A, n))
        for a, aid in enumerate(self.actor_ids):
            act = s.actors[aid]
            base = f"actors.{aid}"
            self.capability[a] = self._p(act.capability, f"{base}.capability")
            self.resolve[a] = self._p(act.resolve, f"{base}.resolve")
            self.exponent[a] = core.loss_exponent(self._p(act.risk_attitude, f"{base}.risk_attitude"))
            self.revisionism[a] = self._p(act.revisionism, f"{base}.revisionism")
            for iid in act.veto:
                self.veto[a, self.issue_ids.index(iid)] = True
            if act.weariness_reference_bn is not None:
                self.ref_bn[a] = self._p(act.weariness_reference_bn, f"{base}.weariness_reference_bn")
            if act.weariness_reference_losses is not None:
                self.ref_losses[a] = self._p(act.weariness_reference_losses, f"{base}.weariness_reference_losses")
            for iid, pos in act.positions.items():
                j = self.issue_ids.index(iid)
                p = f"{base}.positions.{iid}"
                lo, hi = self.lo[j], self.hi[j]
                ideal = np.clip(self._p(pos.ideal, f"{p}.ideal"), lo, hi)
                self.ideal[a, :, j] = core.to_unit(ideal, lo, hi)
                if pos.position is None:
                    self.positions[a, :, j] = self.ideal[a, :, j]
                else:
                    start = np.clip(self._p(pos.position, f"{p}.position"), lo, hi)
                    self.positions[a, :, j] = core.to_unit(start, lo, hi)
                self.salience[a, :, j] = self._p(pos.salience, f"{p}.salience")
            for iid, rl in act.red_lines.items():
                j = self.issue_ids.index(iid)
                if rl.min is not None:
                    self.red_lo[a, :, j] = core.to_unit(rl.min, self.lo[j], self.hi[j])
                if rl.max is not None:
                    self.red_hi[a, :, j] = core.to_unit(rl.max, self.lo[j], self.hi[j])
                for q, v in enumerate(rl.exclude):
                    self.red_excl[a, j, q] = core.to_unit(v, self.lo[j], self.hi[j])
                if rl.breaks_at_pressure is not None:
                    self.red_breaks[a, :, j] = self._p(
                        rl.breaks_at_pressure, f"{base}.red_lines.{iid}.breaks_at_pressure"
                    )
            for other, strength in act.leverage.items():
                b = self.actor_ids.index(other)
                self.leverage_in[b] += self._p(strength, f"{base}.leverage.{other}")
            for cls, g in act.guarantees.items():
                c = OUTCOME_CLASSES.index(cls)
                gp = f"{base}.guarantees.{cls}"
                self.g_commit[c, a] = self._p(g.commitment, f"{gp}.commitment")
                self.g_cred[c, a] = self._p(g.credibility, f"{gp}.credibility")
                self.g_cost[c, a] = self._p(g.cost_bn_per_week, f"{gp}.cost_bn_per_week")
        self.weights = core.salience_weights(self.salience)
        self.concede_factor = core.concession_factor(self.weights)  # constant over time
        self.red_cols = [
            np.array([self.issue_ids.index(i) for i in s.actors[a].red_lines], dtype=np.int64) for a in self.actor_ids
        ]
        self.has_red_lines = np.array([bool(s.actors[a].red_lines) for a in self.actor_ids], dtype=bool)

    def _build_talks(self) -> None:
        """Talks: the mediator's draft weights, concessions, fixed issues, the evaluation's constant parts."""
        s = self.spec
        neg = s.negotiation
        med = neg.protocol.mediator
        self.mediator = self.actor_ids.index(med) if med is not None else None
        self.mediator_weight = neg.protocol.mediator_weight
        cap = self.capability.copy()
        if self.mediator is not None:
            cap[self.mediator] *= self.mediator_weight
        self.draft_weights = cap[:, :, None] * self.salience  # (A, N, I): constant over time
        self.concession_base = self._p(neg.concession_rate, "negotiation.concession_rate")
        self.outlook_weeks = neg.outlook_weeks
        self.fixed_mask = np.array([i in neg.fixed for i in self.issue_ids])
        self.fixed_unit = np.array(
            [core.to_unit(neg.fixed.get(i, 0.0), self.lo[j], self.hi[j]) for j, i in enumerate(self.issue_ids)]
        )
        self.open_issue = (~self.fixed_mask).astype(float)
        self.fixed_cols = np.flatnonzero(self.fixed_mask)
        self.open_cols = np.flatnonzero(~self.fixed_mask)
        self.draft_total = np.einsum("ani->ni", self.draft_weights)  # the draft's denominator, constant over time
        self._init_evaluation()

    def _build_war(self) -> None:
        """The war: its sides, battlefield dynamics, aid and its donors, and what each outcome of fighting is worth."""
        s, n = self.spec, self.n
        A = len(self.actor_ids)
        w = s.war
        self.side_a = self.actor_ids.index(w.sides[0])
        self.side_b = self.actor_ids.index(w.sides[1])
        self.balance = self._p(w.initial_balance, "war.initial_balance")
        self.reversion = self._p(w.mean_reversion, "war.mean_reversion")
        self.volatility = self._p(w.volatility, "war.volatility")
        self.aid_effect = self._p(w.aid_effect, "war.aid_effect")
        self.aid_bn = self._p(w.aid_bn_per_week, "war.aid_bn_per_week")
        self.base_losses = self._p(w.losses_per_week, "war.losses_per_week")
        self.ceasefire_aid = self._p(w.ceasefire_aid_fraction, "war.ceasefire_aid_fraction")
        self.aid_j = self.issue_ids.index(w.aid_issue)
        self.fin_j = self.issue_ids.index(w.financing_issue) if w.financing_issue else None
        self.donor_share = np.zeros((A, n))
        for d, share in w.donors.items():
            self.donor_share[self.actor_ids.index(d)] = self._p(share, f"war.donors.{d}")
        battle = np.array([s.issues[i].decided_by_battle for i in self.issue_ids])
        self.outcome_a = np.where(battle, self.ideal[self.side_a], self.status_quo)
        self.outcome_b = np.where(battle, self.ideal[self.side_b], self.status_quo)
        # utility of each war outcome to each actor: constant over time, so computed once
        self.u_outcome_a = np.stack(
            [core.utility(self.outcome_a, self.ideal[a], self.weights[a], self.exponent[a]) for a in range(A)]
        )
        self.u_outcome_b = np.stack(
            [core.utility(self.outcome_b, self.ideal[a], self.weights[a], self.exponent[a]) for a in range(A)]
        )

    def _build_deterrence(self) -> None:
        """Deterrence: challenger and defender, the collapse hazard's parameters, the outcome classes."""
        s = self.spec
        d = s.deterrence
        self.challenger = self.actor_ids.index(d.challenger)
        self.defender = self.actor_ids.index(d.defender)
        self.base_hazard = self._p(d.base_hazard, "deterrence.base_hazard")
        self.guarantee_weight = self._p(d.guarantee_weight, "deterrence.guarantee_weight")
        self.self_defence_weight = self._p(d.self_defence_weight, "deterrence.self_defence_weight")

        o = s.outcomes
        self.class_j = self.issue_ids.index(o.issue)
        iss = s.issues[o.issue]
        self.class_points = core.to_unit(np.array(sorted(o.classes)), iss.lo, iss.hi)
        self.class_of_point = np.array([OUTCOME_CLASSES.index(o.classes[p]) for p in sorted(o.classes)])

    def _build_war_state(self) -> None:
        """Every replicate at war in week 0: states, costs, records of the first ceasefire, the war's weekly rates."""
        s, n = self.spec, self.n
        A, I = len(self.actor_ids), len(self.issue_ids)
        neg = s.negotiation
        self.state = np.full(n, WAR, dtype=np.int8)
        self.talks_from = np.full(n, neg.start_week, dtype=np.int64)
        self.renegotiation_delay = neg.renegotiation_delay_weeks
        self.spend = np.zeros((A, n))
        self.losses = np.zeros((A, n))
        self.war_cost_rate = np.zeros((A, n))
        self.package = np.full((n, I), np.nan)
        self.package_class = np.full(n, -1, dtype=np.int64)
        self.hazard = np.zeros(n)
        self.cf_start = np.full(n, -1, dtype=np.int64)
        self.first_cf_week = np.full(n, -1, dtype=np.int64)
        self.first_package = np.full((n, I), np.nan)
        self.first_class = np.full(n, -1, dtype=np.int64)
        self.first_collapse_week = np.full(n, -1, dtype=np.int64)
        self.n_ceasefires = np.zeros(n, dtype=np.int64)
        self.war_weeks = np.zeros(n, dtype=np.int64)
        sq_aid = self.lo[self.aid_j] + self.status_quo[self.aid_j] * (self.hi[self.aid_j] - self.lo[self.aid_j])
        self.war_aid_level = np.full(n, sq_aid)
        self.war_financing = np.full(n, self._financing(self.status_quo))
        self.balance_target = core.equilibrium_balance(
            self.capability[self.side_a],
            self.capability[self.side_b],
            self.war_aid_level,
            self.aid_effect,
        )
        self.war_spend_rate = self.donor_share * (self.aid_bn * self.war_aid_level * (1 - self.war_financing))
        self.cf_spend_rate = np.zeros((A, n))  # per replicate, from the package agreed
        self.spend_rate = self.war_spend_rate.copy()  # this week's: wartime bill, or the package's in a ceasefire
        # constant parts of the weekly war arithmetic, computed once
        bill = self.aid_bn * self.war_aid_level * (1 - self.war_financing)
        self.war_cost_aid = self.donor_share * bill / self.ref_bn  # (A, N) wartime aid bill, weariness units/week
        self.war_cost_rate = self.war_cost_aid + np.zeros((A, n)) / self.ref_losses  # sides' rows: weekly below
        self.target_logit = core.balance_logit(self.balance_target)
        self.outlook_decay = (1.0 - self.reversion) ** self.outlook_weeks  # (N,) share of the gap left at the outlook
        self._update_war_cost_rate()
        self.balance_outlook = core.forecast_balance(
            self.balance, self.balance_target, self.reversion, self.outlook_weeks, decay=self.outlook_decay
        )

    def _financing(self, package_unit: np.ndarray) -> np.ndarray | float:
        if self.fin_j is None:
            return 0.0
        j = self.fin_j
        return self.lo[j] + package_unit[..., j] * (self.hi[j] - self.lo[j])

    def _scale(self, unit: np.ndarray, j: int) -> np.ndarray:
        return self.lo[j] + unit * (self.hi[j] - self.lo[j])

    def _update_war_cost_rate(self, la: np.ndarray | None = None, lb: np.ndarray | None = None) -> None:
        """Weekly cost of fighting per actor, in weariness units (for the outlook).

        ``aid bill / ref_bn + losses / ref_losses``; only the two sides' losses change, so only their rows
        are recomputed (``la``, ``lb``: this week's :func:`core.weekly_losses`, if already computed).
        """
        if la is None or lb is None:
            la, lb = core.weekly_losses(self.balance, self.base_losses)
        for side, lost in ((self.side_a, la), (self.side_b, lb)):
            row = self.war_cost_rate[side]
            np.divide(lost, self.ref_losses[side], out=row)
            row += self.war_cost_aid[side]

    def _proposal(self) -> np.ndarray:
        prop = np.array(self.protocol.propose(self), dtype=float)  # our own copy: edited in place below
        prop[:, self.fixed_cols] = self.fixed_unit[self.fixed_cols]
        for j, disc in enumerate(self.discrete):
            if disc and not self.fixed_mask[j]:
                prop[:, j] = core.snap(prop[:, j], self.points_unit[j])
        return np.clip(prop, 0.0, 1.0, out=prop)

    def _init_evaluation(self) -> None:
        """Constant parts of the weekly evaluation, computed once (results identical to the full formulas)."""
        A, n, I = self.positions.shape

        # red lines: each actor's bounds and breaking points on its red-line issues, (N, k) each, or (1, k)
        # when the same in every replicate (they broadcast to the same comparisons); no excluded values: None
        def rows(x: np.ndarray) -> np.ndarray:
            return x[:1] if n and np.all(x == x[:1]) else x

        self.red_rules = [
            (
                rows(self.red_lo[a][:, c]),
                rows(self.red_hi[a][:, c]),
                rows(self.red_breaks[a][:, c]),
                self.red_excl[a][c] if np.any(np.isfinite(self.red_excl[a][c])) else None,
            )
            for a, c in enumerate(self.red_cols)
        ]
        # utility: an actor's loss exponent (a slow elementwise power) is applied only on the open issues it
        # weighs; on an issue it gives zero weight the term is 0 either way, and on a fixed issue the distance
        # to the text never changes, so its powered value is computed here once
        self.risk_neutral = np.all(self.exponent == 1.0, axis=1)  # (A,): no power needed at all
        on_fixed = np.clip(self.fixed_unit, 0.0, 1.0)  # the value _proposal puts on a fixed issue
        self.pow_cols = [np.flatnonzero(np.any(self.weights[a] != 0.0, axis=0) & ~self.fixed_mask) for a in range(A)]
        self.fixed_pow = [
            []
            if self.risk_neutral[a]
            else [(j, np.abs(on_fixed[j] - self.ideal[a, :, j]) ** self.exponent[a]) for j in self.fixed_cols]
            for a in range(A)
        ]
        self._dist = np.empty((A, n, I))  # scratch for the distances to the text

    def _utilities(self) -> np.ndarray:
        """Every actor's utility of the text on the table, ``(A, N)`` in [0, 1]: :func:`core.utility`, faster."""
        d = self._dist
        np.subtract(self.proposal, self.ideal, out=d)
        np.abs(d, out=d)
        for k in np.flatnonzero(~self.risk_neutral):
            e = self.exponent[k]
            for j in self.pow_cols[k]:
                col = d[k, :, j]
                np.power(col, e, out=col)
            for j, powered in self.fixed_pow[k]:
                d[k, :, j] = powered
        return 1.0 - np.einsum("ani,ani->an", self.weights, d)

    def _assess(self) -> None:
        """Every actor's utility of the text, pressure to settle and reservation value, ``(A, N)`` each (utility units).

        Reservation: the war lottery's expected utility minus the pressure, which is weariness from costs
        so far plus the expected cost over the outlook, discounted by resolve, plus leverage.
        """
        self.utilities = self._utilities()
        u_war = core.lottery(self.balance_outlook, self.u_outcome_a, self.u_outcome_b)
        sunk = core.weariness(self.spend, self.losses, self.ref_bn, self.ref_losses)
        outlook = self.outlook_weeks * self.war_cost_rate
        self.pressures = core.pressure(self.resolve, sunk + outlook, self.leverage_in)
        self.reservations = core.reservation(u_war, self.pressures)

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """Advance every replicate by one week (one round of talks in a talks-only scenario)."""
        if not self.war_enabled:
            self._talks_only()
            return
        t = self.week
        at_war = self.state != CEASEFIRE
        self._war(at_war)
        self._talks(at_war, t)
        self._deterrence(t)
        self.week += 1
        self._record()

    def _talks_only(self) -> None:
        """A round of a protocol without war: positions move by the protocol's own rule."""
        if self.protocol.traits.get("moves_positions", False):
            self.protocol.advance(self)
            self.positions_moved[:] = True
        self.proposal = self._proposal()
        self.week += 1
        self._record()
        if self.protocol.stopped:
            self.running = False

    def _war(self, at_war: np.ndarray) -> None:
        shock = self.war_rng.standard_normal(self.n)  # drawn for every replicate: common random numbers
        moved = core.balance_step(
            self.balance, self.balance_target, self.reversion, self.volatility, shock, target_logit=self.target_logit
        )
        self.balance = np.where(at_war, moved, self.balance)
        self.war_weeks += at_war
        fw = at_war.astype(float)
        la, lb = core.weekly_losses(self.balance, self.base_losses)
        self.losses[self.side_a] += fw * la
        self.losses[self.side_b] += fw * lb
        # weekly spending: the wartime aid bill, or the agreed package's (set when it was agreed)
        self.spend += self.spend_rate  # war_spend_rate where at war, else cf_spend_rate (kept by _agree, _deterrence)
        self._update_war_cost_rate(la, lb)

    def _talks(self, at_war: np.ndarray, t: int) -> None:
        self.talking = at_war & (t >= self.talks_from)
        moves = self.protocol.traits.get("moves_positions", False)
        if moves:
            self.protocol.advance(self)
            self.positions_moved[:] = True
        self.proposal = self._proposal()
        self.balance_outlook = core.forecast_balance(
            self.balance, self.balance_target, self.reversion, self.outlook_weeks, decay=self.outlook_decay
        )
        self._assess()
        self.agents.do("evaluate")
        changed = core.changes_status_quo(self.proposal, self.status_quo)  # (N, I)
        engaged = core.veto_engaged(changed, self.veto.T)  # (N, A), every actor at once
        veto_ok = np.ones(self.n, dtype=bool)
        for agent in self.agents:
            veto_ok &= agent.accepts | ~engaged[:, agent.index]
        self.agreed_now = self.talking & veto_ok
        if self.agreed_now.any():
            self._agree(self.agreed_now, t)
        if not moves:
            self.still_talking = self.talking & ~self.agreed_now
            self.agents.do("concede")

    def _agree(self, mask: np.ndarray, t: int) -> None:
        idx = np.flatnonzero(mask)  # only the replicates agreeing this week
        prop = self.proposal[idx]
        self.state[idx] = CEASEFIRE
        self.package[idx] = prop
        point = np.abs(prop[:, self.class_j, None] - self.class_points).argmin(axis=1)
        cls = self.class_of_point[point]
        self.package_class[idx] = cls
        self.cf_start[idx] = t
        self.n_ceasefires[idx] += 1
        first = self.first_cf_week[idx] < 0
        fidx = idx[first]
        self.first_cf_week[fidx] = t
        self.first_package[fidx] = prop[first]
        self.first_class[fidx] = cls[first]
        # deterrent of the agreed package: guarantors' commitments under its class + defender strength
        commit = self.g_commit[cls, :, idx].T  # (A, k)
        cred = self.g_cred[cls, :, idx].T
        aid = self._scale(prop[:, self.aid_j], self.aid_j)
        strength = self.capability[self.defender, idx] + self.aid_effect[idx] * aid * self.ceasefire_aid[idx]
        dval = core.deterrent(
            commit, cred, self.capability[:, idx], self.guarantee_weight[idx], strength, self.self_defence_weight[idx]
        )
        fin = self._financing(prop)
        cf_bill = self.aid_bn[idx] * aid * self.ceasefire_aid[idx] * (1 - fin)
        self.cf_spend_rate[:, idx] = self.donor_share[:, idx] * cf_bill + self.g_cost[cls, :, idx].T
        self.spend_rate[:, idx] = self.cf_spend_rate[:, idx]
        self.hazard[idx] = core.resumption_hazard(self.base_hazard[idx], self.revisionism[self.challenger, idx], dval)

    def _deterrence(self, t: int) -> None:
        draw = self.hazard_rng.random(self.n)  # drawn for every replicate: common random numbers
        exposed = (self.state == CEASEFIRE) & (self.cf_start < t)
        collapse = exposed & (draw < self.hazard)
        if not collapse.any():
            return
        self.state[collapse] = COLLAPSED
        first = collapse & (self.first_collapse_week < 0)
        self.first_collapse_week[first] = t
        self.talks_from[collapse] = t + 1 + self.renegotiation_delay
        self.package[collapse] = np.nan
        self.package_class[collapse] = -1
        self.hazard[collapse] = 0.0
        self.spend_rate[:, collapse] = self.war_spend_rate[:, collapse]

    # ------------------------------------------------------------------ recording
    def _init_records(self) -> None:
        A, I = len(self.actor_ids), len(self.issue_ids)
        self.rec_positions = np.zeros((self.weeks + 1, A, I, 6))
        self.rec_proposal = np.zeros((self.weeks + 1, I, 6))
        self.rec_balance = np.zeros((self.weeks + 1, 6))
        self.rec_spend = np.zeros((self.weeks + 1, A, 6))
        self.rec_losses = np.zeros((self.weeks + 1, A, 6))
        self.rec_state = np.zeros((self.weeks + 1, 3))
        self.rec_accept = np.full((self.weeks + 1, A), np.nan)
        self.rec_forecast: dict[str, np.ndarray] = {}
        self._rec_buf = np.empty((A * I + I + 1 + 2 * A, self.n))
        # actors whose cumulative spending or losses can leave zero (the others' rows stay at their week-0 values)
        if self.war_enabled:
            pays = np.any(self.donor_share != 0.0, axis=1) | np.any(self.g_cost != 0.0, axis=(0, 2))
            self._spending_actors = np.flatnonzero(pays)
            self._fighting_actors = np.array(sorted({self.side_a, self.side_b}), dtype=np.int64)
        else:
            self._spending_actors = self._fighting_actors = np.zeros(0, dtype=np.int64)

    @staticmethod
    def _stats(rows: np.ndarray) -> np.ndarray:
        """Mean and the QUANTILES of each row of a ``(K, N)`` array (replicates along axis 1) → ``(K, 6)``."""
        q = core.quantiles_rows(rows, QUANTILES)
        return np.concatenate([rows.mean(axis=1)[:, None], q], axis=1)

    def _record(self) -> None:
        t = self.week
        if t > self.weeks:
            return
        A, I = len(self.actor_ids), len(self.issue_ids)
        # only rows that may have changed since the last record are summarised again, the others keep their
        # statistics: positions not written since (positions_moved), the text on fixed issues, spending of
        # actors who never pay, losses of actors who do not fight
        pos_a, pos_j = np.nonzero(self.positions_moved)  # actor, issue of each position row
        everything = t == 0
        prop_cols = np.arange(I) if everything else self.open_cols
        spend_rows = np.arange(A) if everything else self._spending_actors
        loss_rows = np.arange(A) if everything else self._fighting_actors
        k_pos, k_prop, k_sp, k_lo = len(pos_a), len(prop_cols), len(spend_rows), len(loss_rows)
        buf = self._rec_buf[: k_pos + k_prop + 1 + k_sp + k_lo]  # (K, N): replicates along rows, selection contiguous
        span = self.hi - self.lo
        rows = buf[:k_pos]  # in scale units
        rows[...] = self.positions[pos_a, :, pos_j]
        rows *= span[pos_j, None]
        rows += self.lo[pos_j, None]
        k = k_pos
        rows = buf[k : k + k_prop]
        rows[...] = self.proposal[:, prop_cols].T
        rows *= span[prop_cols, None]
        rows += self.lo[prop_cols, None]
        k += k_prop
        buf[k] = self.balance
        buf[k + 1 : k + 1 + k_sp] = self.spend[spend_rows]
        buf[k + 1 + k_sp :] = self.losses[loss_rows]
        st = self._stats(buf)  # (K, 6)
        if not everything:
            for rec in (self.rec_positions, self.rec_proposal, self.rec_spend, self.rec_losses):
                rec[t] = rec[t - 1]
        self.rec_positions[t, pos_a, pos_j] = st[:k_pos]
        self.positions_moved[:] = False
        self.rec_proposal[t, prop_cols] = st[k_pos:k]
        self.rec_balance[t] = st[k]
        k += 1
        self.rec_spend[t, spend_rows] = st[k : k + k_sp]
        self.rec_losses[t, loss_rows] = st[k + k_sp :]
        # forecasts: every round in talks-only runs; at the horizon in war runs (the summary's forecast)
        record_forecast = (not self.war_enabled) or t == self.weeks
        for key, f in (self.protocol.forecasts(self) if record_forecast else {}).items():
            arr = self.rec_forecast.setdefault(key, np.full((self.weeks + 1, I), np.nan))
            arr[t] = np.median(self.lo + f * (self.hi - self.lo), axis=0)
        counts = np.bincount(self.state, minlength=3)
        self.rec_state[t] = counts / self.n
        n_talking = np.count_nonzero(self.talking)
        if self.war_enabled and t > 0 and n_talking:
            for agent in self.agents:  # share accepting among replicates in talks
                self.rec_accept[t, agent.index] = np.count_nonzero(agent.accepts & self.talking) / n_talking
        if self.keep is not None:
            self.keep_week(t)

    def keep_week(self, t: int) -> None:
        """Copy every replicate's state at week ``t`` into the ``keep`` arrays (``--keep-trajectories``).

        Positions and the proposal in scale units, computed exactly as for the weekly statistics (so
        the quantiles of the kept values are the recorded ones); in war scenarios also the state
        (:data:`WAR`, :data:`CEASEFIRE`, :data:`COLLAPSED`), the balance, cumulative spending and
        losses, and each actor's vote (1 accepts, 0 rejects, -1 not in talks that week).
        """
        k, span = self.keep, self.hi - self.lo
        pos = k["positions"][t]  # (N, A, I)
        np.multiply(self.positions.transpose(1, 0, 2), span, out=pos)
        pos += self.lo
        prop = k["proposal"][t]  # (N, I)
        np.multiply(self.proposal, span, out=prop)
        prop += self.lo
        if not self.war_enabled:
            return
        k["state"][t] = self.state
        k["balance"][t] = self.balance
        k["spending_bn"][t] = self.spend.T
        k["losses_index"][t] = self.losses.T
        votes = k["accepts"][t]  # (N, A)
        votes[...] = -1
        if t > 0:
            for agent in self.agents:
                votes[self.talking, agent.index] = agent.accepts[self.talking]

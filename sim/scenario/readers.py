"""Readers of the classic models' input files: DECIDE's tab-separated data, KTAB's SMP CSV.

They return the engines' own data types (:class:`sim.rules.exchange.DecideData`,
:class:`sim.rules.smp.SMPState`), so the engines in :mod:`sim.rules` stay free of file handling.
"""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from sim.rules.exchange import DecideData
from sim.rules.smp import SMPState, make_state


def _cell(row: list[str], n: int) -> str:
    return row[n] if len(row) > n else ""


def _number(text: str, exact: bool) -> Any:
    text = text.strip()
    return Fraction(text) if exact else float(text)


def read_decide_tsv(path: str | Path, *, exact: bool = False) -> DecideData:
    """Read a DECIDE input file: ``#A`` actors, ``#P`` issues, ``#M`` scale labels, ``#D`` data rows.

    Rows are tab-separated with ``'`` as quote character. ``#A key name [comment]``; ``#P key name
    [description]``; ``#M issue position [label]``; ``#D actor issue position salience power``; ``#0`` and
    ``#/`` rows are comments. A ``#D`` header row whose numbers are not numbers (``position salience
    power``) is skipped. Format: DECIDE documentation, ``docs/inputfiles.md`` of
    ``foarsitter/decide-exchange-model``.

    Args:
        path: File to read.
        exact: Return numbers as :class:`fractions.Fraction` in object arrays (exact decimal values).

    Returns:
        The parsed :class:`DecideData`, with scale labels kept.

    Raises:
        ValueError: On an unknown row type, a ``#D`` row naming an undeclared actor or issue (when ``#A``
            / ``#P`` rows exist), a malformed number, a duplicate ``#D`` row, or a position outside its
            issue's ``#M`` range.
    """
    actor_names: dict[str, str] = {}
    actor_comments: dict[str, str] = {}
    issue_names: dict[str, str] = {}
    issue_comments: dict[str, str] = {}
    labels: dict[str, list[tuple[Any, str]]] = {}
    data: list[tuple[int, str, str, Any, Any, Any]] = []
    with open(path, newline="", encoding="utf-8") as fh:
        for lineno, row in enumerate(csv.reader(fh, delimiter="\t", quotechar="'"), start=1):
            row = [cell.strip() for cell in row]
            if not row or not row[0]:
                continue
            tag = row[0].upper()
            if tag in ("#0", "#/"):
                continue
            if len(row) < 2 or not row[1]:
                raise ValueError(f"{path}:{lineno}: {row[0]} row without a key")
            if tag == "#A":
                key = row[1]
                actor_names[key] = _cell(row, 2) or key
                actor_comments[key] = _cell(row, 3)
            elif tag == "#P":
                key = row[1]
                issue_names[key] = _cell(row, 2) or key
                issue_comments[key] = _cell(row, 3)
            elif tag == "#M":
                try:
                    value = _number(row[2], exact)
                except (IndexError, ValueError, ZeroDivisionError) as err:
                    raise ValueError(f"{path}:{lineno}: #M row needs an issue and a numeric position") from err
                labels.setdefault(row[1], []).append((value, _cell(row, 3)))
            elif tag == "#D":
                if len(row) < 6:
                    raise ValueError(f"{path}:{lineno}: #D row needs actor, issue, position, salience, power")
                try:
                    nums = [_number(v, exact) for v in row[3:6]]
                except (ValueError, ZeroDivisionError) as err:
                    if not data and [v.lower() for v in row[3:6]] == ["position", "salience", "power"]:
                        continue  # header row
                    raise ValueError(f"{path}:{lineno}: malformed number in #D row {row}") from err
                data.append((lineno, row[1], row[2], *nums))
            else:
                raise ValueError(f"{path}:{lineno}: unknown row type {row[0]!r}")

    actors = list(actor_names) or list(dict.fromkeys(d[1] for d in data))
    issues = list(issue_names) or list(dict.fromkeys(d[2] for d in data))
    for key in actors:
        actor_names.setdefault(key, key)
        actor_comments.setdefault(key, "")
    for key in issues:
        issue_names.setdefault(key, key)
        issue_comments.setdefault(key, "")
    for key in labels:
        if key not in issue_names:
            raise ValueError(f"{path}: #M rows for undeclared issue {key!r}")
    a_index = {a: n for n, a in enumerate(actors)}
    i_index = {d: n for n, d in enumerate(issues)}
    n_a, n_i = len(actors), len(issues)
    dtype = object if exact else float
    positions = np.full((n_a, n_i), None if exact else np.nan, dtype=dtype)
    salience = np.full((n_a, n_i), 0, dtype=dtype)
    power = np.full((n_a, n_i), 0, dtype=dtype)
    lower = np.array([min(v for v, _ in labels[d]) if labels.get(d) else 0 for d in issues], dtype=dtype)
    upper = np.array([max(v for v, _ in labels[d]) if labels.get(d) else 100 for d in issues], dtype=dtype)
    seen = set()
    for lineno, actor, issue, pos, sal, pw in data:
        if actor not in a_index:
            raise ValueError(f"{path}:{lineno}: actor {actor!r} is not declared in an #A row")
        if issue not in i_index:
            raise ValueError(f"{path}:{lineno}: issue {issue!r} is not declared in a #P row")
        a, d = a_index[actor], i_index[issue]
        if (a, d) in seen:
            raise ValueError(f"{path}:{lineno}: second #D row for {actor!r} on {issue!r}")
        seen.add((a, d))
        if not lower[d] <= pos <= upper[d]:
            raise ValueError(f"{path}:{lineno}: position {pos} outside [{lower[d]}, {upper[d]}] of {issue!r}")
        positions[a, d], salience[a, d], power[a, d] = pos, sal, pw
    return DecideData(
        actors=tuple(actors),
        actor_names=actor_names,
        actor_comments=actor_comments,
        issues=tuple(issues),
        issue_names=issue_names,
        issue_comments=issue_comments,
        scale_labels={d: tuple(labels.get(d, ())) for d in issues},
        lower=lower,
        upper=upper,
        positions=positions,
        salience=salience,
        power=power,
    )


def read_ktab_csv(path) -> tuple[list[str], list[str], SMPState]:
    """Read a scenario in KTAB's SMP CSV format.

    The first row holds scenario name, description, number of actors and of dimensions; the second is
    a header ``Actor, Description, Power, <dim 1>, <sal 1>, ...``; then one row per actor. Positions
    and saliences are on KTAB's 0-100 scale.

    Args:
        path: File to read.

    Returns:
        (actor names, dimension names, state at t = 0 on the 0-100 scale).
    """
    with Path(path).open(newline="") as fh:
        rows = [[cell.strip() for cell in row] for row in csv.reader(fh) if any(cell.strip() for cell in row)]
    n_act, n_dim = int(rows[0][2]), int(rows[0][3])
    dims = [rows[1][3 + 2 * k] for k in range(n_dim)]
    body = rows[2 : 2 + n_act]
    names = [r[0] for r in body]
    cap = [float(r[2]) for r in body]
    pos = [[float(r[3 + 2 * k]) for k in range(n_dim)] for r in body]
    sal = [[float(r[4 + 2 * k]) for k in range(n_dim)] for r in body]
    return names, dims, make_state(pos, cap, sal, salience_scale=100.0)

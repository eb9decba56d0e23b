"""Fuzzing the scenario loader: mutated bundled scenarios end valid or in a clear ScenarioError.

Every case is a bundled scenario (``scenarios/*.yaml``, merged through ``extends``) mutated in
Python (dropped keys, wrong types, NaN/inf/huge/negative numbers, empty collections, unknown
actors, issues and claim ids, unicode), as text (duplicate keys, truncation, byte flips, junk)
or as a file (binary junk, empty files, directories, ``extends`` chains and cycles), plus random
``--set`` overrides. ``sim.load`` must either return a valid scenario or raise
:class:`sim.ScenarioError` with ``.file`` set and, for a problem in the content, ``.path`` set;
never another exception, never a hang. A small share of the valid results is run
(``replicates=2, weeks=2``).

The number of cases scales with ``NEGSIM_FUZZ_SCALE`` (default 1); the counts are printed by the
last test of the module.
"""

from __future__ import annotations

import collections
import copy
import functools
import math
import os
import random
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.scenario import ALL_OUTCOMES, provenance

from .conftest import ROOT, SCENARIOS
from .test_properties import check_run, time_limit

SCALE = float(os.environ.get("NEGSIM_FUZZ_SCALE", "1"))
CASE_SECONDS = 10  # one load (or one tiny run) taking longer than this is a hang
CASES: collections.Counter = collections.Counter()

FILE_LEVEL = (
    "file not found",
    "is a directory",
    "is not a text file",
    "is not UTF-8",
    "cannot be read",
    "invalid YAML",
    "the file is empty",
    "the top level must be a mapping",
)
"""Problems with the file as a whole: these need no key path."""
ERROR_KINDS = (
    "invalid YAML",
    "duplicate key",
    "unknown key",
    "unknown actor",
    "unknown issue",
    "unknown claim id",
    "missing required key",
    "out of range",
    "outside the scale",
    "circular extends",
    "deeper than",
    "no key",
    "input should be",
    "expected a number",
    "not a finite number",
    "distribution",
    "takes a list of",
)
"""Error messages counted separately in the report (a rough map of what the cases reach)."""


def _n(k: int) -> int:
    return max(1, int(k * SCALE))


def fuzz_settings(k: int, **kw):
    return settings(
        max_examples=_n(k),
        # hypothesis checks its deadline only after an example returns: time_limit() below catches hangs
        deadline=timedelta(seconds=5),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        print_blob=True,
        **kw,
    )


# ----------------------------------------------------------------------------- fixtures, helpers


@functools.cache
def _bases() -> dict[str, dict]:
    """Every bundled scenario merged through its ``extends`` chain, standalone."""
    out = {}
    for p in sorted(SCENARIOS.glob("*.yaml")):
        raw = copy.deepcopy(sim.load(p).raw)
        raw.pop("extends", None)
        out[p.stem] = raw
    return out


def _strip_sources(node):
    if isinstance(node, dict):
        return {k: _strip_sources(v) for k, v in node.items() if k != "sources"}
    if isinstance(node, list):
        return [_strip_sources(v) for v in node]
    return node


@functools.cache
def _lite_bases() -> dict[str, dict]:
    """The bases without ``sources:`` and ``seeds:`` (provenance is optional): a quarter of the parse time."""
    out = {}
    for name, raw in _bases().items():
        lite = _strip_sources(raw)
        lite["seeds"] = []
        out[name] = lite
    return out


BASE_NAMES = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A folder for the cases, with ``../seeds`` beside it as in the repo."""
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(ROOT / "seeds", root / "seeds")
    d = root / "scenarios"
    d.mkdir()
    return d


@pytest.fixture(scope="module", autouse=True)
def _cached_digests():
    """Parse the (unchanging, separately tested) claim digest once, not once per case."""
    real = provenance.load_digest
    cached = functools.lru_cache(maxsize=8)(real)
    provenance.load_digest = cached
    yield
    provenance.load_digest = real


@pytest.fixture(scope="module", autouse=True)
def _warm():
    """Import the model (Mesa) before the first timed case."""
    import sim.engine.model  # noqa: F401

    sim.load(SCENARIOS / "baseline.yaml")


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump(data) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)


def write(folder: Path, data_or_text, name: str = "case.yaml") -> Path:
    p = folder / name
    if isinstance(data_or_text, bytes):
        p.write_bytes(data_or_text)
    elif isinstance(data_or_text, str):
        p.write_text(data_or_text, encoding="utf-8")
    else:
        p.write_text(dump(data_or_text), encoding="utf-8")
    return p


def check_error(e: sim.ScenarioError, overrides: dict | None = None) -> None:
    """The contract of a ScenarioError: a file, a message, and a key path for content problems."""
    assert isinstance(e, sim.ScenarioError)
    assert e.file, f"ScenarioError without a file: {e.message!r}"
    assert isinstance(e.message, str) and e.message.strip()
    assert e.line is None or (isinstance(e.line, int) and e.line >= 1), e.line
    if e.file == "--set":
        keys = list(overrides or {})
        assert e.path or any(k in e.message or repr(k) in e.message for k in keys), e.message
        return
    if not e.problem.startswith(FILE_LEVEL):
        assert e.path is not None, f"content error without a key path: {e.message!r}"
        assert e.path in e.message  # (a key may be the empty string)


def tiny_run(loaded) -> None:
    check_run(sim.run(loaded, replicates=2, seed=1, weeks=2))  # the invariants of tests/test_properties.py
    CASES["tiny runs"] += 1


def attempt(kind: str, path: Path, overrides: dict | None = None, run_every: int = 10):
    """Load one case; assert it is valid or a well-formed ScenarioError. Returns the result or the error."""
    CASES[kind] += 1
    with time_limit(CASE_SECONDS):
        try:
            loaded = sim.load(path, overrides=overrides)
        except sim.ScenarioError as e:
            CASES["errors"] += 1
            check_error(e, overrides)
            kind = next((k for k in (*FILE_LEVEL, *ERROR_KINDS) if k in e.problem), "other")
            CASES[f"error: {kind}"] += 1
            return e
        CASES["valid"] += 1
        assert loaded.spec.actors and loaded.spec.issues
        if run_every and CASES["valid"] % run_every == 1:
            tiny_run(loaded)
        return loaded


# ----------------------------------------------------------------------------- value strategies

SPECIAL_FLOATS = [
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    -1e308,
    5e-324,
    -0.0,
    0.0,
    1.0,
    -1.0,
    0.5,
    1e-300,
    2.0**63,
    1e9,
    100.0,
    1000.0,
    -1e-9,
]
SPECIAL_INTS = [0, 1, -1, 2, 5200, 5201, 2**31, 2**63, 2**64, -(2**63), 10**30, 10**400]
NAMES = [
    "",
    " ",
    "us",
    "ukraine",
    "russia",
    "uk_europe",
    "aid_level",
    "security_guarantee",
    "territory",
    "nobody",
    "ukraïne",
    "Україна",
    "🛰️",
    "a.b",
    "--set",
    "mediated_single_text",
    "compromise",
    "normal",
    "aid_only",
    "nato_entry",
    "../seeds/article-2025-02-27.yaml",
    "null",
    "~",
    "[",
    "\t",
    "x" * 300,
]

numbers = st.one_of(
    st.sampled_from(SPECIAL_FLOATS),
    st.sampled_from(SPECIAL_INTS),
    st.floats(),
    st.integers(min_value=-(10**6), max_value=10**6),
)
texts = st.one_of(st.sampled_from(NAMES), st.text(max_size=12))
scalars = st.one_of(st.none(), st.booleans(), numbers, texts, st.binary(max_size=4))
keys = st.one_of(texts, st.sampled_from([0, 1, 0.5, -1, 2.5, 1e308, math.nan, math.inf, True, None]))
dists = st.dictionaries(
    st.sampled_from(["normal", "uniform", "triangular", "beta", "gamma", "Normal", ""]),
    st.one_of(st.lists(numbers, max_size=4), numbers, texts),
    min_size=1,
    max_size=2,
)
junk = st.recursive(
    st.one_of(scalars, dists),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=6,
)
empties = st.sampled_from([{}, [], "", None, [[]], [{}], {"": None}]).map(copy.deepcopy)  # fresh: cases mutate them


# ----------------------------------------------------------------------------- structural mutation


def _all_paths(node, prefix=()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _all_paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _all_paths(v, (*prefix, i))
    return out


def _get(node, path):
    for p in path:
        node = node[p]
    return node


OPS = ["drop", "replace", "empty", "number", "rename", "add_key", "swap", "wrap", "name"]


def mutate(data: dict, draw) -> str:
    """Apply one random mutation to ``data`` in place; returns a description (for failure reports)."""
    paths = _all_paths(data)
    path = draw(st.sampled_from(paths))
    parent = _get(data, path[:-1])
    last = path[-1]
    value = parent[last]
    op = draw(st.sampled_from(OPS))
    if op == "drop":
        del parent[last]
    elif op == "replace":
        parent[last] = draw(junk)
    elif op == "empty":
        parent[last] = draw(empties)
    elif op == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            factor = draw(st.sampled_from([-1, 0, 2, 10, 1e300, -1e300, 1e-300, math.inf, math.nan]))
            try:
                parent[last] = value * factor
            except OverflowError:
                parent[last] = math.inf
        else:
            parent[last] = draw(numbers)
    elif op == "rename" and isinstance(parent, dict):
        new = draw(keys)
        del parent[last]
        parent[new] = value
    elif op == "add_key" and isinstance(value, dict):
        value[draw(keys)] = draw(junk)
    elif op == "swap":  # a value from elsewhere in the same scenario: realistic type confusion
        small = [p for p in paths if len(_all_paths(_get(data, p))) <= 12]
        parent[last] = copy.deepcopy(_get(data, draw(st.sampled_from(small))))
    elif op == "wrap":
        parent[last] = draw(st.sampled_from([[value], {"normal": value}, {"value": value}, str(value)]))
    else:  # "name" and fall-through: a reference-like string
        parent[last] = draw(texts)
    return f"{op} {'.'.join(map(str, path))}"


@st.composite
def mutated_scenarios(draw, lite: bool = True):
    name = draw(st.sampled_from(BASE_NAMES))
    data = copy.deepcopy((_lite_bases() if lite else _bases())[name])
    steps = [mutate(data, draw) for _ in range(draw(st.integers(1, 4)))]
    return name, steps, data


@fuzz_settings(550)
@given(case=mutated_scenarios())
def test_mutated_scenarios(work, case):
    _name, _steps, data = case
    attempt("structural mutations", write(work, data))


# ----------------------------------------------------------------------------- targeted references


def _actors(data) -> list[str]:
    return list(data["actors"])


def _issues(data) -> list[str]:
    return list(data["issues"])


@st.composite
def bad_references(draw):
    """Unknown or misplaced actors and issues where the scenario cross-references them."""
    name = draw(st.sampled_from(BASE_NAMES))
    data = copy.deepcopy(_lite_bases()[name])
    actors, issues = _actors(data), _issues(data)
    ref = st.one_of(texts, st.sampled_from(actors + issues), junk)
    name_ref = st.one_of(texts, st.sampled_from(actors + issues), keys)
    for _ in range(draw(st.integers(1, 3))):
        a = draw(st.sampled_from(actors))
        act = data["actors"][a]
        where = draw(
            st.sampled_from(
                [
                    "veto",
                    "leverage",
                    "positions",
                    "red_lines",
                    "guarantees",
                    "donors",
                    "sides",
                    "aid_issue",
                    "financing_issue",
                    "mediator",
                    "challenger",
                    "defender",
                    "outcomes_issue",
                    "outcome_class",
                    "fixed",
                ]
            )
        )
        if where == "veto":
            act["veto"] = [*act.get("veto", []), draw(ref)]
        elif where == "leverage":
            act.setdefault("leverage", {})[draw(name_ref)] = draw(st.one_of(numbers, dists))
        elif where == "positions":
            pos = copy.deepcopy(next(iter(act["positions"].values())))
            act["positions"][draw(texts)] = pos
        elif where == "red_lines":
            act.setdefault("red_lines", {})[draw(st.sampled_from([*issues, "nowhere"]))] = draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "min": numbers,
                        "max": numbers,
                        "exclude": st.lists(numbers, max_size=3),
                        "breaks_at_pressure": st.one_of(numbers, dists),
                    },
                )
            )
        elif where == "guarantees":
            act.setdefault("guarantees", {})[draw(st.sampled_from([*ALL_OUTCOMES, "treaty", ""]))] = draw(
                st.fixed_dictionaries({"commitment": numbers, "credibility": numbers})
            )
        elif where == "donors":
            data["war"]["donors"][draw(name_ref)] = draw(numbers)
        elif where == "sides":
            data["war"]["sides"] = draw(st.lists(st.one_of(st.sampled_from(actors), texts), max_size=3))
        elif where in ("aid_issue", "financing_issue"):
            data["war"][where] = draw(st.one_of(st.sampled_from(issues), ref))
        elif where == "mediator":
            data.setdefault("negotiation", {}).setdefault("protocol", {})["mediator"] = draw(ref)
        elif where in ("challenger", "defender"):
            data["deterrence"][where] = draw(ref)
        elif where == "outcomes_issue":
            data["outcomes"]["issue"] = draw(st.one_of(st.sampled_from(issues), ref))
        elif where == "outcome_class":
            data["outcomes"]["classes"][draw(st.one_of(numbers, texts))] = draw(
                st.one_of(st.sampled_from(ALL_OUTCOMES), texts)
            )
        else:
            data.setdefault("negotiation", {}).setdefault("fixed", {})[draw(name_ref)] = draw(numbers)
    return data


@fuzz_settings(220)
@given(data=bad_references())
def test_unknown_references(work, data):
    attempt("reference mutations", write(work, data))


# ----------------------------------------------------------------------------- provenance


SOURCE_VALUES = st.one_of(
    st.sampled_from(
        [
            "trump_talks_final_stages",
            "no_such_claim",
            "Trump_Talks_Final_Stages",
            "",
            "trump talks",
        ]
    ),
    texts,
    st.lists(texts, max_size=3),
    st.fixed_dictionaries({"assume": st.one_of(texts, junk)}),
    st.fixed_dictionaries({"claims": st.one_of(texts, st.lists(texts, max_size=2), junk)}, optional={"note": junk}),
    junk,
)


@st.composite
def bad_sources(draw):
    """Unknown claim ids, malformed entries and keys that are not parameters, in the full scenarios."""
    name = draw(st.sampled_from(BASE_NAMES))
    data = copy.deepcopy(_bases()[name])
    blocks = [data]
    blocks += [data[s] for s in ("war", "deterrence", "negotiation") if isinstance(data.get(s), dict)]
    blocks += list(data["actors"].values()) + list(data["issues"].values())
    for _ in range(draw(st.integers(1, 3))):
        block = draw(st.sampled_from(blocks))
        if not isinstance(block.get("sources"), dict):
            block["sources"] = {}
        src = block["sources"]
        kind = draw(st.sampled_from(["value", "key", "block", "seeds"]))
        if kind == "value" and src:
            src[draw(st.sampled_from(list(src)))] = draw(SOURCE_VALUES)
        elif kind == "key":
            src[draw(st.one_of(keys, st.sampled_from(["resolve", "positions.nowhere", "capability.x", "veto"])))] = (
                draw(SOURCE_VALUES)
            )
        elif kind == "block":
            block["sources"] = draw(st.one_of(empties, junk))
        else:
            data["seeds"] = draw(
                st.one_of(
                    empties,
                    st.lists(
                        st.sampled_from(["../seeds/article-2025-02-27.yaml", "../seeds/none.yaml", "..", "", "\x00"]),
                        max_size=2,
                    ),
                    junk,
                )
            )
    return data


@fuzz_settings(80)
@given(data=bad_sources())
def test_bad_sources_and_claims(work, data):
    attempt("provenance mutations", write(work, data), run_every=0)


# ----------------------------------------------------------------------------- text-level mutations


@functools.cache
def _texts() -> dict[str, str]:
    return {n: dump(d) for n, d in _lite_bases().items()}


@st.composite
def mutated_texts(draw):
    """Duplicate keys, truncation, byte flips, junk bytes, unicode, odd YAML, in the dumped text."""
    text = _texts()[draw(st.sampled_from(BASE_NAMES))]
    lines = text.splitlines(keepends=True)
    kind = draw(
        st.sampled_from(["duplicate", "truncate", "flip", "insert", "delete_line", "indent", "unicode", "yaml"])
    )
    if kind == "duplicate":  # the same key twice in a mapping (PyYAML alone would keep the last)
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i + 1, lines[i])
        raw = "".join(lines).encode()
    elif kind == "truncate":
        raw = text.encode()[: draw(st.integers(0, len(text)))]
    elif kind == "flip":
        b = bytearray(text.encode())
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(b) - 1))
            b[i] ^= 1 << draw(st.integers(0, 7))
        raw = bytes(b)
    elif kind == "insert":
        b = text.encode()
        i = draw(st.integers(0, len(b)))
        raw = b[:i] + draw(st.binary(min_size=1, max_size=16)) + b[i:]
    elif kind == "delete_line":
        i = draw(st.integers(0, len(lines) - 1))
        del lines[i]
        raw = "".join(lines).encode()
    elif kind == "indent":
        i = draw(st.integers(0, len(lines) - 1))
        lines[i] = draw(st.sampled_from(["", " ", "  ", "\t", "    "])) + lines[i].lstrip(" ")
        raw = "".join(lines).encode()
    elif kind == "unicode":
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, draw(st.text(min_size=1, max_size=20)) + "\n")
        raw = "".join(lines).encode("utf-8", "surrogatepass")
    else:
        i = draw(st.integers(0, len(lines) - 1))
        snippet = draw(
            st.sampled_from(
                [
                    "&a [1, 2]\n",
                    "*nowhere\n",
                    "<<: *a\n",
                    "<<: 5\n",
                    "!!python/object/apply:os.system ['true']\n",
                    "!!binary 'not base64!'\n",
                    "!!set {a, b}\n",
                    "? [a, b]\n: 1\n",
                    "said: 2025-13-45\n",
                    "when: 2025-02-30\n",
                    "big: " + "9" * 5000 + "\n",
                    "hex: 0x" + "f" * 5000 + "\n",
                    "---\n",
                    "...\n",
                    "%YAML 1.1\n",
                    "%TAG ! tag:evil,2000:\n",
                    "key: 'unclosed\n",
                    'key: "\\uD800"\n',
                    "{a: 1, a: 2}\n",
                    "[" * 200 + "]" * 200 + "\n",
                    "x: !!timestamp foo\n",
                    "x: !!bool maybe\n",
                    "x: !!int foo\n",
                    "x: !!float 1.2.3\n",
                    "x: !!omap [1]\n",
                    "x: !!pairs 5\n",
                    "x: !!str [a]\n",
                    "x: \x1f\n",
                    "x: 0x" + "f" * 3000 + "\n",
                    "\ufeff\n",
                ]
            )
        )
        indent = draw(st.sampled_from(["", "  ", "    "]))
        lines.insert(i, indent + snippet)
        raw = "".join(lines).encode()
    return raw


@fuzz_settings(450)
@given(raw=mutated_texts())
def test_mutated_texts(work, raw):
    attempt("text mutations", write(work, raw), run_every=25)


# ----------------------------------------------------------------------------- whole files


@fuzz_settings(400)
@given(
    content=st.one_of(
        st.binary(max_size=200),
        st.sampled_from([b"", b" ", b"\n\n", b"#only a comment\n", b"---\n", b"...\n", b"~\n", b"[]", b"{}", b"0"]),
        st.text(max_size=200).map(lambda t: t.encode("utf-8")),
        junk.map(lambda j: yaml.safe_dump(j).encode()),
        st.binary(max_size=40).map(lambda b: b"schema_version: 1\n" + b),
        st.just(b"\xef\xbb\xbf" + b"schema_version: 1\n"),
    ),
    name=st.sampled_from(["junk.yaml", "junk.yml", "junk", "ünï.yaml", ".hidden.yaml"]),
)
def test_junk_files(work, content, name):
    attempt("junk files", write(work, content, name))


def test_directory_and_odd_paths(work):
    d = work / "a_dir.yaml"
    d.mkdir(exist_ok=True)
    for p in [d, work, work / "missing.yaml", work / "nul\x00.yaml", work / ("x" * 300 + ".yaml"), "", "."]:
        e = attempt("odd paths", Path(p))
        assert isinstance(e, sim.ScenarioError)


# ----------------------------------------------------------------------------- extends


@fuzz_settings(50)
@given(
    depth=st.integers(1, 24),
    cycle=st.booleans(),
    parent=st.sampled_from(BASE_NAMES),
    bad_link=st.one_of(st.none(), st.integers(0, 23)),
    bad_value=st.one_of(junk, texts, st.sampled_from(["", "/", ".", "..", "\x00", "a" * 300, "case_0.yaml"])),
)
def test_extends_chains(work, depth, cycle, parent, bad_link, bad_value):
    """Chains of ``extends`` of any depth, cycles of any length, junk in one link."""
    chain = work / "chain"
    shutil.rmtree(chain, ignore_errors=True)
    chain.mkdir()
    write(chain, _lite_bases()[parent], "root.yaml")
    for k in range(depth):
        target = f"c{k + 1}.yaml" if k + 1 < depth else ("c0.yaml" if cycle else "root.yaml")
        child = {"schema_version": 1, "extends": target, "settings": {"weeks": k + 1}}
        if bad_link == k:
            child["extends"] = bad_value
        write(chain, child, f"c{k}.yaml")
    r = attempt("extends chains", chain / "c0.yaml")
    if bad_link is None:
        if depth > 16:  # at most 16 links (docs/scenarios.md)
            assert isinstance(r, sim.ScenarioError)
            assert "deeper than 16" in r.message or (cycle and "circular" in r.message)
        elif cycle:
            assert isinstance(r, sim.ScenarioError) and "circular" in r.message
        else:
            assert not isinstance(r, sim.ScenarioError), r


def test_extends_of_a_child_with_errors_names_the_right_file(work):
    """A mutated parent and a clean child: the error points into the parent."""
    fam = work / "family"
    fam.mkdir(exist_ok=True)
    base = copy.deepcopy(_lite_bases()["baseline"])
    base["actors"]["us"]["resolve"] = math.nan
    write(fam, base, "parent.yaml")
    write(fam, {"schema_version": 1, "extends": "parent.yaml", "name": "child"}, "child.yaml")
    e = attempt("extends chains", fam / "child.yaml")
    assert isinstance(e, sim.ScenarioError)
    assert e.file == str(fam / "parent.yaml") and e.path == "actors.us.resolve"


# ----------------------------------------------------------------------------- --set overrides

SET_VALUES = st.one_of(
    st.sampled_from(
        [
            "0.7",
            ".nan",
            ".inf",
            "-1",
            "1e400",
            "[1, 2",
            "{uniform: [0, 2]}",
            "{normal: [0.5, -1]}",
            "{beta: [0, 1]}",
            "!!python/object/apply:os.system ['true']",
            "2025-13-45",
            "9" * 5000,
            "",
            "null",
            "~",
            "us",
            "[ukraine, ukraine]",
            "{}",
            "[]",
        ]
    ),
    texts,
    junk,
)


@st.composite
def set_paths(draw, base: dict):
    paths = [".".join(map(str, p)) for p in _all_paths(base) if all(isinstance(x, str | int | float) for x in p)]
    path = draw(st.sampled_from(paths))
    kind = draw(st.sampled_from(["as_is", "as_is", "append", "replace_part", "junk", "dots"]))
    parts = path.split(".")
    if kind == "append":
        parts.append(draw(st.one_of(texts, st.sampled_from(["inf", "nan", "-inf", "1e400", "0", "-0", "1.0"]))))
    elif kind == "replace_part":
        parts[draw(st.integers(0, len(parts) - 1))] = draw(
            st.one_of(texts, st.sampled_from(["inf", "nan", "1e400", "0", "1e308", "-0.0"]))
        )
    elif kind == "junk":
        return draw(st.text(max_size=30))
    elif kind == "dots":
        return draw(st.sampled_from([".", "..", "a..b", ".actors", "actors.", "actors.us.", " "]))
    return ".".join(parts)


@functools.cache
def _set_base_file(folder: Path) -> Path:
    return write(folder, _lite_bases()["baseline"], "set_base.yaml")


@fuzz_settings(320)
@given(data=st.data())
def test_set_overrides(work, data):
    base = _lite_bases()["baseline"]
    overrides = data.draw(st.dictionaries(set_paths(base), SET_VALUES, min_size=1, max_size=3))
    # mostly the (fast) standalone baseline; now and then a bundled child with extends and sources
    target = data.draw(st.sampled_from([_set_base_file(work)] * 9 + [SCENARIOS / "aid_frozen_assets.yaml"]))
    attempt("--set overrides", target, overrides=overrides)


# ----------------------------------------------------------------------------- regressions


def test_alias_bomb_does_not_hang(work):
    """A 'billion laughs' document: aliases expanding exponentially must not be walked exponentially."""
    lines = ["schema_version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for k in range(1, 12):
        prev = f"*a{k - 1}"
        lines.append(f"a{k}: &a{k} [{', '.join([prev] * 10)}]")
    e = attempt("regressions", write(work, "\n".join(lines) + "\n", "bomb.yaml"))
    assert isinstance(e, sim.ScenarioError)


@pytest.mark.parametrize("depth", [50, 400, 5000])
def test_deep_nesting(work, depth):
    text = "schema_version: 1\ndescription: " + "[" * depth + "]" * depth + "\n"
    e = attempt("regressions", write(work, text, "deep.yaml"))
    assert isinstance(e, sim.ScenarioError)
    text = "schema_version: 1\ndescription: " + "{a: " * depth + "1" + "}" * depth + "\n"
    e = attempt("regressions", write(work, text, "deep.yaml"))
    assert isinstance(e, sim.ScenarioError)


def test_recursive_alias(work):
    text = "schema_version: 1\ndescription: &d [*d]\n"
    assert isinstance(attempt("regressions", write(work, text, "rec.yaml")), sim.ScenarioError)


# Each test below failed (an uncaught exception or a hang) before the fix named in its docstring.


def _yaml_error(work: Path, text: str) -> sim.ScenarioError:
    e = attempt("regressions", write(work, text, "regression.yaml"))
    assert isinstance(e, sim.ScenarioError), e
    return e


def test_regression_missing_schema_version_names_its_key(work):
    """scenario._read_chain: the error had no key path."""
    data = copy.deepcopy(_lite_bases()["baseline"])
    del data["schema_version"]
    assert _yaml_error(work, dump(data)).path == "schema_version"


@pytest.mark.parametrize(
    ("snippet", "needle"),
    [
        ("said: 2025-13-45", "month must be in 1..12"),  # ValueError from PyYAML's timestamp constructor
        ("said: 2025-02-30", "day is out of range"),
        ("x: !!bool maybe", "KeyError"),
        ("x: !!timestamp foo", "AttributeError"),
        ("x: !!int foo", "invalid literal"),
        ("x: " + "9" * 5000, "4300 digits"),  # beyond Python's int-from-text limit
        ("x: " + "9" * 400, "integer too large"),  # OverflowError in params._finite
        ("x: 0x" + "f" * 3000, "integer too large"),  # repr() of it raised in the error message
    ],
)
def test_regression_values_pyyaml_cannot_build(work, snippet, needle):
    """yamlio._Loader.construct_object / construct_yaml_int: ValueError, KeyError, ... escaped ``sim.load``."""
    e = _yaml_error(work, f"schema_version: 1\ndescription: d\n{snippet}\n")
    assert "invalid YAML" in e.message and needle in e.message and e.line == 3


def test_regression_huge_numbers_where_parameters_go(work):
    """params._finite: ``math.isfinite(10**400)`` raised OverflowError (the Python API still accepts such ints)."""
    base = _set_base_file(work)
    for key in ("actors.us.resolve", "settings.weeks", "issues.aid_level.status_quo"):
        e = attempt("regressions", base, overrides={key: 10**400})
        assert isinstance(e, sim.ScenarioError) and e.path == key, e
    e = attempt("regressions", base, overrides={"actors.us.resolve": "{normal: [" + "9" * 400 + ", 1]}"})
    assert isinstance(e, sim.ScenarioError) and e.path == "actors.us.resolve"


def test_regression_control_character(work):
    """yamlio.load_yaml: PyYAML's ReaderError came from the loader's constructor, outside the try."""
    e = _yaml_error(work, "schema_version: 1\ndescription: d\nx: \x1f\n")
    assert "unacceptable character #x001f" in e.message and e.line == 3


def test_regression_alias_bomb_is_fast(work):
    """yamlio._index walked every alias expansion: 10 aliases x 12 levels = 10**12 visits (a hang)."""
    lines = ["schema_version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 10)}]" for k in range(1, 12)]
    with time_limit(5):
        _yaml_error(work, "\n".join(lines) + "\n")


def test_regression_odd_extends_and_seeds_paths(work):
    """scenario._read_chain and provenance.check: a NUL byte or a too-long name raised ValueError / OSError."""
    for bad in ("\0", "x" * 300, "/" + "x/" * 3000):
        e = _yaml_error(work, dump({"schema_version": 1, "extends": bad}))
        assert e.path == "extends" and "not a usable path" in e.message
    data = copy.deepcopy(_bases()["baseline"])
    data["seeds"] = ["\0"]
    assert _yaml_error(work, dump(data)).path == "seeds.0"
    e = attempt("regressions", work / ("x" * 300 + ".yaml"))  # yamlio.read_text: OSError (name too long)
    assert isinstance(e, sim.ScenarioError) and "cannot be read" in e.message


@pytest.mark.parametrize("key", ["INF.weeks", "actors.-inf.resolve", "issues.aid_level.points.nan.x", "1e999.x"])
def test_regression_set_path_with_infinite_number(work, key):
    """scenario._set_path: ``int(float('inf'))`` raised OverflowError for a path part such as 'inf'."""
    e = attempt("regressions", _set_base_file(work), overrides={key: "1"})
    assert isinstance(e, sim.ScenarioError) and e.file == "--set" and "no key" in e.message


@pytest.mark.parametrize("value", ["2025-13-45", "0x" + "f" * 3000, "!!bool maybe"])
def test_regression_set_values_pyyaml_cannot_build(work, value):
    """yamlio.parse_scalar: ``yaml.safe_load`` raised ValueError for a bad date; now such text stays a string."""
    e = attempt("regressions", _set_base_file(work), overrides={"settings.seed": value})
    assert isinstance(e, sim.ScenarioError) and e.path == "settings.seed"


@pytest.mark.parametrize(
    "points",
    [
        {0: "a", 1: "b", math.inf: "c"},
        {-math.inf: "a", 0: "b", 1: "c"},
        {0: "a", math.nan: "b", 1: "c"},
        {-1e308: "a", 1e308: "b"},  # finite ends, but hi - lo overflows
    ],
)
def test_regression_scale_points_must_be_finite(work, points):
    """scenario.Issue: infinite or NaN points (or an infinite span) validated, then made NaN positions."""
    data = copy.deepcopy(_lite_bases()["baseline"])
    data["issues"]["minerals_deal"]["points"] = points
    data["issues"]["minerals_deal"]["status_quo"] = 0
    e = _yaml_error(work, dump(data))
    assert e.path == "issues.minerals_deal.points"


def test_random_seeded_smoke_of_every_base(work):
    """Every base (lite and full) is valid and runs: the fuzzers start from good scenarios."""
    rnd = random.Random(0)
    for name in BASE_NAMES:
        for base in (_lite_bases()[name], _bases()[name]):
            r = attempt("regressions", write(work, base), run_every=0)
            assert not isinstance(r, sim.ScenarioError), r
            if rnd.random() < 0.3:
                tiny_run(r)


def test_report_case_counts(capsys):
    """Prints how many cases the module tried (shown with -rA, and always on the terminal)."""
    total = sum(v for k, v in CASES.items() if k not in ("valid", "errors", "tiny runs") and ":" not in k)
    line = (
        f"fuzz cases: {total} ({CASES['valid']} valid, {CASES['errors']} ScenarioError, "
        f"{CASES['tiny runs']} tiny runs); " + ", ".join(f"{k}: {v}" for k, v in sorted(CASES.items()))
    )
    print(line)
    with capsys.disabled():
        print("\n" + line)

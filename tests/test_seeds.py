"""Checks for the article digests in seeds/ (claims that scenario parameters cite by id)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from .conftest import SHARED as SHARED_ROOT

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "article-2025-02-27.yaml"

ACTORS = {"ukraine", "us", "russia", "uk_europe", "experts"}
ISSUES = {
    "security_guarantee",
    "aid_level",
    "aid_financing",
    "territory",
    "minerals_deal",
    "ceasefire",
    "deterrence",
}
DIRECTIONS = {
    "for",
    "against",
    "requires",
    "threshold",
    "fallback",
    "assesses",
    "predicts",
    "value",
}
KINDS = {"position", "expert_judgement", "reported_fact", "background"}
QUOTE_KINDS = {"direct", "reported", "mixed"}
CLAIM_FIELDS = ("id", "kind", "speaker", "role", "said", "quote", "quote_kind", "paraphrase")
STANCE_KEYS = {"actor", "subject", "issue", "direction", "threshold", "value", "note"}
MAX_QUOTE_WORDS = 25
ID_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")

# Ids that scenarios may already cite: removing or renaming one must be a deliberate change.
REQUIRED_IDS = {
    "zelenskyy_nato_path",
    "zelenskyy_step_down_for_nato",
    "zelenskyy_no_guarantees_no_ceasefire",
    "zelenskyy_raise_us_aid",
    "trump_rejects_nato_entry",
    "trump_talks_final_stages",
    "trump_peacekeeping_after_deal",
    "trump_believes_putin_will_uphold_deal",
    "trump_minerals_recoup_costs",
    "trump_minerals_access_rebuild",
    "trump_minerals_get_us_into_country",
    "cfr_us_aid_175bn",
    "starmer_uk_troops_offer",
    "starmer_us_backstop",
    "nato_article5",
    "experts_nato_reduces_resumption",
    "rough_west_backing_bigger_than_russia",
    "rough_putin_think_twice",
    "rough_skin_in_the_game",
    "rough_fallback_western_troops",
    "rough_last_resort_aid",
    "rough_wont_negotiate_with_himself",
    "hardie_another_conflict_likely",
    "hardie_putin_vassal_state",
    "hardie_nato_best_option",
    "hardie_us_clarity_contribution",
    "hardie_continued_military_aid",
    "hardie_frozen_russian_assets",
}

_QUOTE_MAP = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def normalise(text: str) -> str:
    """Straighten curly quotes and collapse runs of whitespace to one space."""
    return " ".join(text.translate(_QUOTE_MAP).split())


@pytest.fixture(scope="module")
def seed() -> dict:
    with SEED.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def claims(seed: dict) -> list[dict]:
    return seed["claims"]


def test_metadata(seed: dict) -> None:
    assert seed["schema_version"] == 1
    art = seed["article"]
    assert art["date"] in (dt.date(2025, 2, 27), "2025-02-27")
    assert art["outlet"] == "Fox News Digital"
    assert art["wire_service"] == "The Associated Press"
    assert art["source_file"] == "../shared/seeds/article-2025-02-27.txt"
    assert isinstance(art["topic"], str) and art["topic"].strip()


def test_claims_present(claims: list[dict]) -> None:
    assert isinstance(claims, list) and claims


def test_ids_unique_snake_case(claims: list[dict]) -> None:
    ids = [c["id"] for c in claims]
    assert len(ids) == len(set(ids)), "duplicate claim ids"
    bad = [i for i in ids if not isinstance(i, str) or not ID_RE.match(i)]
    assert not bad, f"ids not snake_case: {bad}"


def test_required_ids_kept(claims: list[dict]) -> None:
    missing = REQUIRED_IDS - {c["id"] for c in claims}
    assert not missing, f"claims missing: {sorted(missing)}"


def test_required_fields(claims: list[dict]) -> None:
    for c in claims:
        for field in CLAIM_FIELDS:
            value = c.get(field)
            assert isinstance(value, str) and value.strip(), f"{c.get('id')}: bad {field!r}"
        assert c["kind"] in KINDS, f"{c['id']}: kind {c['kind']!r}"
        assert c["quote_kind"] in QUOTE_KINDS, f"{c['id']}: quote_kind {c['quote_kind']!r}"
        assert isinstance(c.get("stance"), dict), f"{c['id']}: stance must be a mapping"


def test_stance_vocabulary(claims: list[dict]) -> None:
    for c in claims:
        st = c["stance"]
        assert set(st) <= STANCE_KEYS, f"{c['id']}: unknown stance keys {set(st) - STANCE_KEYS}"
        assert st.get("actor") in ACTORS, f"{c['id']}: actor {st.get('actor')!r}"
        assert st.get("issue") in ISSUES, f"{c['id']}: issue {st.get('issue')!r}"
        assert st.get("direction") in DIRECTIONS, f"{c['id']}: direction {st.get('direction')!r}"
        if "subject" in st:
            assert st["subject"] in ACTORS - {"experts"}, f"{c['id']}: subject {st['subject']!r}"
        for key in ("threshold", "value", "note"):
            if key in st:
                assert isinstance(st[key], str) and st[key].strip(), f"{c['id']}: empty {key}"


def test_expert_judgements_coded_as_experts(claims: list[dict]) -> None:
    for c in claims:
        if c["kind"] == "expert_judgement":
            assert c["stance"]["actor"] == "experts", c["id"]


def test_quotes_short(claims: list[dict]) -> None:
    for c in claims:
        n = len(normalise(c["quote"]).split())
        assert n <= MAX_QUOTE_WORDS, f"{c['id']}: quote has {n} words"


def test_quotes_verbatim(seed: dict, claims: list[dict]) -> None:
    article = SHARED_ROOT / Path(seed["article"]["source_file"]).relative_to("../shared")
    if not article.is_file():
        pytest.skip(f"shared article not available: {article}")
    text = normalise(article.read_text(encoding="utf-8"))
    missing = [c["id"] for c in claims if normalise(c["quote"]) not in text]
    assert not missing, f"quotes not found verbatim in the article: {missing}"

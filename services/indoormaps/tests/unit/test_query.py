from __future__ import annotations

import pytest
from indoormaps.errors import InvalidParameter
from indoormaps.query import BBox, FeatureQuery, QueryLimits, parse_limit


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("abc", "integer"),
        ("-1", r"\[1, 1000\]"),
        ("0", r"\[1, 1000\]"),
        ("100000", r"\[1, 1000\]"),
        ("1.5", "integer"),
    ],
)
def test_bad_limit_is_rejected_with_the_reason(raw: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message) as info:
        parse_limit(raw)
    assert info.value.param == "limit"


def test_limit_defaults_and_bounds() -> None:
    assert parse_limit(None) == 100
    assert parse_limit(" 25 ") == 25
    assert parse_limit("1000") == 1000


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1,2,3", "4 comma-separated"),
        ("a,b,c,d", "number"),
        ("30.4,60.0,30.3,60.1", "smaller"),
        ("30,95,31,96", "latitudes"),
        ("nan,60,30.4,60.1", "finite"),
        ("-10,-10,10,10", "limit is 20000 m"),
    ],
)
def test_bad_bbox_is_rejected(raw: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        BBox.parse(raw, QueryLimits())


def test_campus_sized_bbox_is_accepted() -> None:
    assert BBox.parse("30.36,59.99,30.39,60.02", QueryLimits()) == BBox(30.36, 59.99, 30.39, 60.02)


def test_query_parameters_are_validated() -> None:
    query = FeatureQuery.from_params({"q": "  clasroom 104 ", "level": "2", "category": "restroom.female"})
    assert (query.q, query.level, query.category) == ("clasroom 104", 2, "restroom.female")
    with pytest.raises(InvalidParameter, match="level"):
        FeatureQuery.from_params({"level": "two"})
    with pytest.raises(InvalidParameter, match="level"):
        FeatureQuery.from_params({"level": "9999"})
    with pytest.raises(InvalidParameter, match="category"):
        FeatureQuery.from_params({"category": "Robert'); DROP TABLE"})
    with pytest.raises(InvalidParameter, match="control"):
        FeatureQuery.from_params({"q": "a\x00b"})
    with pytest.raises(InvalidParameter, match="100 characters"):
        FeatureQuery.from_params({"q": "x" * 101})


def test_fingerprint_changes_with_any_filter() -> None:
    base = FeatureQuery(q="a", level=1)
    assert base.fingerprint("rooms") == FeatureQuery(q="a", level=1).fingerprint("rooms")
    assert base.fingerprint("rooms") != FeatureQuery(q="a", level=2).fingerprint("rooms")
    assert base.fingerprint("rooms") != base.fingerprint("openings")


@pytest.mark.parametrize("text", ["'; DROP TABLE indoor_unit; --", "1=1", "a*", "<script>", "x|y", "50%", "a\\b"])
def test_search_text_refuses_what_no_name_contains(text: str) -> None:
    with pytest.raises(InvalidParameter, match=r"^q: only letters"):
        FeatureQuery.from_params({"q": text})


@pytest.mark.parametrize("text", ["Classroom 404a", "Coffee “Leto”", "кафе «Лето»", "O'Brien Hall", "Room 1-2/3 (B)"])
def test_search_text_accepts_names(text: str) -> None:
    assert FeatureQuery.from_params({"q": text}).q == text

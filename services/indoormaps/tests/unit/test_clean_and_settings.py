from __future__ import annotations

import pytest
from indoormaps import navmodel
from indoormaps.django_settings import build_django_settings, database_settings
from indoormaps.errors import InvalidParameter
from indoormaps.imdf import clean


def test_typo_building_id_is_read() -> None:
    assert clean.building_id({"builing_id": "b1"}) == "b1"
    assert clean.building_id({"building_id": "b2", "builing_id": "b1"}) == "b2"
    assert clean.building_id({"builing_id": None}) is None


def test_indoor_automobile_openings_become_pedestrian() -> None:
    assert clean.opening_category("automobile", level_outdoor=False) == "pedestrian"
    assert clean.opening_category("automobile", level_outdoor=True) == "automobile"
    assert clean.opening_category(None, level_outdoor=False) == "pedestrian"
    assert clean.opening_category("emergencyexit", level_outdoor=False) == "emergencyexit"


def test_localized_names_prefer_the_manifest_language() -> None:
    assert clean.localized({"ru": "Кабинет 104", "en": "Classroom 104"}, "ru") == (
        "Кабинет 104",
        {"ru": "Кабинет 104", "en": "Classroom 104"},
    )
    assert clean.localized({"ru": "Лето"}, "en")[0] == "Лето"
    assert clean.localized(None, "en") == (None, {})
    assert clean.search_text([{"ru": "A", "en": "B"}, {"en": "B"}, {"x": "C"}]) == "A | B | C"


def test_ordinals_are_shifted_so_the_entrance_floor_is_zero() -> None:
    levels = [("l1", "b1", 1), ("l2", "b1", 2), ("m0", "b2", 0), ("m1", "b2", 1), ("x5", "b3", 5)]
    offsets = clean.ordinal_offsets(levels, entrance_level_ids={"l1", "m0"})
    assert offsets == {"b1": -1, "b2": 0}  # b3 has no known entrance: unchanged


def test_epsilon_is_small_positive_and_varies() -> None:
    values = {navmodel.epsilon(i) for i in range(1, 2000)}
    assert len(values) == 1999
    assert all(0 <= v < 1.1e-3 for v in values)


def test_database_url_is_translated_without_libpq_options() -> None:
    db = database_settings("postgresql://u:p%40ss@db.local:6432/maps?sslmode=require", connect_timeout=3)
    assert db["ENGINE"] == "django.contrib.gis.db.backends.postgis"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "maps", "u", "p@ss", "db.local", "6432",
    )  # fmt: skip
    assert db["OPTIONS"] == {"connect_timeout": 3, "sslmode": "require"}
    assert db["CONN_MAX_AGE"] == 0
    with pytest.raises(InvalidParameter, match="PgBouncer"):
        database_settings("postgresql://u@h/db?options=-c%20statement_timeout%3D5000")
    with pytest.raises(InvalidParameter, match="scheme"):
        database_settings("mysql://u@h/db")


def test_settings_are_built_from_arguments_only() -> None:
    settings = build_django_settings("postgresql://u:p@h:5432/db", debug=False, secret_key="k" * 50)
    assert settings["DEBUG"] is False
    assert "indoormaps.apps.IndoorMapsConfig" in settings["INSTALLED_APPS"]
    assert "django.contrib.gis" in settings["INSTALLED_APPS"]

"""Upstreams file validation: precise ConfigErrors that never echo secrets."""

from __future__ import annotations

import pytest
from mapmap.config import Settings, load_endpoints, parse_endpoints
from mapmap.errors import ConfigError

GOOD = "http://tiles.example.org/wmts?SERVICE=WMTS&REQUEST=GetCapabilities"


def test_yaml_endpoints_with_defaults() -> None:
    endpoints = parse_endpoints(
        f"endpoints:\n  - name: lvm\n    capabilities_url: '{GOOD}'\n    layer: topo\n"
        "  - name: xyz\n    xyz_template: 'https://a.example.org:8443/{z}/{x}/{y}.png'\n"
    )
    assert [e.name for e in endpoints] == ["lvm", "xyz"]
    assert endpoints[0].hosts == ("tiles.example.org",)
    assert endpoints[1].hosts == ("a.example.org:8443",)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("endpoints: []", "no endpoints"),
        ("[1, 2]", "mapping"),
        ("endpoints: [{name: '../x', xyz_template: 'http://h/{z}/{x}/{y}'}]", "name"),
        (f"endpoints: [{{name: a, capabilities_url: '{GOOD}'}}]", "layer"),
        (
            f"endpoints: [{{name: a, capabilities_url: '{GOOD}', layer: l, xyz_template: 'http://h/{{z}}'}}]",
            "exactly one",
        ),
        ("endpoints: [{name: a, xyz_template: 'file:///etc/passwd'}]", "http"),
        ("endpoints: [{name: a, xyz_template: 'http://h/{z}'}, {name: a, xyz_template: 'http://h/{z}'}]", "duplicate"),
        ("endpoints: [{name: a, xyz_template: 'http://h/{z}', surprise: 1}]", "surprise"),
        ("endpoints: [{", "YAML"),
    ],
)
def test_bad_upstreams_files_raise_precise_errors(document: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_endpoints(document)


def test_errors_do_not_echo_tokens() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_endpoints("endpoints: [{name: a, xyz_template: 'http://h/{z}', token: ['sekrit-value'], max_zoom: 99}]")
    assert "sekrit-value" not in str(caught.value)


def test_defaults_and_missing_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings()
    assert settings.PORT == 8000
    assert settings.CACHE_SIZE == 10_000
    assert settings.CACHE_TTL == 7200
    assert settings.MAX_REQUESTS == 0  # recycling workers would empty the memory cache
    assert [e.name for e in load_endpoints(settings)] == ["demo", "demo-lks92"]
    with pytest.raises(ConfigError, match="cannot be read"):
        load_endpoints(Settings(UPSTREAMS_FILE=tmp_path / "missing.yml"))


def test_an_unusable_cache_path_is_a_clear_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mapmap.app import build_service
    from mapmap.errors import ConfigError

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings = Settings(CACHE_BACKEND="mbtiles", CACHE_PATH=blocker / "tiles")
    with pytest.raises(ConfigError, match="CACHE_PATH"):
        build_service(settings)

"""Capabilities parsing over every real document in shared/data/wmts/capabilities, plus hostile XML."""

from __future__ import annotations

from pathlib import Path

import pytest
from mapmap.capabilities import axis_order, meters_per_unit, normalize_crs, parse_capabilities
from mapmap.errors import CapabilitiesError, InvalidTileRequest, NotFoundError, UnsafeURLError
from mapmap.ssrf import check_url_allowed
from mapmap.tms import TileMatrixLimits

DEG = 2 * 3.141592653589793 * 6378137 / 360


def _load(folder: Path, name: str, **kwargs):  # type: ignore[no-untyped-def]
    return parse_capabilities((folder / name).read_bytes(), **kwargs)


def test_every_file_in_the_data_folder_is_covered(capabilities_dir: Path) -> None:
    names = {p.name for p in capabilities_dir.glob("*.xml")}
    assert names == {
        "eosdis-wmts-cap.xml",
        "erdas-iws-wmts-cap.xml",
        "geoserver21-wmts-cap.xml",
        "sfs-wmts-cap-world.xml",
    }
    for name in names:
        caps = _load(capabilities_dir, name)
        assert caps.layers
        for layer in caps.layers.values():
            for tms_id in layer.tile_matrix_sets:
                tms = caps.tile_matrix_set(layer, tms_id)
                assert [m.scale_denominator for m in tms.matrices] == sorted(
                    (m.scale_denominator for m in tms.matrices), reverse=True
                )


def test_eosdis(capabilities_dir: Path) -> None:
    caps = _load(capabilities_dir, "eosdis-wmts-cap.xml")
    assert caps.title == "NASA Global Image Browse Services for EOSDIS"
    assert len(caps.layers) == 55
    assert caps.kvp_get_tile_url == "http://map1b.vis.earthdata.nasa.gov/wmts-geo/wmts.cgi?"
    layer = caps.layer("AIRS_CO_Total_Column_Day")
    assert layer.formats == ("image/png",)
    assert layer.default_style == "default"
    assert layer.wgs84_bbox == (-180, -90, 180, 90)
    tms = caps.tile_matrix_set(layer, "EPSG4326_2km")
    assert tms.crs == "OGC:CRS84"
    assert len(tms.matrices) == 6
    top = tms.matrix(0)
    assert top.top_left == (-180.0, 90.0)
    assert top.scale_denominator == pytest.approx(223382916.91738197)
    assert top.meters_per_unit == pytest.approx(DEG)
    assert top.cell_size == pytest.approx(223382916.91738197 * 0.00028 / DEG)
    url = caps.tile_url(
        layer, style="default", fmt="image/png", tile_matrix_set="EPSG4326_2km", tile_matrix="2", row=1, col=3
    )
    assert url.startswith("http://map1b.vis.earthdata.nasa.gov/wmts-geo/wmts.cgi?SERVICE=WMTS&REQUEST=GetTile")
    assert "LAYER=AIRS_CO_Total_Column_Day" in url
    assert "TILEMATRIX=2&TILEROW=1&TILECOL=3" in url
    with pytest.raises(InvalidTileRequest, match="format"):
        caps.tile_url(
            layer, style="default", fmt="image/gif", tile_matrix_set="EPSG4326_2km", tile_matrix="2", row=1, col=3
        )


def test_erdas_limits_and_national_grid(capabilities_dir: Path) -> None:
    caps = _load(capabilities_dir, "erdas-iws-wmts-cap.xml")
    assert caps.title == "Image Web Server WMTS sample"
    assert len(caps.layers) == 4
    layer = caps.layer("franklin.ecw")
    assert layer.formats == ("image/png", "image/jpeg")
    assert set(layer.tile_matrix_sets) == {
        "ogc:1.0:globalcrs84pixel", "ogc:1.0:globalcrs84scale",
        "ogc:1.0:googlecrs84quad", "ogc:1.0:googlemapscompatible",
    }  # fmt: skip
    pixel = caps.tile_matrix_set(layer, "ogc:1.0:globalcrs84pixel")
    z, _ = pixel.matrix_by_id("6")
    assert pixel.limits_for(z) == TileMatrixLimits(min_row=5, max_row=5, min_col=11, max_col=11)
    assert pixel.validate(z, 11, 5).x == 11
    bng = caps.tile_matrix_sets["epsg:27700:images_edinburgh_edinburgh.ecw"]
    assert bng.crs == "EPSG:27700"
    assert bng.matrix(0).top_left == pytest.approx((308750.0, 680000.0))
    assert bng.matrix(0).cell_size == pytest.approx(128.0)


def test_geoserver_northing_first_alias_and_negative_limits(capabilities_dir: Path) -> None:
    caps = _load(capabilities_dir, "geoserver21-wmts-cap.xml")
    assert caps.title == "Web Map Tile Service - GeoWebCache"
    assert len(caps.layers) == 58
    assert caps.tile_matrix_sets["EPSG:900913"].crs == "EPSG:3857"
    geographic = caps.tile_matrix_sets["EPSG:4326"]
    # written "90.0 -180.0" (EPSG:4326 is latitude first): read as easting, northing
    assert geographic.matrix(0).top_left == (-180.0, 90.0)
    assert geographic.matrix(0).cell_size == pytest.approx(0.703125)
    layer = caps.layer("geonode:LMEs_64")
    assert [s.identifier for s in layer.styles] == ["LMEs_64", "LMEs_64_69f4b2c7"]
    assert layer.default_style == "LMEs_64"
    limited = caps.tile_matrix_set(layer, "EPSG:4326")
    # the document says MinTileCol -1; nothing lies left of column 0
    assert limited.limits_for(0) == TileMatrixLimits(min_row=1, max_row=1, min_col=0, max_col=1)
    with pytest.raises(NotFoundError):
        caps.tile_matrix_set(layer, "GlobalCRS84Pixel")
    with pytest.raises(NotFoundError):
        caps.layer("geonode:nope")


def test_sfs_rest_templates_and_axis_override(capabilities_dir: Path) -> None:
    caps = _load(capabilities_dir, "sfs-wmts-cap-world.xml")
    assert set(caps.layers) == {"World", "Ocean"}
    assert caps.kvp_get_tile_url == "http://server.caris.com/spatialfusionserver/services/ows/wmts/World"
    layer = caps.layer("Ocean")
    url = caps.tile_url(
        layer, style="default", fmt="image/png", tile_matrix_set="GoogleMapsCompatible", tile_matrix="3", row=2, col=5
    )
    assert url == (
        "http://server.caris.com/spatialfusionserver/services/ows/wmts/World/Ocean/default/GoogleMapsCompatible/3/2/5.png"
    )
    # This server writes CRS84 corners latitude first; as declared we read (90, -180) ...
    assert caps.tile_matrix_sets["GlobalCRS84Scale"].matrix(0).top_left == (90.0, -180.0)
    # ... and the operator's override fixes it.
    fixed = _load(capabilities_dir, "sfs-wmts-cap-world.xml", axis_overrides={"OGC:CRS84": "ne"})
    assert fixed.tile_matrix_sets["GlobalCRS84Scale"].matrix(0).top_left == (-180.0, 90.0)
    caps.check_urls(["server.caris.com"])
    with pytest.raises(UnsafeURLError, match=r"server\.caris\.com"):
        caps.check_urls(["tiles.example.org"])


@pytest.mark.parametrize(
    ("crs", "order"),
    [("EPSG:3059", "ne"), ("EPSG:3346", "ne"), ("EPSG:2180", "ne"), ("urn:ogc:def:crs:EPSG::4326", "ne"),
     ("EPSG:3857", "en"), ("urn:ogc:def:crs:OGC:1.3:CRS84", "en"),
     ("http://www.opengis.net/def/crs/EPSG/0/3059", "ne")],
)  # fmt: skip
def test_axis_order_comes_from_proj(crs: str, order: str) -> None:
    assert axis_order(crs) == order


def test_crs_names_and_units() -> None:
    assert normalize_crs("urn:ogc:def:crs:EPSG:6.18:3:3857") == "EPSG:3857"
    assert normalize_crs("urn:ogc:def:crs:EPSG::900913") == "EPSG:3857"
    assert meters_per_unit("EPSG:3059") == 1.0
    assert meters_per_unit("EPSG:4326") == pytest.approx(111319.49079327357)
    with pytest.raises(CapabilitiesError):
        normalize_crs("not a crs at all")


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Capabilities [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Capabilities xmlns="http://www.opengis.net/wmts/1.0" xmlns:ows="http://www.opengis.net/ows/1.1">
<ows:ServiceIdentification><ows:Title>&xxe;</ows:Title></ows:ServiceIdentification><Contents/></Capabilities>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<Capabilities xmlns="http://www.opengis.net/wmts/1.0"><Contents>&lol4;</Contents></Capabilities>"""


@pytest.mark.parametrize("document", [XXE, LAUGHS])
def test_entity_documents_are_refused(document: bytes) -> None:
    with pytest.raises(CapabilitiesError, match="DOCTYPE"):
        parse_capabilities(document)


def test_utf16_xxe_is_not_resolved_by_the_parser() -> None:
    # The byte scan cannot see UTF-16 markup; the parser itself must still not read the file.
    document = XXE.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16")
    try:
        caps = parse_capabilities(document)
    except CapabilitiesError:
        return
    assert "root:" not in (caps.title or "")


@pytest.mark.parametrize(
    "document",
    [b"", b"<not-xml", b"<wms:Capabilities xmlns:wms='http://www.opengis.net/wms'/>",
     b"<Capabilities xmlns='http://www.opengis.net/wmts/1.0'/>"],
)  # fmt: skip
def test_malformed_documents_raise_typed_errors(document: bytes) -> None:
    with pytest.raises(CapabilitiesError):
        parse_capabilities(document)


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data", "file:///etc/passwd", "http://user:pw@tiles.example.org/x",
     "gopher://tiles.example.org/", "http://tiles.example.org.evil.com/", "http://tiles.example.org:99999/"],
)  # fmt: skip
def test_ssrf_allow_list_refuses(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        check_url_allowed(url, ["tiles.example.org", "127.0.0.1:8080"])


def test_ssrf_allow_list_admits_configured_hosts() -> None:
    assert check_url_allowed("https://TILES.example.org/wmts?x=1", ["tiles.example.org"])
    assert check_url_allowed("http://127.0.0.1:8080/wmts", ["127.0.0.1:8080"])
    with pytest.raises(UnsafeURLError):
        check_url_allowed("http://127.0.0.1:8081/wmts", ["127.0.0.1:8080"])

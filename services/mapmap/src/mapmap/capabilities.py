"""Safe WMTS 1.0 GetCapabilities parsing into typed, validated values.

The parser never fetches anything (no DTDs, no external entities, no network) and refuses entity
declarations outright, so XXE and "billion laughs" documents fail with CapabilitiesError.
TopLeftCorner is written in the CRS's axis order; we read that order from PROJ (pyproj axis_info),
swap northing-first corners to (easting, northing), and let the operator override it per CRS for
servers that get it wrong.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal
from urllib.parse import quote, urlencode

from lxml import etree
from pyproj import CRS
from pyproj.exceptions import CRSError

from mapmap.errors import CapabilitiesError, InvalidTileRequest, NotFoundError
from mapmap.ssrf import check_url_allowed
from mapmap.tms import TileMatrix, TileMatrixLimits, TileMatrixSet

__all__ = [
    "MAX_CAPABILITIES_BYTES",
    "AxisOrder",
    "Capabilities",
    "Layer",
    "ResourceURL",
    "Style",
    "axis_order",
    "meters_per_unit",
    "normalize_crs",
    "parse_capabilities",
]

MAX_CAPABILITIES_BYTES = 20 * 1024 * 1024
AxisOrder = Literal["en", "ne"]
"""'en' = easting first (x, y); 'ne' = northing first (y, x)."""

NS = {
    "wmts": "http://www.opengis.net/wmts/1.0",
    "ows": "http://www.opengis.net/ows/1.1",
    "xlink": "http://www.w3.org/1999/xlink",
}
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
# Equatorial metres per degree on the WGS84 ellipsoid, the value WMTS 1.0 (Annex E) uses.
_METERS_PER_DEGREE = 2 * math.pi * 6378137.0 / 360.0
_ALIASES = {"EPSG:900913": "EPSG:3857", "EPSG:102100": "EPSG:3857", "EPSG:102113": "EPSG:3857"}


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


@dataclass(frozen=True)
class Style:
    identifier: str
    title: str | None = None
    is_default: bool = False


@dataclass(frozen=True)
class ResourceURL:
    format: str
    resource_type: str
    template: str


@dataclass(frozen=True)
class Layer:
    identifier: str
    title: str | None
    wgs84_bbox: tuple[float, float, float, float] | None
    styles: tuple[Style, ...]
    formats: tuple[str, ...]
    tile_matrix_sets: Mapping[str, Mapping[str, TileMatrixLimits]]
    """TileMatrixSet identifier → its limits for this layer (empty when unlimited)."""
    resource_urls: tuple[ResourceURL, ...] = ()
    dimensions: Mapping[str, str] = field(default_factory=dict)
    """Dimension identifier → default value (e.g. Time), filled into REST templates."""

    @property
    def default_style(self) -> str:
        for style in self.styles:
            if style.is_default:
                return style.identifier
        return self.styles[0].identifier if self.styles else "default"

    def tile_template(self, fmt: str) -> str | None:
        for resource in self.resource_urls:
            if resource.resource_type == "tile" and resource.format == fmt:
                return resource.template
        return None


@dataclass(frozen=True)
class Capabilities:
    title: str | None
    layers: Mapping[str, Layer]
    tile_matrix_sets: Mapping[str, TileMatrixSet]
    kvp_get_tile_url: str | None
    get_capabilities_url: str | None = None

    def layer(self, identifier: str) -> Layer:
        try:
            return self.layers[identifier]
        except KeyError:
            raise NotFoundError(f"layer {identifier!r} is not offered by this upstream") from None

    def tile_matrix_set(self, layer: Layer, identifier: str) -> TileMatrixSet:
        """The set with this layer's limits applied."""
        if identifier not in layer.tile_matrix_sets:
            raise NotFoundError(f"layer {layer.identifier!r} has no tile matrix set {identifier!r}")
        base = self.tile_matrix_sets.get(identifier)
        if base is None:
            raise CapabilitiesError(f"tile matrix set {identifier!r} is linked but never defined")
        limits = layer.tile_matrix_sets[identifier]
        if not limits:
            return base
        return TileMatrixSet(base.identifier, base.crs, base.matrices, dict(limits), base.well_known_scale_set)

    def urls(self) -> list[str]:
        """Every URL this document would make us call (for the SSRF allow-list check)."""
        found = [self.kvp_get_tile_url] if self.kvp_get_tile_url else []
        for layer in self.layers.values():
            found.extend(resource.template for resource in layer.resource_urls if resource.resource_type == "tile")
        return found

    def check_urls(self, allowed_hosts: Iterable[str]) -> None:
        """Raise UnsafeURLError if any URL points outside the allow-list."""
        hosts = list(allowed_hosts)
        for url in self.urls():
            check_url_allowed(_template_probe(url), hosts)

    def tile_url(
        self, layer: Layer, *, style: str, fmt: str, tile_matrix_set: str, tile_matrix: str, row: int, col: int
    ) -> str:
        """REST template when the layer has one for `fmt`, else KVP GetTile."""
        if fmt not in layer.formats:
            raise InvalidTileRequest(f"layer {layer.identifier!r} does not offer format {fmt!r}")
        if style not in {s.identifier for s in layer.styles} and layer.styles:
            raise NotFoundError(f"layer {layer.identifier!r} has no style {style!r}")
        template = layer.tile_template(fmt)
        if template is not None:
            values = {
                "tilematrixset": tile_matrix_set,
                "tilematrix": tile_matrix,
                "tilerow": str(row),
                "tilecol": str(col),
                "style": style,
                "layer": layer.identifier,
                **{name.lower(): value for name, value in layer.dimensions.items()},
            }

            def fill(match: re.Match[str]) -> str:
                key = match.group(1).lower()
                if key not in values:
                    raise CapabilitiesError(f"ResourceURL placeholder {{{match.group(1)}}} has no value")
                return quote(values[key], safe="")

            return re.sub(r"\{([^{}]+)\}", fill, template)
        if self.kvp_get_tile_url is None:
            raise CapabilitiesError("the upstream offers neither a ResourceURL nor a KVP GetTile endpoint")
        params = {
            "SERVICE": "WMTS",
            "REQUEST": "GetTile",
            "VERSION": "1.0.0",
            "LAYER": layer.identifier,
            "STYLE": style,
            "FORMAT": fmt,
            "TILEMATRIXSET": tile_matrix_set,
            "TILEMATRIX": tile_matrix,
            "TILEROW": str(row),
            "TILECOL": str(col),
            **{name: value for name, value in layer.dimensions.items()},
        }
        base = self.kvp_get_tile_url
        separator = "" if base.endswith(("?", "&")) else ("&" if "?" in base else "?")
        return base + separator + urlencode(params)


def _template_probe(template: str) -> str:
    # Placeholders are not valid in a host check; any literal stands in for them.
    return re.sub(r"\{[^{}]*\}", "0", template)


def normalize_crs(text: str) -> str:
    """'urn:ogc:def:crs:EPSG:6.18:3:3857', 'http://www.opengis.net/def/crs/EPSG/0/3059', 'EPSG:3059'
    → 'EPSG:3857' / 'EPSG:3059'; CRS84 → 'OGC:CRS84'."""
    value = text.strip()
    upper = value.upper()
    if upper.endswith("CRS84"):
        return "OGC:CRS84"
    match = re.match(r"^URN:OGC:DEF:CRS:([A-Z]+):[^:]*(?::[^:]*)*:([0-9A-Z]+)$", upper)
    if match is None:
        match = re.match(r"^HTTPS?://WWW\.OPENGIS\.NET/DEF/CRS/([A-Z]+)/[^/]+/([0-9A-Z]+)$", upper)
    if match is None:
        match = re.match(r"^([A-Z]+):+([0-9A-Z]+)$", upper)
    if match is None:
        raise CapabilitiesError(f"unrecognised CRS identifier {value[:80]!r}")
    name = f"{match.group(1)}:{match.group(2)}"
    return _ALIASES.get(name, name)


@lru_cache(maxsize=256)
def _crs(name: str) -> CRS:
    try:
        return CRS.from_user_input(name)
    except CRSError as error:
        raise CapabilitiesError(f"PROJ does not know CRS {name!r}: {error}") from None


def axis_order(crs: str) -> AxisOrder:
    """'ne' when the CRS's first axis points north or south (EPSG:4326, 3059, 3346, 2180), else 'en'."""
    first = _crs(normalize_crs(crs)).axis_info[0]
    return "ne" if first.direction.lower() in ("north", "south") else "en"


def meters_per_unit(crs: str) -> float:
    info = _crs(normalize_crs(crs)).axis_info[0]
    if info.unit_name.lower() in ("degree", "degrees"):
        return _METERS_PER_DEGREE
    return float(info.unit_conversion_factor)


def _refuse_entities(document: bytes) -> None:
    # WMTS capabilities never need a DTD; refusing one closes XXE and entity expansion at the door
    # (the parser settings above are the second line of defence, e.g. for UTF-16 documents).
    if b"<!DOCTYPE" in document or b"<!ENTITY" in document:
        raise CapabilitiesError("capabilities documents with a DOCTYPE or entity declarations are refused")


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _int(element: etree._Element, path: str) -> int:
    text = _text(element.find(path, NS))
    if text is None or not re.fullmatch(r"[+-]?\d{1,10}", text):
        raise CapabilitiesError(f"{path.split(':')[-1]} must be an integer, got {text!r}")
    return int(text)


def _float(text: str | None, what: str) -> float:
    try:
        value = float(text or "")
    except ValueError:
        raise CapabilitiesError(f"{what} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise CapabilitiesError(f"{what} must be finite")
    return value


def _parse_matrix_set(element: etree._Element, overrides: Mapping[str, AxisOrder]) -> TileMatrixSet:
    identifier = _text(element.find("ows:Identifier", NS))
    crs_text = _text(element.find("ows:SupportedCRS", NS))
    if identifier is None or crs_text is None:
        raise CapabilitiesError("a TileMatrixSet lacks its Identifier or SupportedCRS")
    crs = normalize_crs(crs_text)
    order = overrides.get(crs) or axis_order(crs)
    mpu = meters_per_unit(crs)
    matrices = []
    for matrix in element.findall("wmts:TileMatrix", NS):
        matrix_id = _text(matrix.find("ows:Identifier", NS))
        corner = (_text(matrix.find("wmts:TopLeftCorner", NS)) or "").split()
        if matrix_id is None or len(corner) != 2:
            raise CapabilitiesError(f"tile matrix in {identifier!r} lacks an Identifier or a two-number TopLeftCorner")
        a, b = (_float(value, "TopLeftCorner") for value in corner)
        try:
            matrices.append(
                TileMatrix(
                    identifier=matrix_id,
                    scale_denominator=_float(_text(matrix.find("wmts:ScaleDenominator", NS)), "ScaleDenominator"),
                    top_left=(b, a) if order == "ne" else (a, b),
                    tile_width=_int(matrix, "wmts:TileWidth"),
                    tile_height=_int(matrix, "wmts:TileHeight"),
                    matrix_width=_int(matrix, "wmts:MatrixWidth"),
                    matrix_height=_int(matrix, "wmts:MatrixHeight"),
                    meters_per_unit=mpu,
                )
            )
        except ValueError as error:
            raise CapabilitiesError(str(error)) from None
    if not matrices:
        raise CapabilitiesError(f"tile matrix set {identifier!r} has no tile matrices")
    # z is the position from coarsest to finest, whatever order the document lists them in.
    matrices.sort(key=lambda m: -m.scale_denominator)
    wkss_element = element.find("wmts:WellKnownScaleSet", NS)
    return TileMatrixSet(identifier, crs, tuple(matrices), well_known_scale_set=_text(wkss_element))


def _parse_limits(link: etree._Element) -> dict[str, TileMatrixLimits]:
    limits = {}
    for element in link.findall("wmts:TileMatrixSetLimits/wmts:TileMatrixLimits", NS):
        matrix_id = _text(element.find("wmts:TileMatrix", NS))
        if matrix_id is None:
            raise CapabilitiesError("TileMatrixLimits without a TileMatrix")
        # Some servers (GeoWebCache) emit negative minima; nothing lies left of column 0 anyway.
        try:
            limits[matrix_id] = TileMatrixLimits(
                min_row=max(0, _int(element, "wmts:MinTileRow")),
                max_row=_int(element, "wmts:MaxTileRow"),
                min_col=max(0, _int(element, "wmts:MinTileCol")),
                max_col=_int(element, "wmts:MaxTileCol"),
            )
        except ValueError as error:
            raise CapabilitiesError(str(error)) from None
    return limits


def _parse_layer(element: etree._Element) -> Layer:
    identifier = _text(element.find("ows:Identifier", NS))
    if identifier is None:
        raise CapabilitiesError("a Layer lacks its Identifier")
    bbox = None
    lower = _text(element.find("ows:WGS84BoundingBox/ows:LowerCorner", NS))
    upper = _text(element.find("ows:WGS84BoundingBox/ows:UpperCorner", NS))
    if lower and upper:
        (w, s), (e, n) = ([_float(v, "WGS84BoundingBox") for v in c.split()[:2]] for c in (lower, upper))
        bbox = (w, s, e, n)
    styles = tuple(
        Style(
            identifier=_text(style.find("ows:Identifier", NS)) or "default",
            title=_text(style.find("ows:Title", NS)),
            is_default=(style.get("isDefault") or "").lower() == "true",
        )
        for style in element.findall("wmts:Style", NS)
    )
    formats = tuple(f for f in (_text(e) for e in element.findall("wmts:Format", NS)) if f)
    links = {}
    for link in element.findall("wmts:TileMatrixSetLink", NS):
        limits = _parse_limits(link)
        for tms in link.findall("wmts:TileMatrixSet", NS):
            name = _text(tms)
            if name:
                links[name] = limits
    resources = tuple(
        ResourceURL(r.get("format", ""), r.get("resourceType", ""), r.get("template", ""))
        for r in element.findall("wmts:ResourceURL", NS)
        if r.get("template")
    )
    dimensions = {}
    for dimension in element.findall("wmts:Dimension", NS):
        name = _text(dimension.find("ows:Identifier", NS))
        default = _text(dimension.find("wmts:Default", NS)) or _text(dimension.find("wmts:Value", NS))
        if name and default:
            dimensions[name] = default
    title = _text(element.find("ows:Title", NS))
    return Layer(identifier, title, bbox, styles, formats, links, resources, dimensions)


def _operation_url(root: etree._Element, name: str) -> str | None:
    for get in root.findall(f"ows:OperationsMetadata/ows:Operation[@name='{name}']/ows:DCP/ows:HTTP/ows:Get", NS):
        encodings = {(_text(v) or "").upper() for v in get.findall(".//ows:AllowedValues/ows:Value", NS)}
        if not encodings or "KVP" in encodings:
            href = get.get(_XLINK_HREF)
            if href:
                return str(href).strip()
    return None


def parse_capabilities(document: bytes, *, axis_overrides: Mapping[str, AxisOrder] | None = None) -> Capabilities:
    """Parse a WMTS 1.0 Capabilities document; raises CapabilitiesError with the reason.

    `axis_overrides` maps a CRS ('EPSG:3059', 'OGC:CRS84') to the corner order the server really uses.
    """
    if len(document) > MAX_CAPABILITIES_BYTES:
        raise CapabilitiesError(f"capabilities document is larger than {MAX_CAPABILITIES_BYTES} bytes")
    _refuse_entities(document)
    try:
        root = etree.fromstring(document, parser=_parser())
    except etree.XMLSyntaxError as error:
        raise CapabilitiesError(f"capabilities are not well-formed XML: {error}") from None
    if root.tag != f"{{{NS['wmts']}}}Capabilities":
        raise CapabilitiesError(f"not a WMTS 1.0 Capabilities document (root element {root.tag!r})")
    overrides = {normalize_crs(k): v for k, v in (axis_overrides or {}).items()}
    contents = root.find("wmts:Contents", NS)
    if contents is None:
        raise CapabilitiesError("capabilities have no Contents")
    matrix_sets = {}
    for element in contents.findall("wmts:TileMatrixSet", NS):
        tms = _parse_matrix_set(element, overrides)
        matrix_sets[tms.identifier] = tms
    layers = {}
    for element in contents.findall("wmts:Layer", NS):
        layer = _parse_layer(element)
        layers[layer.identifier] = layer
    return Capabilities(
        title=_text(root.find("ows:ServiceIdentification/ows:Title", NS)),
        layers=layers,
        tile_matrix_sets=matrix_sets,
        kvp_get_tile_url=_operation_url(root, "GetTile"),
        get_capabilities_url=_operation_url(root, "GetCapabilities"),
    )

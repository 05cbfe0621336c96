"""Writes WMTS 1.0 Capabilities documents (element order as the OGC schemas require).

Used by MapMap's own WMTS endpoint and by the demo upstream, so both are checked against the same
XSDs. Corners are written in the CRS's declared axis order (northing first for EPSG:3059).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lxml import etree

from mapmap.capabilities import NS, axis_order
from mapmap.tms import TileMatrixSet

__all__ = ["LayerSpec", "build_capabilities", "crs_urn"]

_W = "{" + NS["wmts"] + "}"
_O = "{" + NS["ows"] + "}"
_XLINK_HREF = "{" + NS["xlink"] + "}href"
_NSMAP = {None: NS["wmts"], "ows": NS["ows"], "xlink": NS["xlink"]}


@dataclass(frozen=True)
class LayerSpec:
    identifier: str
    title: str
    tile_matrix_sets: Sequence[str]
    formats: Sequence[str] = ("image/png",)
    wgs84_bbox: tuple[float, float, float, float] = (-180.0, -85.0511287798, 180.0, 85.0511287798)
    style: str = "default"
    abstract: str | None = None
    rest_template: str | None = None
    """e.g. `http://host/wmts/rest/{layer}/{Style}/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}.png`"""
    extra_templates: dict[str, str] = field(default_factory=dict)
    """format → template, for layers offered in more than one format."""


def crs_urn(crs: str) -> str:
    authority, code = crs.split(":", 1)
    if authority == "OGC":
        return "urn:ogc:def:crs:OGC:1.3:CRS84"
    return f"urn:ogc:def:crs:{authority}::{code}"


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else f"{value:.1f}"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def _operation(parent: etree._Element, name: str, kvp_url: str, rest_url: str | None) -> None:
    operation = _sub(parent, _O + "Operation", name=name)
    http = _sub(_sub(operation, _O + "DCP"), _O + "HTTP")
    for url, encoding in ((kvp_url, "KVP"), (rest_url, "RESTful")):
        if url is None:
            continue
        get = _sub(http, _O + "Get", **{_XLINK_HREF: url})
        constraint = _sub(get, _O + "Constraint", name="GetEncoding")
        _sub(_sub(constraint, _O + "AllowedValues"), _O + "Value", encoding)


def build_capabilities(
    *,
    title: str,
    layers: Sequence[LayerSpec],
    tile_matrix_sets: Sequence[TileMatrixSet],
    kvp_url: str,
    rest_url: str | None = None,
    provider: str = "MapMap",
) -> bytes:
    """A Capabilities document. `kvp_url` ends with `?`; `rest_url` is the RESTful capabilities URL."""
    root = etree.Element(_W + "Capabilities", nsmap=_NSMAP, version="1.0.0")
    identification = _sub(root, _O + "ServiceIdentification")
    _sub(identification, _O + "Title", title)
    _sub(identification, _O + "ServiceType", "OGC WMTS")
    _sub(identification, _O + "ServiceTypeVersion", "1.0.0")
    service_provider = _sub(root, _O + "ServiceProvider")
    _sub(service_provider, _O + "ProviderName", provider)
    _sub(service_provider, _O + "ServiceContact")
    metadata = _sub(root, _O + "OperationsMetadata")
    _operation(metadata, "GetCapabilities", kvp_url, rest_url)
    _operation(metadata, "GetTile", kvp_url, None)
    contents = _sub(root, _W + "Contents")
    for layer in layers:
        element = _sub(contents, _W + "Layer")
        _sub(element, _O + "Title", layer.title)
        if layer.abstract:
            _sub(element, _O + "Abstract", layer.abstract)
        bbox = _sub(element, _O + "WGS84BoundingBox")
        _sub(bbox, _O + "LowerCorner", f"{_number(layer.wgs84_bbox[0])} {_number(layer.wgs84_bbox[1])}")
        _sub(bbox, _O + "UpperCorner", f"{_number(layer.wgs84_bbox[2])} {_number(layer.wgs84_bbox[3])}")
        _sub(element, _O + "Identifier", layer.identifier)
        style = _sub(element, _W + "Style", isDefault="true")
        _sub(style, _O + "Identifier", layer.style)
        for fmt in layer.formats:
            _sub(element, _W + "Format", fmt)
        for tms_id in layer.tile_matrix_sets:
            _sub(_sub(element, _W + "TileMatrixSetLink"), _W + "TileMatrixSet", tms_id)
        templates = dict(layer.extra_templates)
        if layer.rest_template:
            templates.setdefault(layer.formats[0], layer.rest_template)
        for fmt, template in templates.items():
            _sub(element, _W + "ResourceURL", format=fmt, resourceType="tile", template=template)
    for tms in tile_matrix_sets:
        element = _sub(contents, _W + "TileMatrixSet")
        _sub(element, _O + "Identifier", tms.identifier)
        _sub(element, _O + "SupportedCRS", crs_urn(tms.crs))
        if tms.well_known_scale_set:
            _sub(element, _W + "WellKnownScaleSet", tms.well_known_scale_set)
        northing_first = axis_order(tms.crs) == "ne"
        for matrix in tms.matrices:
            m = _sub(element, _W + "TileMatrix")
            _sub(m, _O + "Identifier", matrix.identifier)
            _sub(m, _W + "ScaleDenominator", repr(matrix.scale_denominator))
            easting, northing = matrix.top_left
            corner = (northing, easting) if northing_first else (easting, northing)
            _sub(m, _W + "TopLeftCorner", f"{_number(corner[0])} {_number(corner[1])}")
            _sub(m, _W + "TileWidth", str(matrix.tile_width))
            _sub(m, _W + "TileHeight", str(matrix.tile_height))
            _sub(m, _W + "MatrixWidth", str(matrix.matrix_width))
            _sub(m, _W + "MatrixHeight", str(matrix.matrix_height))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))

"""dot2archimate: DOT and terraform graphs to valid, laid-out ArchiMate 3.2 models."""

from .archimate import Model, relationship_table
from .batch import BatchJob, BatchSummary, run_batch
from .convert import OUTPUT_FORMATS, ConversionResult, ConvertOptions, convert, convert_async
from .dot import Graph, parse_dot, parse_dot_all
from .dot.sanitize import sanitize
from .dot.writer import to_dot
from .errors import (
    ArchimateFormatError,
    ConversionError,
    Dot2ArchimateError,
    DotSyntaxError,
    GraphTooLargeError,
    LayoutError,
    RelationshipPolicyError,
    RulesError,
    SchemaValidationError,
    TerraformGraphError,
    UnsafeXmlError,
)
from .layout import LayoutOptions
from .limits import Limits
from .mapping import MappingResult, ValidationReport, map_graph
from .preview import render_svg
from .readback import exchange_to_graph
from .rules import RuleSet, builtin_rules, load_rules
from .terraform import TerraformFormat, normalize_terraform
from .validate import assert_valid, xsd_errors

__all__ = [
    "OUTPUT_FORMATS",
    "ArchimateFormatError",
    "BatchJob",
    "BatchSummary",
    "ConversionError",
    "ConversionResult",
    "ConvertOptions",
    "Dot2ArchimateError",
    "DotSyntaxError",
    "Graph",
    "GraphTooLargeError",
    "LayoutError",
    "LayoutOptions",
    "Limits",
    "MappingResult",
    "Model",
    "RelationshipPolicyError",
    "RuleSet",
    "RulesError",
    "SchemaValidationError",
    "TerraformFormat",
    "TerraformGraphError",
    "UnsafeXmlError",
    "ValidationReport",
    "assert_valid",
    "builtin_rules",
    "convert",
    "convert_async",
    "exchange_to_graph",
    "load_rules",
    "map_graph",
    "normalize_terraform",
    "parse_dot",
    "parse_dot_all",
    "relationship_table",
    "render_svg",
    "run_batch",
    "sanitize",
    "to_dot",
    "xsd_errors",
]

"""One error tree for the package; the app layer maps each class to one HTTP status."""

from __future__ import annotations

__all__ = [
    "ArchimateFormatError",
    "ConversionError",
    "Dot2ArchimateError",
    "DotSyntaxError",
    "GraphTooLargeError",
    "LayoutError",
    "RelationshipPolicyError",
    "RulesError",
    "SchemaValidationError",
    "TerraformGraphError",
    "TimeBudgetExceededError",
    "UnsafeXmlError",
]


class Dot2ArchimateError(Exception):
    """Root of every error this package raises on bad input or configuration."""

    #: suggested HTTP status for the app layer
    http_status = 422


class DotSyntaxError(Dot2ArchimateError):
    """The DOT text does not follow the Graphviz grammar."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.message = message
        self.line = line
        self.column = column


class GraphTooLargeError(Dot2ArchimateError):
    """The input exceeds a configured size limit (bytes, nodes, edges, nesting)."""

    http_status = 413

    def __init__(self, what: str, limit: int, actual: int | None = None) -> None:
        detail = f"more than {limit}" if actual is None else f"{actual} > {limit}"
        super().__init__(f"graph too large: {what} {detail}")
        self.what = what
        self.limit = limit
        self.actual = actual


class RulesError(Dot2ArchimateError):
    """A mapping rules file is malformed or fails its JSON Schema."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class RelationshipPolicyError(Dot2ArchimateError):
    """An edge maps to a relationship ArchiMate forbids and its rule says `error`."""


class TerraformGraphError(Dot2ArchimateError):
    """A graph claimed to be `terraform graph` output is not one."""


class UnsafeXmlError(Dot2ArchimateError):
    """Uploaded XML carries a DOCTYPE/entities or is not well-formed."""


class SchemaValidationError(Dot2ArchimateError):
    """Output failed XSD validation (a bug in the writer, surfaced instead of shipped)."""

    http_status = 500

    def __init__(self, errors: list[str]) -> None:
        super().__init__("ArchiMate XSD validation failed: " + "; ".join(errors[:5]))
        self.errors = errors


class LayoutError(Dot2ArchimateError):
    """Graphviz could not lay out a view within its limits (every engine failed)."""

    http_status = 500


class ConversionError(Dot2ArchimateError):
    """A batch item failed; wraps the original error with the file name."""


class ArchimateFormatError(Dot2ArchimateError):
    """Uploaded XML is well-formed but not an ArchiMate exchange-format model."""


class TimeBudgetExceededError(Dot2ArchimateError):
    """A conversion needed longer than its total time budget (parse + map + layout + write)."""

    def __init__(self, stage: str, budget_s: float) -> None:
        super().__init__(
            f"the conversion needed more than its time budget of {budget_s:g} s and was stopped (during {stage}); "
            "try a smaller graph, or turn the layout off"
        )
        self.stage = stage
        self.budget_s = budget_s

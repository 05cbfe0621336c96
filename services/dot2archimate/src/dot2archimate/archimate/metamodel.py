"""ArchiMate 3.2 concepts and the relationship table shipped by Archi (relationships.xml)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from lxml import etree

__all__ = [
    "ELEMENT_TYPES",
    "LAYER_OF",
    "RELATIONSHIP_TYPES",
    "RelationshipTable",
    "relationship_table",
]

_LAYERS: dict[str, tuple[str, ...]] = {
    "strategy": ("Resource", "Capability", "ValueStream", "CourseOfAction"),
    "business": (
        "BusinessActor", "BusinessRole", "BusinessCollaboration", "BusinessInterface",
        "BusinessProcess", "BusinessFunction", "BusinessInteraction", "BusinessEvent",
        "BusinessService", "BusinessObject", "Contract", "Representation", "Product",
    ),
    "application": (
        "ApplicationComponent", "ApplicationCollaboration", "ApplicationInterface",
        "ApplicationFunction", "ApplicationInteraction", "ApplicationProcess", "ApplicationEvent",
        "ApplicationService", "DataObject",
    ),
    "technology": (
        "Node", "Device", "SystemSoftware", "TechnologyCollaboration", "TechnologyInterface", "Path",
        "CommunicationNetwork", "TechnologyFunction", "TechnologyProcess", "TechnologyInteraction",
        "TechnologyEvent", "TechnologyService", "Artifact", "Equipment", "Facility",
        "DistributionNetwork", "Material",
    ),
    "motivation": (
        "Stakeholder", "Driver", "Assessment", "Goal", "Outcome", "Principle", "Requirement",
        "Constraint", "Meaning", "Value",
    ),
    "implementation_migration": ("WorkPackage", "Deliverable", "ImplementationEvent", "Plateau", "Gap"),
    "other": ("Grouping", "Location", "AndJunction", "OrJunction"),
}  # fmt: skip

#: element type (exchange-format name) -> Archi folder type
LAYER_OF: dict[str, str] = {t: layer for layer, types in _LAYERS.items() for t in types}
ELEMENT_TYPES: frozenset[str] = frozenset(LAYER_OF)
RELATIONSHIP_TYPES: tuple[str, ...] = (
    "Composition", "Aggregation", "Assignment", "Realization", "Serving", "Access",
    "Influence", "Triggering", "Flow", "Specialization", "Association",
)  # fmt: skip


class RelationshipTable:
    """Which relationship types ArchiMate 3.2 allows from one element type to another."""

    def __init__(self, allowed: dict[tuple[str, str], frozenset[str]], version: str) -> None:
        self._allowed = allowed
        self.version = version

    @staticmethod
    def _concept(element_type: str) -> str:
        return "Junction" if element_type in ("AndJunction", "OrJunction") else element_type

    def allowed(self, source: str, target: str) -> frozenset[str]:
        return self._allowed.get((self._concept(source), self._concept(target)), frozenset())

    def is_allowed(self, relationship: str, source: str, target: str) -> bool:
        return relationship in self.allowed(source, target)

    @classmethod
    def from_xml(cls, relationships: bytes, keys: bytes) -> RelationshipTable:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        key_root = etree.fromstring(keys, parser)
        letters = {k.get("char"): k.get("relationship", "").removesuffix("Relationship") for k in key_root.iter("key")}
        root = etree.fromstring(relationships, parser)
        allowed: dict[tuple[str, str], frozenset[str]] = {}
        for src in root.iter("source"):
            for tgt in src.iter("target"):
                rels = frozenset(letters[c] for c in tgt.get("relations", "") if c in letters)
                allowed[(src.get("concept", ""), tgt.get("concept", ""))] = rels
        return cls(allowed, root.get("version", ""))


@lru_cache(maxsize=1)
def relationship_table() -> RelationshipTable:
    """The table shipped in the package (Archi's relationships.xml, MIT, see data/LICENSE)."""
    data = resources.files("dot2archimate") / "data"
    return RelationshipTable.from_xml(
        (data / "relationships.xml").read_bytes(), (data / "relationships-keys.xml").read_bytes()
    )

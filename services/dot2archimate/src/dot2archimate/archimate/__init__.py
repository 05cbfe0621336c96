"""ArchiMate 3.2: concepts, relationship table and the in-memory model."""

from .metamodel import ELEMENT_TYPES, LAYER_OF, RELATIONSHIP_TYPES, RelationshipTable, relationship_table
from .model import Connection, Element, Model, Relationship, View, ViewNode

__all__ = [
    "ELEMENT_TYPES",
    "LAYER_OF",
    "RELATIONSHIP_TYPES",
    "Connection",
    "Element",
    "Model",
    "Relationship",
    "RelationshipTable",
    "View",
    "ViewNode",
    "relationship_table",
]

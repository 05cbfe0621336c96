"""Exchange-format XML back to a DOT `Graph` (elements -> nodes, relationships -> edges,
groupings -> clusters). Reads our own output losslessly for nodes, edges and groupings, and any
other exchange file by falling back to identifiers and Grouping aggregation/composition."""

from __future__ import annotations

from .dot.graph import Edge, Graph, Node, Subgraph
from .errors import ArchimateFormatError
from .mapping import PROP_CLUSTER, PROP_DOT_ID, PROP_MEMBERSHIP, PROP_REVERSED
from .writers.exchange import NS, XSI
from .xmlsafe import parse_untrusted_xml

__all__ = ["exchange_to_graph"]

_Q = "{%s}%%s" % NS  # noqa: UP031
_XSI_TYPE = f"{{{XSI}}}type"


def _text(el: object, tag: str) -> str:
    child = el.find(_Q % tag)  # type: ignore[attr-defined]
    return (child.text or "") if child is not None else ""


def exchange_to_graph(data: bytes) -> Graph:
    """Parse untrusted exchange XML (DOCTYPE refused) into a digraph."""
    root = parse_untrusted_xml(data).getroot()
    if root.tag != _Q % "model":
        raise ArchimateFormatError(f"not an ArchiMate exchange model (root element {root.tag!r})")
    prop_names = {
        d.get("identifier"): _text(d, "name")
        for d in root.iterfind(f"{_Q % 'propertyDefinitions'}/{_Q % 'propertyDefinition'}")
    }

    def props(el: object) -> dict[str, str]:
        out = {}
        for p in el.iterfind(f"{_Q % 'properties'}/{_Q % 'property'}"):  # type: ignore[attr-defined]
            out[prop_names.get(p.get("propertyDefinitionRef"), "")] = _text(p, "value")
        return out

    g = Graph(name=_text(root, "name"), directed=True)
    dot_id: dict[str, str] = {}
    clusters: dict[str, Subgraph] = {}
    for el in root.iterfind(f"{_Q % 'elements'}/{_Q % 'element'}"):
        ident = el.get("identifier", "")
        etype = el.get(_XSI_TYPE, "")
        p = props(el)
        name = p.get(PROP_DOT_ID) or ident
        is_cluster = p.get(PROP_CLUSTER) == "true" or (PROP_CLUSTER not in p and etype == "Grouping")
        if is_cluster:
            cname = name if name[:7].lower() == "cluster" else f"cluster_{name}"
            clusters[ident] = Subgraph(cname, {"label": _text(el, "name"), "archimate_type": etype})
            dot_id[ident] = cname
        else:
            if name in g.nodes:
                raise ArchimateFormatError(f"two elements claim the DOT id {name!r}")
            g.nodes[name] = Node(name, {"label": _text(el, "name"), "archimate_type": etype})
            dot_id[ident] = name

    parent_of: dict[str, str] = {}
    for rel in root.iterfind(f"{_Q % 'relationships'}/{_Q % 'relationship'}"):
        src, tgt = rel.get("source", ""), rel.get("target", "")
        rtype = rel.get(_XSI_TYPE, "")
        p = props(rel)
        if src not in dot_id or tgt not in dot_id:
            continue  # relationship on a relationship, or dangling: nothing to draw in DOT
        membership = p.get(PROP_MEMBERSHIP) == "true" or (
            PROP_MEMBERSHIP not in p and src in clusters and rtype in ("Aggregation", "Composition")
        )
        if membership and src in clusters:
            if tgt in clusters:
                parent_of[tgt] = src
            else:
                clusters[src].nodes[dot_id[tgt]] = None
            continue
        if src in clusters or tgt in clusters:
            continue  # compound edges have no node endpoint in plain DOT
        tail, head = dot_id[src], dot_id[tgt]
        if p.get(PROP_REVERSED) == "true":
            tail, head = head, tail
        attrs = {"archimate_type": rtype}
        name = _text(rel, "name")
        if name:
            attrs["label"] = name
        g.edges.append(Edge(tail, head, attrs))

    for ident, sg in clusters.items():
        parent = parent_of.get(ident)
        if parent is None:
            g.subgraphs.append(sg)
        else:
            clusters[parent].children.append(sg)

    # DOT semantics: a cluster contains its sub-clusters' nodes too
    def fill(sg: Subgraph) -> None:
        for c in sg.children:
            fill(c)
            for n in c.nodes:
                sg.nodes.setdefault(n, None)

    for sg in g.subgraphs:
        fill(sg)
    return g

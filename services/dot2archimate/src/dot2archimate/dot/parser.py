"""DOT parser: lark LALR grammar over `DotLexer`, then an interpreter with Graphviz's semantics.

The grammar mirrors Graphviz's grammar.y. Parsing builds a small tuple AST through inline
callbacks (no parse tree), and `_Builder` replays it the way cgraph does: defaults are
snapshotted when an object is created, subgraphs copy their parent's defaults, edge chains and
subgraph operands expand to the cross product, `strict` and `key` merge edges.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import pairwise
from typing import Any, cast

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..budget import Deadline, deadline_scope
from ..errors import DotSyntaxError, GraphTooLargeError
from ..limits import Limits
from .graph import Edge, Graph, Node, Subgraph
from .lexer import DotLexer, line_col

__all__ = ["decode_dot", "parse_dot", "parse_dot_all"]

GRAMMAR = r"""
start: graph+
graph: STRICT? (GRAPH | DIGRAPH) id? _LB stmt_list _RB
stmt_list: (_stmt _SEMI?)*
_stmt: node_stmt | edge_stmt | attr_stmt | assign | subgraph
assign: id _EQ id
attr_stmt: (GRAPH | NODE | EDGE) attr_list
attr_list: (_LSQ a_item* _RSQ)+
a_item: id _EQ id (_SEMI | _COMMA)?
edge_stmt: _operand edge_rhs attr_list?
edge_rhs: (EDGEOP _operand)+
_operand: node_id | subgraph
node_stmt: node_id attr_list?
node_id: id port?
port: _COLON id (_COLON id)?
subgraph: (SUBGRAPH id?)? _LB stmt_list _RB
id: ID | NUMERAL | HTML | qstring
qstring: QSTRING (_PLUS QSTRING)*

%declare STRICT GRAPH DIGRAPH SUBGRAPH NODE EDGE ID NUMERAL QSTRING HTML EDGEOP
%declare _LB _RB _LSQ _RSQ _EQ _SEMI _COMMA _COLON _PLUS
"""

_TOKEN_NAMES = {
    "_LB": "'{'",
    "_RB": "'}'",
    "_LSQ": "'['",
    "_RSQ": "']'",
    "_EQ": "'='",
    "_SEMI": "';'",
    "_COMMA": "','",
    "_COLON": "':'",
    "_PLUS": "'+'",
    "EDGEOP": "edge operator",
    "QSTRING": "quoted string",
    "NUMERAL": "number",
    "HTML": "HTML string",
    "ID": "identifier",
    "$END": "end of input",
}

# AST node tags
_NODE, _EDGE, _ATTR, _SUB = 0, 1, 2, 3


class _ToAst(Transformer[Token, Any]):
    """Inline LALR callbacks: each returns a plain tuple/list/str, never a lark Tree."""

    def start(self, c: list[Any]) -> list[Any]:
        return c

    def graph(self, c: list[Any]) -> tuple[Any, ...]:
        strict = c[0].type == "STRICT"
        if strict:
            c = c[1:]
        directed = c[0].type == "DIGRAPH"
        name = c[1] if len(c) == 3 else ""
        return (strict, directed, name, c[-1])

    def stmt_list(self, c: list[Any]) -> list[Any]:
        return c

    def assign(self, c: list[Any]) -> tuple[Any, ...]:
        return (_ATTR, "graph", [(c[0], c[1])])

    def attr_stmt(self, c: list[Any]) -> tuple[Any, ...]:
        return (_ATTR, c[0].type.lower(), c[1])

    def attr_list(self, c: list[Any]) -> list[Any]:
        return c

    def a_item(self, c: list[Any]) -> tuple[str, str]:
        return (c[0], c[1])

    def edge_stmt(self, c: list[Any]) -> tuple[Any, ...]:
        ops, operands = c[1]
        return (_EDGE, [c[0], *operands], c[2] if len(c) == 3 else (), ops)

    def edge_rhs(self, c: list[Any]) -> tuple[list[Token], list[Any]]:
        return c[0::2], c[1::2]

    def node_stmt(self, c: list[Any]) -> tuple[Any, ...]:
        return (_NODE, c[0], c[1] if len(c) == 2 else ())

    def node_id(self, c: list[Any]) -> tuple[str, str | None]:
        return (c[0], c[1] if len(c) == 2 else None)

    def port(self, c: list[Any]) -> str:
        return c[0] if len(c) == 1 else f"{c[0]}:{c[1]}"

    def subgraph(self, c: list[Any]) -> tuple[Any, ...]:
        if len(c) == 1:
            return (_SUB, None, c[0])
        return (_SUB, c[1] if len(c) == 3 else None, c[-1])

    def id(self, c: list[Any]) -> str:
        v = c[0]
        # an HTML string's value is an HtmlString: keep that type, it marks the label as HTML
        return cast(str, v.value if isinstance(v, Token) else v)

    def qstring(self, c: list[Token]) -> str:
        return c[0].value if len(c) == 1 else "".join(t.value for t in c)


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(GRAMMAR, parser="lalr", lexer=DotLexer, transformer=_ToAst(), maybe_placeholders=False)


class _Scope:
    __slots__ = ("chain", "edge", "graph", "node", "sub")

    def __init__(
        self,
        graph: dict[str, str],
        node: dict[str, str],
        edge: dict[str, str],
        sub: Subgraph | None,
        chain: tuple[Subgraph, ...],
    ) -> None:
        self.graph = graph
        self.node = node
        self.edge = edge
        self.sub = sub
        self.chain = chain


class _Builder:
    def __init__(
        self, text: str, strict: bool, directed: bool, name: str, limits: Limits, deadline: Deadline | None
    ) -> None:
        self.text = text
        self.limits = limits
        self.deadline = deadline
        self.statements = 0
        self.g = Graph(name=name, directed=directed, strict=strict)
        self.keyed: dict[tuple[str, str, str | None], Edge] = {}
        self.scopes: dict[int, _Scope] = {}
        self.anon = 0
        self.n_sub = 0

    def run(self, stmts: list[Any]) -> Graph:
        root = _Scope(self.g.attrs, {}, {}, None, ())
        self._stmts(stmts, root, 0)
        return self.g

    def _stmts(self, stmts: list[Any], scope: _Scope, depth: int) -> None:
        for st in stmts:
            self.statements += 1
            if self.deadline is not None and not self.statements & 1023:
                self.deadline.check("parse")
            tag = st[0]
            if tag == _NODE:
                (name, _port), attrs = st[1], st[2]
                node = self._node(name, scope)
                for k, v in attrs:
                    node.attrs[k] = v
            elif tag == _EDGE:
                self._edge_stmt(st, scope, depth)
            elif tag == _ATTR:
                target = scope.graph if st[1] == "graph" else scope.node if st[1] == "node" else scope.edge
                for k, v in st[2]:
                    target[k] = v
            else:
                self._subgraph(st, scope, depth)

    def _node(self, name: str, scope: _Scope) -> Node:
        node = self.g.nodes.get(name)
        if node is None:
            if len(self.g.nodes) >= self.limits.max_nodes:
                raise GraphTooLargeError("nodes", self.limits.max_nodes)
            node = Node(name, dict(scope.node))
            self.g.nodes[name] = node
        for sg in scope.chain:
            sg.nodes[name] = None
        return node

    def _subgraph(self, st: tuple[Any, ...], scope: _Scope, depth: int) -> Subgraph:
        if depth >= self.limits.max_depth:
            raise GraphTooLargeError("subgraph nesting depth", self.limits.max_depth)
        _, name, body = st
        siblings = scope.sub.children if scope.sub is not None else self.g.subgraphs
        sg: Subgraph | None = None
        if name is not None:
            for s in siblings:  # reopening a named subgraph continues it (same parent only)
                if not s.anonymous and s.name == name:
                    sg = s
                    break
        if sg is None:
            self.n_sub += 1
            if self.n_sub > self.limits.max_subgraphs:
                raise GraphTooLargeError("subgraphs", self.limits.max_subgraphs)
            if name is None:
                self.anon += 1
                sg = Subgraph(f"%{self.anon}", dict(scope.graph), anonymous=True)
            else:
                sg = Subgraph(name, dict(scope.graph))
            siblings.append(sg)
            inner = _Scope(sg.attrs, dict(scope.node), dict(scope.edge), sg, (*scope.chain, sg))
            self.scopes[id(sg)] = inner
        else:
            inner = self.scopes[id(sg)]
        self._stmts(body, inner, depth + 1)
        return sg

    def _edge_stmt(self, st: tuple[Any, ...], scope: _Scope, depth: int) -> None:
        _, operands, attrs, ops = st
        want = "->" if self.g.directed else "--"
        for op in ops:
            if op != want:
                line, col = line_col(self.text, op.start_pos or 0)
                kind = "a directed" if self.g.directed else "an undirected"
                raise DotSyntaxError(f"edge operator {op!s} in {kind} graph (use {want})", line, col)
        groups: list[list[tuple[str, str | None]]] = []
        for operand in operands:
            if operand[0] == _SUB:
                sg = self._subgraph(operand, scope, depth)
                groups.append([(n, None) for n in sg.nodes])
            else:
                name, port = operand
                self._node(name, scope)
                groups.append([(name, port)])
        key = None
        for k, v in attrs:
            if k == "key":
                key = v
        for tails, heads in pairwise(groups):
            for tail, tport in tails:
                for head, hport in heads:
                    self._edge(tail, tport, head, hport, key, attrs, scope)

    def _edge(
        self,
        tail: str,
        tport: str | None,
        head: str,
        hport: str | None,
        key: str | None,
        attrs: Any,
        scope: _Scope,
    ) -> None:
        g = self.g
        edge: Edge | None = None
        if g.strict or key is not None:
            ident = (tail, head, None if g.strict else key)
            edge = self.keyed.get(ident)
            if edge is None and not g.directed:
                edge = self.keyed.get((head, tail, ident[2]))
                if edge is not None:
                    tport, hport = hport, tport
        if edge is None:
            if len(g.edges) >= self.limits.max_edges:
                raise GraphTooLargeError("edges", self.limits.max_edges)
            edge = Edge(tail, head, dict(scope.edge), key)
            g.edges.append(edge)
            if g.strict or key is not None:
                self.keyed[(tail, head, None if g.strict else key)] = edge
        ea = edge.attrs
        for k, v in attrs:
            ea[k] = v
        if tport is not None:
            ea["tailport"] = tport
        if hport is not None:
            ea["headport"] = hport


def decode_dot(data: bytes) -> str:
    """Decode DOT bytes: UTF-8 (BOM allowed), else Latin-1 as Graphviz's `charset=latin1` does."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_dot_all(
    source: str | bytes, limits: Limits | None = None, *, deadline: Deadline | None = None
) -> list[Graph]:
    """Every graph in `source` (Graphviz reads several graphs from one file)."""
    limits = limits or Limits()
    if len(source) > limits.max_bytes:
        raise GraphTooLargeError("input bytes", limits.max_bytes, len(source))
    text = decode_dot(source) if isinstance(source, bytes) else source
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        # the transformer turns the tree into (strict, directed, name, statements) per graph
        with deadline_scope(deadline):  # the lexer, called back by lark, checks it
            ast = cast(list[tuple[Any, Any, Any, Any]], _lark().parse(text))
    except UnexpectedToken as exc:
        tok = exc.token
        pos = len(text) if tok.type == "$END" or tok.start_pos is None else tok.start_pos
        line, col = line_col(text, pos)
        what = _TOKEN_NAMES.get(tok.type, tok.type.lower())
        shown = "" if tok.type == "$END" or tok.type.startswith("_") else f" {str(tok)[:40]!r}"
        raise DotSyntaxError(f"unexpected {what}{shown}", line, col) from None
    except (UnexpectedEOF, UnexpectedCharacters, UnexpectedInput) as exc:
        line, col = line_col(text, getattr(exc, "pos_in_stream", None) or len(text))
        raise DotSyntaxError("unexpected input", line, col) from None
    return [_Builder(text, s, d, n, limits, deadline).run(stmts) for s, d, n, stmts in ast]


def parse_dot(source: str | bytes, limits: Limits | None = None, *, deadline: Deadline | None = None) -> Graph:
    """The first graph in `source`; raises `DotSyntaxError` / `GraphTooLargeError` on bad input."""
    return parse_dot_all(source, limits, deadline=deadline)[0]

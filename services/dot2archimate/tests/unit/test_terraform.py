"""terraform graph: every output format, real fixtures from terraform 1.11 and hand-written older ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from dot2archimate.dot import parse_dot
from dot2archimate.errors import TerraformGraphError
from dot2archimate.terraform import TerraformFormat, detect_format, normalize_terraform, parse_address

TF = Path(__file__).resolve().parents[1] / "fixtures" / "terraform"


def load(name: str) -> tuple[object, TerraformFormat]:
    return normalize_terraform(parse_dot((TF / name).read_bytes()))


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("legacy_0_12.dot", TerraformFormat.LEGACY),
        ("v0_15_aws.dot", TerraformFormat.V013),
        ("v1_11_type_plan.dot", TerraformFormat.V013),
        ("v1_11_default.dot", TerraformFormat.V17),
    ],
)
def test_format_detection(name: str, fmt: TerraformFormat) -> None:
    assert detect_format(parse_dot((TF / name).read_bytes())) is fmt


def test_plain_dot_is_not_terraform() -> None:
    g = parse_dot('digraph { a -> b; "web.server" -> db }')
    assert detect_format(g) is None
    with pytest.raises(TerraformGraphError):
        normalize_terraform(g)


@pytest.mark.parametrize(
    ("raw", "kind", "module", "type_", "address"),
    [
        ("[root] aws_instance.web", "resource", "", "aws_instance", "aws_instance.web"),
        ("[root] aws_instance.web (expand)", "resource", "", "aws_instance", "aws_instance.web"),
        ('[root] provider["registry.terraform.io/hashicorp/aws"]', "provider", "", "aws",
         'provider["registry.terraform.io/hashicorp/aws"]'),
        ("[root] module.db.provider.aws", "provider", "module.db", "aws", "module.db.provider.aws"),
        ("[root] module.a.module.b.data.aws_ami.x (expand)", "data", "module.a.module.b", "aws_ami",
         "module.a.module.b.data.aws_ami.x"),
        ('module.vpc["east"].aws_subnet.this[0]', "resource", "module.vpc", "aws_subnet",
         "module.vpc.aws_subnet.this"),
        ("[root] var.region", "variable", "", "", "var.region"),
    ],
)  # fmt: skip
def test_addresses(raw: str, kind: str, module: str, type_: str, address: str) -> None:
    a = parse_address(raw)
    assert a is not None
    assert (a.kind, a.module_path, a.type, a.address) == (kind, module, type_, address)


@pytest.mark.parametrize(
    "raw", ["[root] root", "[root] provider.aws (close)", "[root] meta.count-boundary (EachMode fixup)",
            "[root] module.vpc (close)"]
)  # fmt: skip
def test_bookkeeping_nodes_are_skipped(raw: str) -> None:
    assert parse_address(raw) is None


def test_legacy_graph_contracts_variables_and_groups_modules() -> None:
    g, _ = load("legacy_0_12.dot")
    assert set(g.nodes) == {  # type: ignore[attr-defined]
        "aws_instance.web", "aws_security_group.web", "data.aws_ami.ubuntu",
        "module.db.aws_db_instance.main", "module.db.provider.aws", "provider.aws",
    }  # fmt: skip
    edges = {(e.tail, e.head) for e in g.edges}  # type: ignore[attr-defined]
    # module.db.aws_db_instance.main -> module.db.var.subnet_id -> aws_instance.web, contracted
    assert ("module.db.aws_db_instance.main", "aws_instance.web") in edges
    assert not any("var." in t or "var." in h for t, h in edges)
    assert [(c.name, sorted(c.nodes)) for c in g.clusters()] == [  # type: ignore[attr-defined]
        ("cluster_module.db", ["module.db.aws_db_instance.main", "module.db.provider.aws"])
    ]
    assert g.nodes["data.aws_ami.ubuntu"].attrs["tf_kind"] == "data"  # type: ignore[attr-defined]


def test_nested_modules_become_nested_clusters() -> None:
    g, _ = load("v0_15_aws.dot")
    forest = [(c.name, p.name if p else None) for c, p in g.cluster_forest()]  # type: ignore[attr-defined]
    assert forest == [("cluster_module.vpc", None), ("cluster_module.vpc.module.flow", "cluster_module.vpc")]
    edges = {(e.tail, e.head) for e in g.edges}  # type: ignore[attr-defined]
    assert ("aws_instance.web", "module.vpc.aws_subnet.private") in edges  # through module output


def test_real_terraform_1_11_formats_agree_on_resources() -> None:
    """The same configuration graphed two ways: the 1.7+ default and the older `-type=plan` layout."""
    new, _ = load("v1_11_default.dot")
    old, _ = load("v1_11_type_plan.dot")
    resources = {n for n, node in old.nodes.items() if node.attrs["tf_kind"] != "provider"}  # type: ignore[attr-defined]
    assert resources == set(new.nodes)  # type: ignore[attr-defined]
    old_edges = {(e.tail, e.head) for e in old.edges if e.head in resources}  # type: ignore[attr-defined]
    assert old_edges == {(e.tail, e.head) for e in new.edges}  # type: ignore[attr-defined]
    assert [c.name for c in new.clusters()] == [c.name for c in old.clusters()] == ["cluster_module.net"]  # type: ignore[attr-defined]


def test_variables_on_request() -> None:
    g, _ = normalize_terraform(parse_dot((TF / "legacy_0_12.dot").read_bytes()), include_variables=True)
    assert {"var.region", "output.web_ip", "module.db.var.subnet_id"} <= set(g.nodes)

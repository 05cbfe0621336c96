"""Shared test helpers: paths to the workspace's shared data and the Graphviz gallery."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
REPO_ROOT = HERE.parents[2]


def shared_dir() -> Path:
    env = os.environ.get("FLOTILLA_SHARED")
    if env:
        return Path(env)
    sibling = REPO_ROOT.parent / "shared"
    return sibling if sibling.is_dir() else Path("/work/shared")


@pytest.fixture(scope="session")
def shared() -> Path:
    return shared_dir()


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


class _SharedXsd:
    """Validator built from the shared copy of the XSDs (independent of the package's copy)."""

    def __init__(self, folder: Path) -> None:
        from lxml import etree

        class Offline(etree.Resolver):
            def resolve(self, url, pubid, context):  # type: ignore[no-untyped-def]
                if url and url.endswith("/xml.xsd"):
                    return self.resolve_filename(str(folder / "xml.xsd"), context)
                return None

        parser = etree.XMLParser(no_network=True)
        parser.resolvers.add(Offline())
        self.schema = etree.XMLSchema(etree.parse(str(folder / "archimate3_Diagram.xsd"), parser))
        self.etree = etree

    def __call__(self, xml: bytes) -> None:
        doc = self.etree.fromstring(xml, self.etree.XMLParser(resolve_entities=False, no_network=True))
        ok = self.schema.validate(doc)
        assert ok, [str(e) for e in self.schema.error_log][:5]


@pytest.fixture(scope="session")
def assert_xsd_valid(shared: Path) -> _SharedXsd:
    """Call with exchange XML bytes: fails the test unless valid against the ArchiMate XSDs."""
    return _SharedXsd(shared / "data" / "archimate")

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


# ---------------------------------------------------------------- web app helpers

CSRF_RE = r'name="csrf_token" value="([^"]+)"'


class WebClient:
    """One browser: an httpx client with its own cookie jar against `create_app(Settings(...))`."""

    def __init__(self, app: object) -> None:
        import httpx

        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")  # type: ignore[arg-type]

    async def csrf(self) -> str:
        import re

        page = await self.http.get("/")
        assert page.status_code == 200
        return re.search(CSRF_RE, page.text)[1]  # type: ignore[index]

    async def convert(self, *, text: str | None = None, file: tuple[str, bytes] | None = None,
                      token: str | None = None, **fields: str):  # type: ignore[no-untyped-def]  # fmt: skip
        data = {"csrf_token": token if token is not None else await self.csrf(), **fields}
        if text is not None:
            data["text"] = text
        files = {"file": (file[0], file[1], "application/octet-stream")} if file else None
        return await self.http.post("/convert", data=data, files=files)


@pytest.fixture
def web_settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Settings for a test app: DATA_DIR in tmp, quiet logs; keyword overrides."""
    from dot2archimate.config import Settings

    def make(**overrides: object) -> Settings:
        options = {"DATA_DIR": tmp_path / "data", "ENABLE_REQUEST_LOGGING": False,
                   "SECRET_KEY": "tTt9" + "0123456789abcdefghijklmnopqrstuv", **overrides}  # fmt: skip
        return Settings(**options)  # type: ignore[arg-type]

    return make


@pytest.fixture
async def web_app(web_settings):  # type: ignore[no-untyped-def]
    """A factory of browsers against one app: `browser = await web_app()`; apps accept overrides."""
    from dot2archimate.app import create_app

    clients: list[WebClient] = []
    apps: dict[tuple[tuple[str, object], ...], object] = {}

    def browser(**overrides: object) -> WebClient:
        key = tuple(sorted(overrides.items()))
        if key not in apps:
            apps[key] = create_app(web_settings(**overrides))
        client = WebClient(apps[key])
        clients.append(client)
        return client

    yield browser
    for c in clients:
        await c.http.aclose()

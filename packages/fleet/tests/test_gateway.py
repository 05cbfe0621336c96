from __future__ import annotations

from pathlib import Path

import pytest
from fleet.gateway import render_gateway_config, write_landing_page
from fleet.registry import SERVICES
from servicekit import LOCAL_PORTS
from servicekit.local import NginxServer, free_port


@pytest.mark.nginx
def test_gateway_config_for_every_registered_service_passes_nginx_t(tmp_path: Path) -> None:
    port = free_port()
    config = render_gateway_config(port=port, services=SERVICES, site_root=tmp_path / "site")
    result = NginxServer(tmp_path / "nginx", config, port=port).test_config()
    assert result.returncode == 0, result.stderr
    for spec in SERVICES:
        assert f"location /{spec.name}/ {{" in config
        assert f"proxy_pass http://127.0.0.1:{spec.port}/;" in config


def test_registry_ports_come_from_the_one_port_table() -> None:
    assert {spec.port for spec in SERVICES} == {port for name, port in LOCAL_PORTS.items() if name != "gateway"}
    assert len({spec.name for spec in SERVICES}) == len(SERVICES)


def test_landing_page_lists_services_escaped_and_marks_absent_ones(tmp_path: Path) -> None:
    write_landing_page(tmp_path, SERVICES, installed={"mapmap"})
    page = (tmp_path / "index.html").read_text()
    for spec in SERVICES:
        assert f'data-service="{spec.name}"' in page
    assert 'data-service="mapmap" data-health="/health" data-installed="true"' in page
    assert 'data-service="spoton" data-health="/health" data-installed="false"' in page
    assert "<script src=" in page
    assert "http" not in (tmp_path / "fleet.js").read_text().replace("location.protocol", "")  # no CDN

"""The fleet's local ports: the one place in code that defines them (DESIGN.md, "Local ports").

Service settings take their default PORT from here and the fleet runner and gateway read the same
table, so a port never has to be changed in two places.
"""

from __future__ import annotations

from typing import Final

__all__ = ["LOCAL_PORTS"]

LOCAL_PORTS: Final[dict[str, int]] = {
    "gateway": 8080,
    "mapmap": 8000,
    "indoormaps": 8001,
    "spoton": 8002,
    "dot2archimate": 5000,
    "capstore-cp": 5001,
    "capstore-ap": 5002,
}

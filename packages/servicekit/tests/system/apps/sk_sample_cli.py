"""`python -m sk_sample_cli serve` — the sample apps behind servicekit's service CLI."""

from __future__ import annotations

import os

from servicekit.cli import service_cli
from sk_sample_apps import SampleSettings

FLAVOUR = os.environ.get("SAMPLE_FLAVOUR", "fastapi")
main = service_cli(
    "sample",
    settings_factory=SampleSettings,
    app_factory_path=f"sk_sample_apps:{FLAVOUR}_app",
)

if __name__ == "__main__":
    main()

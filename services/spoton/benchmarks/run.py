"""SpotOn's benchmarks in one run (what `make bench` calls): the 1080p 4-camera pipeline with the
tracker comparison, then the live-state fan-out (memory vs Redis). Arguments go to both (e.g. --quick)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    for script in ("bench_e2e.py", "bench_live_state.py"):
        print(f"== {script}", flush=True)
        code = subprocess.call([sys.executable, str(HERE / script), *sys.argv[1:]])
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())

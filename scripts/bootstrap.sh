#!/usr/bin/env bash
# Bootstrap a fresh Debian 12 machine (as root) for `make up` and `make test`; idempotent.
#   1. system packages from scripts/apt-packages.txt that are missing (apt-get)
#   2. the distro's auto-started redis/nginx/postgresql stopped (the fleet runs its own on loopback)
#   3. uv from PyPI when missing
#   4. the workspace environment (uv sync, all packages, locked)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\033[1;34m[%s/4]\033[0m %s\n' "$1" "$2"; }

step 1 "system packages"
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^\s*$/d' scripts/apt-packages.txt)
missing=()
for package in "${wanted[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "missing system packages: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
        exit 1
    fi
    echo "      installing: ${missing[*]}"
    # Keep apt from starting services during install; we run our own instances on loopback.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        | grep -E '^(Setting up|Unpacking)' | sed 's/^/      /' || true
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
else
    echo "      all ${#wanted[@]} present"
fi

step 2 "distro services out of the way"
for service in redis-server nginx postgresql; do
    if command -v service >/dev/null 2>&1 && service "$service" status >/dev/null 2>&1; then
        service "$service" stop >/dev/null 2>&1 || true
        echo "      stopped the distro's $service"
    fi
done

step 3 "uv"
if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet uv
fi
uv --version | sed 's/^/      /'

step 4 "python environment (uv sync)"
if [[ -f uv.lock ]]; then
    uv sync --all-packages --frozen
else
    uv sync --all-packages
fi

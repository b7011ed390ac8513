#!/usr/bin/env bash
# `make demo`: the main job on this machine, after `make setup` installed what it needs: the full lab
# (18 towns, 2 carrier edges, DC1 and DC2) deployed, monitored, drilled and reported on
# (`municloud demo --help` says every stage). The lab keeps running; `municloud lab down` stops it.
# MUNICLOUD_DEMO_PROFILE=small runs the same chain on 3 towns.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/municloud demo --profile "${MUNICLOUD_DEMO_PROFILE:-full}" "$@"

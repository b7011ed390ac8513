#!/usr/bin/env bash
# `make demo`: the main job on this machine. Until the lab lands (issue: the lab), it runs the
# inventory part: check the inventory, show it, plan the lab's addresses, write the Ansible inventory.
set -euo pipefail
cd "$(dirname "$0")/.."
mc=.venv/bin/municloud
out=${MUNICLOUD_DEMO_OUT:-out/demo}
mkdir -p "$out"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1/5 inventory check"
$mc inventory check
step "2/5 the member towns"
$mc inventory show
step "3/5 the business systems"
$mc inventory systems
step "4/5 the lab's address plan"
$mc inventory plan-addresses --env lab
step "5/5 Ansible inventories"
$mc inventory ansible --env lab --output "$out/ansible-lab.yaml"
$mc inventory ansible --env prod --output "$out/ansible-prod.yaml"
$mc inventory show --json > "$out/inventory.json"
printf '\nDemo done. Written to %s: inventory.json, ansible-lab.yaml, ansible-prod.yaml\n' "$out"

#!/usr/bin/env bash
# Installs everything municloud needs on a fresh Debian 12 machine, as root:
# the Debian packages listed in setup/apt-packages.txt, then a venv in .venv with the project and
# its dev tools. Idempotent, and silent when nothing is missing (so `make test` can call it always).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
apt_list=setup/apt-packages.txt

missing_apt() {
  grep -v '^\s*#' "$apt_list" | awk 'NF {print $1}' | while read -r pkg; do
    dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || echo "$pkg"
  done
}

pkgs=$(missing_apt | tr '\n' ' ')
if [ -n "${pkgs// /}" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: these Debian packages are missing and only root can install them: $pkgs" >&2
    exit 2
  fi
  echo "setup: installing Debian packages: $pkgs"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

# The venv is built from Debian's python3 so that it is the same interpreter on every machine.
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv"
  /usr/bin/python3 -m venv "$venv"
fi

stamp="$venv/.municloud-installed"
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing municloud and its Python dependencies into $venv"
  log=$(mktemp)
  # pip's output goes to a log shown only if it fails: quiet when all is well.
  if ! { "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip \
         && "$venv/bin/pip" install -q --disable-pip-version-check -e '.[dev]'; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "setup: pip failed (log above)" >&2
    exit 1
  fi
  rm -f "$log"
  echo "$want" > "$stamp"
fi

# Sourced by scripts/run and scripts/test: make .venv and install the pinned requirements into it,
# again only when a requirements file changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PILECHAIN_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

ensure_venv() {
  local reqs="$1"
  if [ ! -x "$PY" ]; then
    echo "==> creating the virtualenv $VENV"
    python3 -m venv "$VENV"
    "$PY" -m pip install --quiet --upgrade pip
  fi
  local stamp="$VENV/.installed-$(basename "$reqs")"
  local want
  want="$(cat "$ROOT"/requirements*.txt | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing $(basename "$reqs")"
    "$PY" -m pip install --quiet --disable-pip-version-check -r "$ROOT/$reqs"
    echo "$want" > "$stamp"
  fi
}

# Sourced by scripts/run and scripts/test: make the virtualenv and install a lock into it with
# --require-hashes (again only when the lock changed since the last install), then check it with
# `pip check`; install the Debian packages the command needs from scripts/debian-packages.txt.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PILECHAIN_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

ensure_venv() {  # ensure_venv LOCK: requirements.txt (a node) or requirements-test.txt (the tests)
  local lock="$1"
  if [ ! -x "$PY" ]; then
    echo "==> creating the virtualenv $VENV"
    python3 -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$(basename "$lock")"
  local want
  want="$(sha256sum "$ROOT/$lock" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing $lock (hashes required)"
    "$PY" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$ROOT/$lock"
    "$PY" -m pip check
    echo "$want" > "$stamp"
  fi
}

ensure_debian_packages() {  # ensure_debian_packages WHO: run or test (the second column of the list)
  local who="$1" missing=() name for
  while read -r name for _; do
    case "$name" in ''|'#'*) continue ;; esac
    [[ ",$for," == *",$who,"* ]] || continue
    dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q "install ok installed" || missing+=("$name")
  done < "$ROOT/scripts/debian-packages.txt"
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Sourced by scripts/run and scripts/test: make .venv and install the project (again only
# when pyproject.toml changed), then put .venv/bin first on PATH.
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Skirmish needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.install-stamp"
want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)-${SKIRMISH_EXTRAS:-dev}"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing Skirmish and its dependencies into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[${SKIRMISH_EXTRAS:-dev}]"
  echo "$want" > "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"

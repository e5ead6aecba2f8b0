# Sourced by scripts/run and scripts/test: make sure .venv exists and holds this checkout's
# package with its dev tools. Reinstalls when pyproject.toml is newer than the last install.
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "OpenBooking needs Python 3.11 or newer as '$PYTHON' (set PYTHON=... to choose one)." >&2
  exit 1
fi
stamp=.venv/.installed-stamp
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv || {
    echo "Could not create .venv: on Debian/Ubuntu install python3-venv first." >&2
    exit 1
  }
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "Installing OpenBooking and its tools into .venv ..." >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
  touch "$stamp"
fi

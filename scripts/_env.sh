# Shared by scripts/serve and scripts/test: a virtual environment with Accord
# installed from this checkout, refreshed whenever pyproject.toml changes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

ensure_venv() {
    local extras="$1" stamp
    if [ ! -x "$VENV/bin/python" ]; then
        echo "==> creating $VENV" >&2
        "$PY" -m venv "$VENV"
    fi
    stamp="$VENV/.accord-$extras-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
    if [ ! -e "$stamp" ]; then
        echo "==> installing Accord ($extras) into $VENV" >&2
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
        if [ "$extras" = "dev" ]; then
            "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[dev]"
        else
            "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT"
        fi
        touch "$stamp"
    fi
}

# apt-get install, once per machine, only what is missing.
ensure_debian_package() {
    local binary="$1" package="$2"
    if ! command -v "$binary" >/dev/null 2>&1; then
        echo "==> installing $package (needed for $binary)" >&2
        if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
        $SUDO apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$package" >&2
    fi
}

# Build the web client (client_web/) into server/accord/static/app when its
# sources changed since the last build.
build_web_client() {
    local web="$ROOT/client_web" out="$ROOT/server/accord/static/app" stamp
    [ -f "$web/package.json" ] || return 0
    ensure_debian_package npm npm
    stamp="$(cat "$web/package.json" "$web/package-lock.json" 2>/dev/null | sha256sum | cut -c1-16)"
    if [ ! -d "$web/node_modules" ] || [ "$(cat "$web/node_modules/.accord-stamp" 2>/dev/null)" != "$stamp" ]; then
        echo "==> installing the web client's packages" >&2
        (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >&2)
        echo "$stamp" > "$web/node_modules/.accord-stamp"
    fi
    if [ ! -f "$out/index.html" ] || [ -n "$(find "$web/src" "$web/index.html" "$web/package.json" "$web/build.mjs" "$web/tsconfig.json" -newer "$out/index.html" 2>/dev/null | head -1)" ]; then
        echo "==> building the web client" >&2
        (cd "$web" && npm run --silent build >&2)
    fi
}

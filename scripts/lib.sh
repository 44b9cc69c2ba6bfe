# Sourced by scripts/start, scripts/test and .ci/run: the virtualenv and the local services.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${CLINIC_VENV:-$ROOT/.venv}
export PATH="$VENV/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Create or refresh .venv when requirements, lock or any pyproject.toml changed since the last install.
ensure_venv() {
  local stamp
  stamp=$(cat "$ROOT/requirements-dev.txt" "$ROOT/constraints.txt" "$ROOT"/shared/pyproject.toml \
    "$ROOT"/services/*/pyproject.toml | sha256sum | cut -d' ' -f1)
  if [[ -x $VENV/bin/python && -f $VENV/.installed && $(cat "$VENV/.installed") == "$stamp" ]]; then
    return
  fi
  say "installing Python dependencies into $VENV (first run takes about a minute)"
  command -v python3.11 >/dev/null || { echo "Python 3.11 is required (python3.11 not found)" >&2; exit 1; }
  [[ -x $VENV/bin/python ]] || python3.11 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -c "$ROOT/constraints.txt" -r "$ROOT/requirements-dev.txt" \
    2> >(grep -vE "^WARNING: Location|BuildBackendWarning|^ +(!!|\*+|Please be careful|name as your package|with strategy|$)" >&2)
  echo "$stamp" > "$VENV/.installed"
}

# `npm ci` in each DIR (default deploy/oidc, the development OpenID provider) when its package.json or
# package-lock.json changed since the last install; the stamp lives in node_modules, which npm ci replaces.
ensure_node_packages() {
  local dir stamp
  for dir in "${@:-$ROOT/deploy/oidc}"; do
    stamp=$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)
    if [[ -f $dir/node_modules/.installed && $(cat "$dir/node_modules/.installed") == "$stamp" ]]; then
      continue
    fi
    command -v npm >/dev/null || { echo "npm is required (Node 20 or newer) to install $dir" >&2; exit 1; }
    say "installing Node packages in ${dir#"$ROOT"/} (npm ci)"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
    echo "$stamp" > "$dir/node_modules/.installed"
  done
}

# The pages' front-end packages (npm, pinned by services/web/package-lock.json) copied where the web
# service and the gateway serve them from: no CDN, no build step.
ensure_web_assets() {
  ensure_node_packages "$ROOT/services/web"
  local vendor="$ROOT/services/web/web/static/vendor" modules="$ROOT/services/web/node_modules"
  mkdir -p "$vendor"
  cp "$modules/htmx.org/dist/htmx.min.js" "$modules/@picocss/pico/css/pico.min.css" "$vendor/"
}

# Debian's nginx for the gateway, installed once without starting the system's own nginx (ours runs
# as the ordinary user, on our port, from a configuration of ours).
ensure_nginx() {
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] && return
  command -v apt-get >/dev/null || { echo "nginx is needed for the gateway: install it" >&2; exit 1; }
  say "installing nginx for the gateway (Debian's package)"
  local sudo="" policy=/usr/sbin/policy-rc.d created=0
  [[ $(id -u) == 0 ]] || sudo="sudo"
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q nginx >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q nginx >/dev/null; }
  if ((created)); then $sudo rm -f "$policy"; fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# PostgreSQL and RabbitMQ run on every machine of this kind; start them if they have stopped.
ensure_local_services() {
  if ! port_open 5432; then
    say "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  fi
  if ! port_open 5672; then
    say "starting RabbitMQ"
    rabbitmq-server -detached
  fi
  local waited=0
  until port_open 5432 && rabbitmqctl -q await_startup >/dev/null 2>&1; do
    (( waited++ < 60 )) || { echo "PostgreSQL or RabbitMQ did not come up within 60 s" >&2; exit 1; }
    sleep 1
  done
}

# Debian's Chromium for the browser tests of the patient pages (Playwright drives it; Playwright's own
# browser download is not used). Installed once; CLINIC_CHROMIUM names another binary.
ensure_browser() {
  [[ -n ${CLINIC_CHROMIUM:-} || -x /usr/bin/chromium ]] && return
  command -v apt-get >/dev/null || { echo "Chromium is needed for the browser tests: install it, or set CLINIC_CHROMIUM" >&2; exit 1; }
  say "installing Chromium for the browser tests (Debian's package)"
  local sudo=""
  [[ $(id -u) == 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q chromium >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium >/dev/null; }
}

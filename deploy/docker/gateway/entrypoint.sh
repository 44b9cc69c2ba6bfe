#!/bin/sh
# The gateway's entrypoint (compose and Kubernetes): renders deploy/nginx/clinic.conf.template, the
# file ./scripts/start renders through `clinic-ops gateway`, by replacing each @@NAME@@ with the
# environment variable GATEWAY_NAME, then runs nginx in the foreground as the image's ordinary user.
# A placeholder without its variable stops the start with a message naming it.
#
# The image sets what it knows (GATEWAY_PREFIX, _USER, _MIME_TYPES, _STATIC, _ERRORS, _LISTEN and the
# rate limits, see its Dockerfile); the deployment sets the upstreams GATEWAY_WEB, _BOOKING,
# _INVENTORY, _NOTIFICATIONS (host:port), GATEWAY_OIDC_ORIGIN (the identity provider's scheme://host
# [:port], allowed as a form target by the CSP) and GATEWAY_HSTS (on or off).
#
# With arguments, runs them instead of nginx once the file is written, e.g.
#   docker compose run --rm gateway cat /tmp/gateway/nginx.conf
set -eu

template=${GATEWAY_TEMPLATE:-/etc/clinic/gateway/clinic.conf.template}
prefix=${GATEWAY_PREFIX:?GATEWAY_PREFIX names the folder nginx writes to}

fail() {
  echo "gateway: $*" >&2
  exit 64
}

# Strict-Transport-Security exactly as clinic_shared/gateway.py writes it (outside development).
case ${GATEWAY_HSTS:-} in
  on) GATEWAY_HSTS='add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;' ;;
  off) GATEWAY_HSTS='' ;;
  *) fail "set GATEWAY_HSTS to on or off" ;;
esac

mkdir -p "$prefix/logs" "$prefix/tmp"
# The template logs to files under the prefix; in a container they belong on the standard streams.
ln -sf /dev/stdout "$prefix/logs/access.log"
ln -sf /dev/stderr "$prefix/logs/error.log"

# One sed substitution per placeholder; values are escaped for sed (\, the | delimiter and &).
script="$prefix/render.sed"
: >"$script"
for name in $(grep -o '@@[A-Z_][A-Z_]*@@' "$template" | tr -d @ | sort -u); do
  eval "given=\${GATEWAY_$name+yes}"
  [ "$given" = yes ] || fail "GATEWAY_$name is not set (the template's @@$name@@)"
  eval "value=\$GATEWAY_$name"
  case $value in
    *'
'*) fail "GATEWAY_$name spans lines" ;;
  esac
  escaped=$(printf '%s' "$value" | sed 's/[\\|&]/\\&/g')
  printf 's|@@%s@@|%s|g\n' "$name" "$escaped" >>"$script"
done
sed -f "$script" "$template" >"$prefix/nginx.conf"
rm -f "$script"
if grep -q '@@' "$prefix/nginx.conf"; then
  fail "a placeholder is left in $prefix/nginx.conf"
fi

if [ "$#" -gt 0 ]; then
  exec "$@"
fi
exec nginx -p "$prefix" -c "$prefix/nginx.conf" -e stderr -g 'daemon off;'

#!/bin/sh
# First start: initdb (owner role `rezone`, SCRAM on TCP, trust only on the container's own socket), then
# exec postgres with the settings passed as arguments ("$@", e.g. -c port=26151 -c shared_buffers=512MB).
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD_FILE:?POSTGRES_PASSWORD_FILE names the file holding the rezone role password}"
  initdb -D "$PGDATA" -U rezone --pwfile="$POSTGRES_PASSWORD_FILE" -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 --no-instructions >/dev/null
  printf "listen_addresses = '127.0.0.1'\nunix_socket_directories = '/tmp'\n" >>"$PGDATA/postgresql.auto.conf"
fi
exec postgres -D "$PGDATA" "$@"

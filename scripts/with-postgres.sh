#!/usr/bin/env bash
# Runs CMD... with a throwaway PostgreSQL server on 127.0.0.1 and EDGEVLM_TEST_POSTGRES_URL set
# to it (initdb into a temp folder as user postgres, free port, fsync=off); stops and deletes
# the server afterwards, whatever CMD's outcome. Needs the `postgresql` Debian package.
# EDGEVLM_PG_OPTIONS adds server options after those (later ones win), e.g. for a durable
# server in benchmarks: EDGEVLM_PG_OPTIONS="-c fsync=on -c synchronous_commit=on".
# Usage: scripts/with-postgres.sh swift test --filter CoordinatorTests
set -euo pipefail
(($#)) || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$PGBIN/initdb" ]] || { echo "with-postgres: PostgreSQL server missing (apt-get install postgresql)" >&2; exit 1; }
DIR=$(mktemp -d /tmp/edgevlm-pg.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[[ $(id -u) -eq 0 ]] && chown postgres "$DIR"
cleanup() {
  as_postgres "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
as_postgres "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres --no-sync >/dev/null
as_postgres "$PGBIN/pg_ctl" -D "$DIR/data" -w -l "$DIR/log" \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c max_connections=300 ${EDGEVLM_PG_OPTIONS:-}" start >/dev/null
export EDGEVLM_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
echo "with-postgres: server at $EDGEVLM_TEST_POSTGRES_URL" >&2
set +e
"$@"
status=$?
set -e
exit $status

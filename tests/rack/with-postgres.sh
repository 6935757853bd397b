#!/usr/bin/env bash
# Runs a command beside a real PostgreSQL server from Debian's packages:
# initdb into a temporary folder, listening on loopback only, with a fresh
# database "encbox". As root (CI) the server runs as the postgres user the
# package made, in a folder of its own under /tmp (the server refuses root,
# and the build tree may sit where other users cannot enter).
#   with-postgres.sh COMMAND [ARGS...]
# The command gets EB_PG_URL (postgresql://postgres@127.0.0.1:PORT/encbox)
# and EB_PG_BIN (the server's bin folder: psql, pgbench). Exits 77
# (skipped) without the server.
set -euo pipefail
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -n 1 || true)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
  echo "with-postgres: needs the PostgreSQL server (package postgresql): skipped"
  exit 77
fi
pgdata=$(mktemp -d /tmp/encbox-pg.XXXXXX)
as_pg=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$pgdata"
  as_pg=(runuser -u postgres --)
fi
stop_pg() {
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata/data" -m immediate stop > /dev/null 2>&1 || true
  rm -rf "$pgdata"
}
trap stop_pg EXIT
"${as_pg[@]}" "$pgbin/initdb" -D "$pgdata/data" -A trust -U postgres > "$pgdata/initdb.log"
started=
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  if "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata/data" -l "$pgdata/server.log" -w -t 60 \
    -o "-p $port -k $pgdata -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60" \
    start > /dev/null; then
    started=1
    break
  fi
done
if [ -z "$started" ]; then
  cat "$pgdata/server.log"
  echo "with-postgres: PostgreSQL did not start"
  exit 1
fi
"${as_pg[@]}" "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres encbox
echo "with-postgres: $("$pgbin/postgres" --version) on 127.0.0.1:$port"
export EB_PG_URL="postgresql://postgres@127.0.0.1:$port/encbox" EB_PG_BIN=$pgbin
status=0
"$@" || status=$?
if [ "$status" != 0 ] && [ "$status" != 77 ]; then
  tail -n 20 "$pgdata/server.log"
fi
exit "$status"

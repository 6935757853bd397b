#!/usr/bin/env bash
# The rack test (issue 17): a real PostgreSQL server from Debian's packages,
# made with initdb in a temporary folder and listening on loopback only,
# then rack.mjs with two `encbox serve` boxes sharing it as their job queue.
#   run.sh ENCBOX WORKDIR
# Exits 77 (skipped) without the PostgreSQL server or node.
set -euo pipefail
bin=$(realpath "$1")
work=$2
here=$(cd "$(dirname "$0")" && pwd)

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -n 1 || true)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ] || ! command -v node > /dev/null; then
  echo "rack: needs the PostgreSQL server (package postgresql) and node: skipped"
  exit 77
fi
rm -rf "$work"
mkdir -p "$work"
work=$(realpath "$work")

# PostgreSQL refuses to run as root: as root (CI), the server runs as the
# postgres user the package made, in a folder of its own under /tmp (the
# build tree may sit in a folder other users cannot enter).
pgdata=$(mktemp -d /tmp/encbox-rack-pg.XXXXXX)
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
"${as_pg[@]}" "$pgbin/initdb" -D "$pgdata/data" -A trust -U postgres > "$work/initdb.log"
started=
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  if "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata/data" -l "$pgdata/server.log" -w -t 60 \
    -o "-p $port -k $pgdata -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50" \
    start > /dev/null; then
    started=1
    break
  fi
done
if [ -z "$started" ]; then
  cat "$pgdata/server.log"
  echo "rack: PostgreSQL did not start"
  exit 1
fi
"${as_pg[@]}" "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres encbox
url="postgresql://postgres@127.0.0.1:$port/encbox"
echo "rack: $("$pgbin/postgres" --version) on 127.0.0.1:$port"
status=0
# The boxes write their outputs to a real S3-compatible store (Swift).
"$here/with-swift.sh" node "$here/rack.mjs" "$bin" "$work" "$url" || status=$?
cp "$pgdata/server.log" "$work/postgresql.log" 2> /dev/null || true
exit "$status"

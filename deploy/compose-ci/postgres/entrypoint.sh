#!/bin/bash
# The CI stand-in for the postgres image's docker-entrypoint.sh, the parts docker-compose.yml
# uses: on an empty data directory, initdb with POSTGRES_USER and POSTGRES_PASSWORD, create
# POSTGRES_DB, run /docker-entrypoint-initdb.d/* against a server reachable only through its
# socket; then PostgreSQL as PID 1. Differences: it listens on 127.0.0.1 (the official image on
# every address) and the locale is C.UTF-8 (the official image's is en_US.utf8).
set -euo pipefail

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"

initialise() {
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set}"
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
    -D "$PGDATA" >/dev/null
  # The init scripts' server: no TCP, so nobody takes it for the finished one.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [[ $POSTGRES_DB != postgres ]]; then
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
      --set=db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  local script
  shopt -s nullglob
  for script in /docker-entrypoint-initdb.d/*; do
    case $script in
      *.sh) echo "entrypoint: running $script"; bash "$script" ;;
      *.sql) echo "entrypoint: running $script"
        psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -f "$script" ;;
      *) echo "entrypoint: ignoring $script" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "entrypoint: PostgreSQL init process complete; ready for start up."
}

if [[ ${1:-} == postgres ]]; then
  [[ -s $PGDATA/PG_VERSION ]] || initialise
  shift
  exec postgres -D "$PGDATA" -c listen_addresses=127.0.0.1 "$@"
fi
exec "$@"

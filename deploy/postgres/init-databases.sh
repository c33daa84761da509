#!/bin/bash
# Runs once, when the PostgreSQL volume is empty: one database and one owner role per service.
# Each service can reach only its own data; passwords come from the environment (.env).
set -euo pipefail

for service in intake budget milestones notify outcomes; do
  variable="${service^^}_DB_PASSWORD"
  password="${!variable:?$variable is not set}"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=role="$service" --set=password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
  echo "cimis: created database and role ${service}"
done

#!/usr/bin/env bash
# First start of the PostGIS container: the login role the service uses through PgBouncer.
# Its read-only defaults and SELECT grants come from `indoormaps grant-reader` (the migrate job).
set -euo pipefail
password="$(tr -d '\r\n' < /run/secrets/reader_password)"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v reader_password="$password" <<'SQL'
CREATE ROLE indoormaps_reader LOGIN PASSWORD :'reader_password';
SQL

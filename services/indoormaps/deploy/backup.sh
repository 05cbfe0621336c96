#!/usr/bin/env bash
# indoormaps database backups with pg_dump/pg_restore (custom format: compressed, restorable per table).
#
#   backup.sh dump    DATABASE_URL FILE          write FILE atomically, then check it lists cleanly
#   backup.sh restore FILE DATABASE_URL          restore into an EMPTY database, in one transaction
#
# Connect to PostgreSQL directly (not through PgBouncer in transaction mode) with the schema owner.
# DATABASE_URL may also come from DATABASE_URL_FILE (Docker/Kubernetes secrets).
set -euo pipefail

usage() { sed -n '2,8p' "$0" >&2; exit 2; }
url_from() {
    if [[ -n "${1:-}" ]]; then printf '%s' "$1"
    elif [[ -n "${DATABASE_URL_FILE:-}" ]]; then tr -d '\r\n' < "$DATABASE_URL_FILE"
    elif [[ -n "${DATABASE_URL:-}" ]]; then printf '%s' "$DATABASE_URL"
    else echo "no database URL given (argument, DATABASE_URL or DATABASE_URL_FILE)" >&2; exit 2
    fi
}

command="${1:-}"
case "$command" in
    dump)
        url="$(url_from "${2:-}")"; file="${3:?FILE missing}"
        tmp="${file}.partial"
        trap 'rm -f "$tmp"' EXIT
        pg_dump --format=custom --compress=6 --no-owner --no-privileges --file="$tmp" --dbname="$url"
        pg_restore --list "$tmp" > /dev/null  # a truncated or corrupt archive fails here, not at restore time
        mv "$tmp" "$file"
        trap - EXIT
        echo "dump: $(du -h "$file" | cut -f1) written to $file"
        ;;
    restore)
        file="${2:?FILE missing}"; url="$(url_from "${3:-}")"
        [[ -f "$file" ]] || { echo "no such backup: $file" >&2; exit 2; }
        pg_restore --exit-on-error --single-transaction --no-owner --no-privileges --dbname="$url" "$file"
        echo "restore: $file restored"
        ;;
    *) usage ;;
esac

#!/bin/sh
# Snapshot every capstore Redis node into BACKUP_DIR, verify each snapshot, prune old ones.
#
# `redis-cli --rdb` asks the node for a fresh RDB (the node forks, as for BGSAVE) and streams it
# here, so this works from any host that reaches the nodes: no `docker cp`, no shared volume.
# Run it from cron every 5 minutes for an RPO under 5 min (the live nodes' AOF, fsync every second,
# covers the rest):   */5 * * * *  /opt/capstore/backup.sh >> /var/log/capstore-backup.log 2>&1
#
# Restore one node: stop it, put the file as dump.rdb in its data directory, start redis-server
# with `--appendonly no` (with AOF on it would ignore the RDB), then `redis-cli CONFIG SET
# appendonly yes` and set appendonly back to yes in its configuration.
#
# Environment: NODES ("name=host:port ..."; default db_g1=127.0.0.1:6381 db_g2=127.0.0.1:6382),
# BACKUP_DIR (default ./backups), RETENTION_DAYS (default 7), REDISCLI_AUTH (password, if any).
set -eu

NODES="${NODES:-db_g1=127.0.0.1:6381 db_g2=127.0.0.1:6382}"
BACKUP_DIR="${BACKUP_DIR:-./backups}"
RETENTION_DAYS="${RETENTION_DAYS:-7}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
status=0
pids=""

backup_one() {
    name="${1%%=*}"
    address="${1#*=}"
    host="${address%:*}"
    port="${address##*:}"
    target="$BACKUP_DIR/$name-$stamp.rdb"
    if redis-cli -h "$host" -p "$port" --rdb "$target.partial" >/dev/null 2>&1 \
        && redis-check-rdb "$target.partial" >/dev/null 2>&1; then
        mv "$target.partial" "$target"
        echo "$(date -u +%FT%TZ) backup ok $name $target $(wc -c < "$target") bytes"
    else
        rm -f "$target.partial"
        echo "$(date -u +%FT%TZ) backup FAILED $name ($host:$port)" >&2
        return 1
    fi
}

mkdir -p "$BACKUP_DIR"
# In parallel: each node waits repl-diskless-sync-delay (5 s by default) before it streams.
for entry in $NODES; do
    backup_one "$entry" &
    pids="$pids $!"
done
for pid in $pids; do
    wait "$pid" || status=1
done

find "$BACKUP_DIR" -name '*.rdb' -type f -mtime +"$RETENTION_DAYS" -delete
exit "$status"

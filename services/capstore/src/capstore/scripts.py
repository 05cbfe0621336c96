"""Lua scripts run atomically on a node. Every value change goes through `newer()` (version guard)
and keeps the anti-entropy digest and bucket sets in step with the data."""

from __future__ import annotations

from typing import Final

__all__ = ["ACK", "APPLY_BATCH", "BUCKET_VERSIONS", "COLLECT_TOMBSTONES", "READ", "SHIP", "WRITE"]

_COMMON: Final = r"""
-- byte-wise a > b (Lua's own string order follows the locale; versions need byte order)
local function newer(a, b)
  local la, lb = #a, #b
  local n = la < lb and la or lb
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return la > lb
end

local function h(key, ver)
  return tonumber(string.sub(redis.sha1hex(key .. '|' .. ver), 1, 8), 16)
end

-- apply (value, version, tombstone) to kv_key if newer; keep digest + bucket set in step, and the
-- tombstone index (score: the delete's physical ms) that garbage collection reads
local function put(kv_key, digest_key, bucket_key, tomb_key, bucket, key, value, ver, del)
  local held = redis.call('HMGET', kv_key, 'ver', 'del')
  local cur = held[1]
  if cur then
    if cur == ver then return 'same', cur end
    if not newer(ver, cur) then return 'superseded', cur end
  end
  redis.call('HSET', kv_key, 'v', value, 'ver', ver, 'del', del)
  if del == '1' then
    redis.call('ZADD', tomb_key, tonumber(string.sub(ver, 1, 13)), key)
  elseif held[2] == '1' then
    redis.call('ZREM', tomb_key, key)
  end
  local d = tonumber(redis.call('HGET', digest_key, bucket) or '0')
  if cur then d = bit.bxor(d, h(key, cur)) end
  d = bit.bxor(d, h(key, ver))
  redis.call('HSET', digest_key, bucket, d)
  redis.call('SADD', bucket_key, key)
  return 'applied', ver
end

local function split_id(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end

local function id_less(a, b)
  local am, as = split_id(a)
  local bm, bs = split_id(b)
  if am ~= bm then return am < bm end
  return as < bs
end
"""

WRITE: Final = (
    _COMMON
    + r"""
-- KEYS: kv, digest, bucket set, log, tombstones   ARGV: key, value, version, del, log?, maxlen, bucket
local status, ver = put(KEYS[1], KEYS[2], KEYS[3], KEYS[5], ARGV[7], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
local id = ''
if status == 'applied' and ARGV[5] == '1' then
  -- cap the log with XDEL of the oldest entry (not MAXLEN): XDEL records max-deleted-entry-id,
  -- which tells a lagging reader that it lost entries (trimming does not record it)
  if redis.call('XLEN', KEYS[4]) >= tonumber(ARGV[6]) then
    local oldest = redis.call('XRANGE', KEYS[4], '-', '+', 'COUNT', 1)
    redis.call('XDEL', KEYS[4], oldest[1][1])
  end
  id = redis.call('XADD', KEYS[4], '*',
                  'k', ARGV[1], 'v', ARGV[2], 'ver', ARGV[3], 'del', ARGV[4])
end
if status == 'same' then status = 'applied' end
return {status, ver, id}
"""
)

READ: Final = r"""
-- KEYS: kv, cursor keys...   returns {exists, value, version, del, cursor...}
local r = redis.call('HMGET', KEYS[1], 'v', 'ver', 'del')
local out = {r[2] and 1 or 0, r[1] or '', r[2] or '', r[3] or '0'}
for i = 2, #KEYS do out[#out + 1] = redis.call('GET', KEYS[i]) or '0-0' end
return out
"""

APPLY_BATCH: Final = (
    _COMMON
    + r"""
-- KEYS: cursor, digest, tombstones, then (kv, bucket set) per entry
-- ARGV: new cursor, expected cursor ('' = any), then (key, value, version, del, bucket) per entry
-- Returns the number applied, or -1 (nothing done) when this node's cursor is behind the expected
-- one: it lost applied entries (a restart without them) and the replicator must resend from it.
local cur = redis.call('GET', KEYS[1])
if ARGV[2] ~= '' and id_less(cur or '0-0', ARGV[2]) then return -1 end
local applied = 0
local n = (#ARGV - 2) / 5
for i = 0, n - 1 do
  local a = 3 + i * 5
  local status, ver = put(KEYS[4 + i * 2], KEYS[2], KEYS[5 + i * 2], KEYS[3], ARGV[a + 4],
                          ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3])
  if status == 'applied' then applied = applied + 1 end
end
if (not cur) or id_less(cur, ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return applied
"""
)

SHIP: Final = (
    _COMMON
    + r"""
-- KEYS: log   ARGV: cursor (exclusive), count, kv key prefix, bucket key prefix, buckets
-- Returns {last generated id, gap 0/1, entries read, id of the last entry read, keys, args}: keys and
-- args are APPLY_BATCH's per-entry part for the newest version of each key read, so the replicator
-- forwards them to the peer without looking inside. gap: entries after the cursor were deleted
-- (the capped log) before this reader got them.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'0-0', 0, 0, '', {}, {}} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last_generated, max_deleted = '0-0', '0-0'
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last_generated = info[i + 1] end
  if info[i] == 'max-deleted-entry-id' then max_deleted = info[i + 1] end
end
local entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))
local keys, args, slot = {}, {}, {}
for _, entry in ipairs(entries) do
  local f = entry[2]
  local e = {}
  for i = 1, #f, 2 do e[f[i]] = f[i + 1] end
  local key, ver, del = e['k'], e['ver'], e['del']
  local at = slot[key]
  if not at then
    at = #args + 1
    slot[key] = at
    local bucket = tonumber(string.sub(redis.sha1hex(key), 1, 4), 16) % tonumber(ARGV[5])
    keys[#keys + 1] = ARGV[3] .. key
    keys[#keys + 1] = ARGV[4] .. bucket
    args[at], args[at + 4] = key, tostring(bucket)
    args[at + 2] = ''
  end
  if args[at + 2] == '' or newer(ver, args[at + 2]) then
    args[at + 1] = del == '1' and '' or e['v']
    args[at + 2], args[at + 3] = ver, del
  end
end
local last_read = #entries > 0 and entries[#entries][1] or ''
local gap = id_less(ARGV[1], max_deleted) and 1 or 0
return {last_generated, gap, #entries, last_read, keys, args}
"""
)

ACK: Final = (
    _COMMON
    + r"""
-- KEYS: log, acked key of this peer, acked keys of every peer   ARGV: applied id
local cur = redis.call('GET', KEYS[2])
if (not cur) or id_less(cur, ARGV[1]) then redis.call('SET', KEYS[2], ARGV[1]) end
local low = nil
for i = 3, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if not v then return 0 end
  if (not low) or id_less(v, low) then low = v end
end
return redis.call('XTRIM', KEYS[1], 'MINID', low)
"""
)

BUCKET_VERSIONS: Final = r"""
-- KEYS: bucket set   ARGV: kv key prefix   returns {key, version, key, version, ...}
local out = {}
for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  out[#out + 1] = k
  out[#out + 1] = redis.call('HGET', ARGV[1] .. k, 'ver') or ''
end
return out
"""

COLLECT_TOMBSTONES: Final = (
    _COMMON
    + r"""
-- KEYS: digest, tombstones, then (kv, bucket set) per entry   ARGV: (key, version, bucket) per entry
-- Removes each key only if it still holds exactly that tombstone (a newer write keeps it); the
-- digest loses the tombstone's hash, so nodes that collected the same tombstones stay equal.
local removed = 0
for i = 0, #ARGV / 3 - 1 do
  local key, ver, bucket = ARGV[1 + i * 3], ARGV[2 + i * 3], ARGV[3 + i * 3]
  local kv_key, bucket_key = KEYS[3 + i * 2], KEYS[4 + i * 2]
  local held = redis.call('HMGET', kv_key, 'ver', 'del')
  if held[1] == ver and held[2] == '1' then
    redis.call('DEL', kv_key)
    local d = bit.bxor(tonumber(redis.call('HGET', KEYS[1], bucket) or '0'), h(key, ver))
    redis.call('HSET', KEYS[1], bucket, d)
    redis.call('SREM', bucket_key, key)
    redis.call('ZREM', KEYS[2], key)
    removed = removed + 1
  elseif held[2] ~= '1' then
    redis.call('ZREM', KEYS[2], key)  -- no longer a tombstone here: not a candidate any more
  end
end
return removed
"""
)

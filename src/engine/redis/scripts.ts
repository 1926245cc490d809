/**
 * @module engine/redis/scripts
 * The Lua scripts: the only code that writes the log. `append` (dedupe by origin, guard, assign the
 * id, XADD, keep the minimal presence), `heartbeat`, `fence` (after a rollback), `snapshot` and
 * `trim`. Each declares every key it touches (one hash tag: Redis Cluster accepts them). They are
 * loaded with SCRIPT LOAD on every (re)connect before any append and run with EVALSHA.
 */
import { createHash } from 'node:crypto';

/** Compares two stream ids `ms-n` in Lua (numbers stay exact: ms is far below 2^53). */
const COMPARE = `
local function split(id)
  local dash = string.find(id, '-', 1, true)
  if not dash then return tonumber(id), 0 end
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
local function cmp(a, b)
  local am, an = split(a)
  local bm, bn = split(b)
  if am ~= bm then return am < bm and -1 or 1 end
  if an ~= bn then return an < bn and -1 or 1 end
  return 0
end
`;

/**
 * KEYS: log meta idem epochs attached grace revoked names nodes users(target) heartbeat(target)
 * ARGV: kind payload node req epoch lowWater a b c
 * A logout (`end`, c = the user) also ends the user's presence on every node, as every node's fold does
 * (runtime/cluster-presence.ts): the user's attachments and grace are removed, so a later detach is a no-op.
 * (Those per-node sets are named from KEYS[10]'s prefix: all under the one hash tag, so one slot.)
 * Returns the verdict (`c <id> <seq>` | `r <code>`), the original one for a repeated origin, or
 * `x` when the node's connection epoch moved on (this append came late on an old connection).
 * Every 16th request prunes the node's verdicts below its oldest request still waiting (`lowWater`).
 */
const APPEND = `
local node, req, epoch = ARGV[3], ARGV[4], ARGV[5]
if redis.call('HGET', KEYS[4], node) ~= epoch then return 'x' end
local prior = redis.call('ZRANGEBYSCORE', KEYS[3], req, req, 'LIMIT', 0, 1)
if prior[1] then return string.sub(prior[1], string.len(req) + 2) end
if tonumber(req) % 16 == 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[6]) end
local kind, a, b = ARGV[1], ARGV[7], ARGV[8]
local function settle(verdict)
  redis.call('ZADD', KEYS[3], req, req .. '|' .. verdict)
  return verdict
end
if kind == 'dm' and redis.call('HEXISTS', KEYS[5], a) == 0 and redis.call('HEXISTS', KEYS[6], a) == 0 then
  return settle('r user_offline')
end
if kind == 'attach' and redis.call('HEXISTS', KEYS[7], b) == 1 then return settle('r session_revoked') end
if kind == 'bind' then
  local bound = redis.call('HGET', KEYS[8], a)
  if bound and bound ~= b then return settle('r name_taken') end
end
if kind == 'expire' and redis.call('HGET', KEYS[6], a) ~= b then return settle('r stale') end
if kind == 'down' and (redis.call('EXISTS', KEYS[11]) == 1 or redis.call('HGET', KEYS[9], a) ~= 'up') then
  return settle('r node_alive')
end
local seq = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
local id
if kind == 'msg' or kind == 'dm' then
  seq = seq + 1
  id = redis.call('XADD', KEYS[1], seq .. '-0', 'o', node .. ':' .. req, 'e', ARGV[2])
  redis.call('HSET', KEYS[2], 'seq', seq)
else
  id = redis.call('XADD', KEYS[1], seq .. '-*', 'o', node .. ':' .. req, 'e', ARGV[2])
end
local function detach(user)
  if redis.call('HINCRBY', KEYS[5], user, -1) <= 0 then
    redis.call('HDEL', KEYS[5], user)
    redis.call('HSET', KEYS[6], user, id)
  end
end
if kind == 'attach' then
  if redis.call('SADD', KEYS[10], a) == 1 then redis.call('HINCRBY', KEYS[5], a, 1) end
  redis.call('HDEL', KEYS[6], a)
elseif kind == 'detach' then
  if redis.call('SREM', KEYS[10], a) == 1 then detach(a) end
elseif kind == 'expire' then
  redis.call('HDEL', KEYS[6], a)
elseif kind == 'down' then
  for _, user in ipairs(redis.call('SMEMBERS', KEYS[10])) do detach(user) end
  redis.call('DEL', KEYS[10])
  redis.call('HDEL', KEYS[9], a)
  redis.call('HDEL', string.sub(KEYS[9], 1, -6) .. 'applied', a) -- its published applied id (codec.ts: <tag>:nodes → <tag>:applied)
elseif kind == 'end' then
  redis.call('HSET', KEYS[7], a, b)
  local user = ARGV[9]
  if user and user ~= '' then
    redis.call('HDEL', KEYS[5], user)
    redis.call('HDEL', KEYS[6], user)
    local prefix = string.sub(KEYS[10], 1, string.len(KEYS[10]) - string.len(node))
    for _, held in ipairs(redis.call('HKEYS', KEYS[9])) do redis.call('SREM', prefix .. held, user) end
  end
elseif kind == 'bind' then
  redis.call('HSET', KEYS[8], a, b)
elseif kind == 'sweep' then
  local all = redis.call('HGETALL', KEYS[7])
  for i = 1, #all, 2 do
    if tonumber(all[i + 1]) <= tonumber(a) then redis.call('HDEL', KEYS[7], all[i]) end
  end
end
return settle('c ' .. id .. ' ' .. seq)
`;

/**
 * KEYS: heartbeat(node) nodes idem(node) applied. ARGV: ttlMs node idemTtlMs appliedId.
 * Also publishes the id of the last entry the node applied: trims stay at or below it while it is up.
 */
const HEARTBEAT = `
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
redis.call('HSET', KEYS[2], ARGV[2], 'up')
redis.call('PEXPIRE', KEYS[3], ARGV[3])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[4])
return 1
`;

/**
 * KEYS: log meta. ARGV: appliedId appliedOrigin node.
 * If the entry this node applied last is not in the log as it read it (a rollback: AOF off, or a
 * failover to a lagging replica), moves the sequence past everything this node or the log has seen
 * and writes a `Fenced` entry there, so no id is ever reused. A fence already above the entry (another
 * node fenced first) is enough: this node reads it next. Returns {'ok'} or {'fenced', id, top}.
 */
const FENCE = `${COMPARE}
local applied, origin = ARGV[1], ARGV[2]
local found = redis.call('XRANGE', KEYS[1], applied, applied)
if found[1] then
  local fields = found[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'o' and fields[i + 1] == origin then return {'ok'} end
  end
end
local fenced = redis.call('HGET', KEYS[2], 'fence')
if fenced and cmp(fenced, applied) > 0 then return {'ok'} end
local top, first = '0-0', nil
if redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then top = info[i + 1] end
    if info[i] == 'first-entry' and info[i + 1] then first = info[i + 1][1] end
  end
end
if not found[1] and first and cmp(applied, first) < 0 and cmp(top, applied) >= 0 then return {'ok'} end
local topSeq = split(top)
local appliedSeq = split(applied)
local seq = math.max(topSeq, appliedSeq) + 1
local payload = cjson.encode({type = 'Fenced', top = top, applied = applied, by = ARGV[3]})
local id = redis.call('XADD', KEYS[1], seq .. '-0', 'o', '', 'e', payload)
redis.call('HSET', KEYS[2], 'seq', seq, 'fence', id)
return {'fenced', id, top}
`;

/** KEYS: snapshot. ARGV: id data. Replaces the snapshot only with a newer one; returns 1 if it did. */
const SNAPSHOT = `${COMPARE}
local current = redis.call('HGET', KEYS[1], 'id')
if current and cmp(current, ARGV[1]) >= 0 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'data', ARGV[2])
return 1
`;

/**
 * KEYS: log snapshot nodes applied. ARGV: windowFloor node appliedId.
 * Trims below the lowest of the snapshot, the history window's floor and the applied id every node
 * listed up published (a node listed up that published none holds the whole log), so no live node ever
 * finds a hole; first publishes the calling node's own applied id if it is up. Records the newest entry
 * it removed as the snapshot's `trimmed`: a node that had not read past it (one declared down, back) has
 * a hole in its copy of the log, and knows it. Returns {removed, holder, its id, the floor without it}:
 * the node that held the trim below the snapshot and the window (empty strings when none did).
 */
const TRIM = `${COMPARE}
if redis.call('HGET', KEYS[3], ARGV[2]) == 'up' then redis.call('HSET', KEYS[4], ARGV[2], ARGV[3]) end
local covered = redis.call('HGET', KEYS[2], 'id')
if not covered then return {0, '', '', ''} end
local floor = covered
if cmp(ARGV[1], floor) < 0 then floor = ARGV[1] end
local wanted = floor
local published = {}
local all = redis.call('HGETALL', KEYS[4])
for i = 1, #all, 2 do published[all[i]] = all[i + 1] end
local holder, held = '', ''
local listed = redis.call('HGETALL', KEYS[3])
for i = 1, #listed, 2 do
  if listed[i + 1] == 'up' then
    local at = published[listed[i]] or '0-0'
    if cmp(at, floor) < 0 then floor, holder, held = at, listed[i], at end
  end
end
if cmp(floor, '0-1') < 0 then return {0, holder, held, wanted} end
local below = redis.call('XREVRANGE', KEYS[1], '(' .. floor, '-', 'COUNT', 1)
if not below[1] then return {0, holder, held, wanted} end
redis.call('HSET', KEYS[2], 'trimmed', below[1][1])
return {redis.call('XTRIM', KEYS[1], 'MINID', floor), holder, held, wanted}
`;

export interface Script {
  name: string;
  source: string;
  sha: string;
}

function script(name: string, source: string): Script {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

export const SCRIPTS = {
  append: script('append', APPEND),
  heartbeat: script('heartbeat', HEARTBEAT),
  fence: script('fence', FENCE),
  snapshot: script('snapshot', SNAPSHOT),
  trim: script('trim', TRIM),
} as const;

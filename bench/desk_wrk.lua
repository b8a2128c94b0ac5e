-- wrk's half of bench/desk_wrk.py: every wrk thread holds one connection and is one user of the
-- plan that desk_wrk.py writes ($DESK_WRK_PLAN/<n>.lua, n = 1 … threads): its token, think time
-- and routes with their weights, the routes' labels, paths and pre-drawn paths and bodies taken from
-- bench/desk_mix.py. Each answer is logged as "label, started, ended, status" (CLOCK_MONOTONIC
-- seconds) into $DESK_WRK_OUT when wrk ends; desk_wrk.py summarises it.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } desk_wrk_timespec;
int clock_gettime(int clock, desk_wrk_timespec *now);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("desk_wrk_timespec")

local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("id", #threads)
end

local user, total, ids, pending, started
log = {}

function init(_args)
  user = dofile(os.getenv("DESK_WRK_PLAN") .. "/" .. id .. ".lua")
  math.randomseed(user.seed)
  total = 0
  for _, route in ipairs(user.routes) do
    route.next = 1
    total = total + route.weight
  end
  ids = {}
end

local function pick()
  local x = math.random() * total
  for _, route in ipairs(user.routes) do
    x = x - route.weight
    if x < 0 then
      return route
    end
  end
  return user.routes[#user.routes]
end

function request()
  local route = pick()
  if route.path:find("{id}", 1, true) and #ids == 0 then
    route = user.fallback
  end
  local path, body = route.path, nil
  if route.draws then
    local drawn = route.draws[route.next]
    route.next = route.next % #route.draws + 1
    path, body = drawn[1], drawn[2]
  end
  local at = path:find("{id}", 1, true)
  if at then
    path = path:sub(1, at - 1) .. ids[math.random(#ids)] .. path:sub(at + 4)
  end
  local headers = { Authorization = "Bearer " .. user.token }
  if body then
    headers["Content-Type"] = "application/json"
  end
  pending, started = route, now()
  return wrk.format(route.method, path, headers, body)
end

function response(status, _headers, body)
  log[#log + 1] = string.format("%s\t%.6f\t%.6f\t%d", pending.label, started, now(), status)
  if pending.lists and status == 200 then
    local found = {}
    for ticket in body:gmatch('{"id":(%d+),') do
      found[#found + 1] = ticket
    end
    if #found > 0 then
      ids = found
    end
  end
end

function delay()
  return -math.log(1 - math.random()) * user.think_ms
end

function done(summary, _latency, _requests)
  local out = assert(io.open(os.getenv("DESK_WRK_OUT"), "w"))
  for _, thread in ipairs(threads) do
    for _, line in ipairs(thread:get("log")) do
      out:write(line, "\n")
    end
  end
  local e = summary.errors
  out:write(string.format("#wrk\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", summary.duration, summary.requests,
    e.connect, e.read, e.write, e.status, e.timeout))
  out:close()
end

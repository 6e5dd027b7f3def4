-- wrk script for scripts/bench: one file, the scenario chosen by argument.
--
--   wrk -t2 -c16 -d5s -s bench/duban.lua http://127.0.0.1:PORT -- SCENARIO DATA_DIR
--
-- SCENARIO is one of
--   task      GET /api/v1/tasks/{id}                          random task
--   unit      GET /api/v1/tasks?unit_id=U&role=lead&limit=50  random unit
--   overdue   GET /api/v1/tasks?overdue=true&limit=50
--   post      POST /api/v1/tasks/{id}/progress-logs           a unit of that task
--   mix       60% task, 20% unit, 10% overdue, 10% post (90% reads, 10% writes)
--   fixed     GET /fixed       (bench/ceiling.c)
--   row       GET /row/{id}    (bench/ceiling.c)
-- DATA_DIR holds pairs.tsv ("task_id<TAB>unit_id", a unit assigned to the
-- task) and units.txt (units that lead tasks), written by scripts/bench.
-- The bearer token, when there is one, comes from the environment variable
-- BENCH_TOKEN. done() prints one machine-readable line starting "BENCH ".

local scenario, tasks, task_units, units = nil, {}, {}, {}
local headers = {}
local post_headers = { ["Content-Type"] = "application/json" }
local summaries = { "进展顺利", "已完成阶段性目标，各项工作有序推进。", "完成入户核查，台账已更新。" }
local overdue_request

local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("thread_number", counter)
end

local function load_data(dir)
   local f = assert(io.open(dir .. "/pairs.tsv", "r"), "cannot open " .. dir .. "/pairs.tsv")
   for line in f:lines() do
      local t, u = line:match("^(%d+)\t(%d+)")
      if t then
         tasks[#tasks + 1] = t
         task_units[#task_units + 1] = u
      end
   end
   f:close()
   f = assert(io.open(dir .. "/units.txt", "r"), "cannot open " .. dir .. "/units.txt")
   for line in f:lines() do
      local u = line:match("^(%d+)")
      if u then units[#units + 1] = u end
   end
   f:close()
   assert(#tasks > 0 and #units > 0, "no data in " .. dir)
end

function init(args)
   scenario = args[1] or "task"
   load_data(args[2] or os.getenv("BENCH_DATA") or ".")
   local token = os.getenv("BENCH_TOKEN")
   if token and token ~= "" then
      headers["Authorization"] = "Bearer " .. token
      post_headers["Authorization"] = "Bearer " .. token
   end
   math.randomseed(os.time() * 100 + (thread_number or 0))
   overdue_request = wrk.format("GET", "/api/v1/tasks?overdue=true&limit=50", headers)
end

local function get_task()
   return wrk.format("GET", "/api/v1/tasks/" .. tasks[math.random(#tasks)], headers)
end

local function list_unit()
   return wrk.format("GET", "/api/v1/tasks?unit_id=" .. units[math.random(#units)] .. "&role=lead&limit=50", headers)
end

local function post_log()
   local i = math.random(#tasks)
   local body = string.format('{"unit_id":%s,"percent":%d,"summary":"%s"}', task_units[i], math.random(0, 100),
                              summaries[math.random(#summaries)])
   return wrk.format("POST", "/api/v1/tasks/" .. tasks[i] .. "/progress-logs", post_headers, body)
end

local builders = {
   task = get_task,
   unit = list_unit,
   overdue = function() return overdue_request end,
   post = post_log,
   mix = function()
      local r = math.random(100)
      if r <= 60 then return get_task() end
      if r <= 80 then return list_unit() end
      if r <= 90 then return overdue_request end
      return post_log()
   end,
   fixed = function() return wrk.format("GET", "/fixed") end,
   row = function() return wrk.format("GET", "/row/" .. tasks[math.random(#tasks)]) end,
}

function request()
   return builders[scenario]()
end

function done(summary, latency, requests)
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format("BENCH requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f status_errors=%d socket_errors=%d"
                          .. " (connect %d, read %d, write %d, timeout %d)\n",
                          summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000,
                          latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout,
                          e.connect, e.read, e.write, e.timeout))
end

-- Argo CD health check for modelarts.operator.dev Notebooks, ResourcePools and LiteServers
-- (Lua 5.1, as Argo CD runs it). It reads the kstatus conditions the operator writes:
--   Stalled=True                       -> Degraded (a terminal error or a failed cloud resource)
--   status older than the spec         -> Progressing (observedGeneration < generation)
--   Ready=True                         -> Healthy
--   anything else (Reconciling=True)   -> Progressing
local hs = {}

local function present(v)
  return v ~= nil and (cjson == nil or v ~= cjson.null)
end

if not present(obj.status) or not present(obj.status.conditions) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

local found = {}
for _, c in ipairs(obj.status.conditions) do
  if present(c.type) then
    found[c.type] = c
  end
end

local function text(c)
  local reason = present(c.reason) and c.reason or ""
  local message = present(c.message) and c.message or ""
  if message == "" then
    return reason
  end
  return reason .. ": " .. message
end

local stalled = found["Stalled"]
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = text(stalled)
  return hs
end

local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if present(generation) and (not present(observed) or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local ready = found["Ready"]
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = text(ready)
  return hs
end

local reconciling = found["Reconciling"]
hs.status = "Progressing"
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = text(reconciling)
elseif ready ~= nil then
  hs.message = text(ready)
else
  hs.message = "Waiting for the Ready condition"
end
return hs

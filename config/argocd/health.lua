-- Argo CD health of LicenseProduct, SoftwareLicense and LicenseAssignment
-- (docs/health.md). It reads the conditions the operator sets, as kstatus
-- does: a generation not observed yet or Reconciling is Progressing, Stalled
-- (a product, policy, key, licence or node that is missing) is Degraded,
-- Ready is Healthy. Expired, SeatsExhausted and OverAllocated licences are
-- Ready: states of the licence, not broken objects.
local hs = {}
if obj.status == nil or obj.status.observedGeneration == nil or obj.metadata.generation == nil
    or obj.status.observedGeneration ~= obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe the latest generation"
  return hs
end
local conditions = {}
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    conditions[c.type] = c
  end
end
local stalled = conditions["Stalled"]
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.reason .. ": " .. (stalled.message or "")
  return hs
end
local reconciling = conditions["Reconciling"]
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = reconciling.reason .. ": " .. (reconciling.message or "")
  return hs
end
local ready = conditions["Ready"]
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
hs.status = "Progressing"
hs.message = "Waiting for the Ready condition"
return hs

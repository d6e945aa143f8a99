/**
 * The live page of `orchestrate --serve`: the run's progress, every agent by tier, the cost so far and the
 * final synthesis, from the run's Server-Sent Events. Everything from events is inserted as text, never as
 * HTML.
 */
export const livePage = (title: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · orchestrate</title>
<style>
  :root { color-scheme: light dark; --accent: #2563eb; --ok: #16a34a; --bad: #dc2626; --muted: #6b7280; }
  body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
  h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
  #meta { color: var(--muted); margin-bottom: 1rem; }
  #bar { height: .6rem; background: color-mix(in srgb, var(--muted) 25%, transparent); border-radius: .3rem; overflow: hidden; }
  #fill { height: 100%; width: 0; background: var(--accent); }
  #numbers { display: flex; gap: 1.5rem; margin: .5rem 0 1.5rem; }
  #numbers b { font-variant-numeric: tabular-nums; }
  section { margin-bottom: 1.25rem; }
  h2 { font-size: 1rem; margin: 0 0 .4rem; text-transform: capitalize; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid color-mix(in srgb, var(--muted) 25%, transparent); }
  td.status-completed { color: var(--ok); } td.status-failed, td.status-cancelled { color: var(--bad); }
  td.status-running { color: var(--accent); }
  td.text { color: var(--muted); font-size: .85em; max-width: 28rem; white-space: nowrap; overflow: hidden; }
  #synthesis { white-space: pre-wrap; background: color-mix(in srgb, var(--muted) 10%, transparent); padding: 1rem; border-radius: .4rem; }
  .approval { border: 2px solid var(--accent); border-radius: .4rem; padding: .75rem 1rem; margin-bottom: 1rem; }
  .approval textarea { width: 100%; box-sizing: border-box; margin: .4rem 0; }
  #status.completed { color: var(--ok); } #status.failed, #status.cancelled { color: var(--bad); }
</style>
</head>
<body>
<h1 id="title"></h1>
<div id="meta">status: <b id="status">waiting</b></div>
<div id="bar"><div id="fill"></div></div>
<div id="numbers">
  <span>progress <b id="progress">0.0%</b></span>
  <span>agents <b id="agents">0/0</b></span>
  <span>running <b id="running">0</b></span>
  <span>cost <b id="cost">$0.0000</b></span>
</div>
<div id="approvals"></div>
<div id="tiers"></div>
<section id="final" hidden><h2>Final synthesis</h2><div id="synthesis"></div></section>
<script>
const $ = (id) => document.getElementById(id)
const agents = new Map()
const tiers = new Map()
let cost = 0
const money = (d) => d < 0.01 ? "$" + d.toFixed(4) : "$" + d.toFixed(2)
const cell = (row, text, cls) => { const td = row.insertCell(); td.textContent = text; if (cls) td.className = cls; return td }
const tierTable = (tier) => {
  if (tiers.has(tier)) return tiers.get(tier)
  const section = document.createElement("section")
  const h2 = document.createElement("h2"); h2.textContent = tier; section.append(h2)
  const table = document.createElement("table")
  const head = table.createTHead().insertRow()
  for (const name of ["agent", "status", "model", "tokens", "cost", "time", "text"]) { const th = document.createElement("th"); th.textContent = name; head.append(th) }
  section.append(table); $("tiers").append(section)
  const body = table.createTBody(); tiers.set(tier, body); return body
}
const render = (agent) => {
  const row = agent.row
  row.replaceChildren()
  cell(row, agent.id); cell(row, agent.status, "status-" + agent.status); cell(row, agent.model || "")
  cell(row, agent.tokens || ""); cell(row, agent.cost === undefined ? "" : money(agent.cost))
  cell(row, agent.time === undefined ? "" : agent.time.toFixed(1) + "s")
  cell(row, agent.text === undefined ? "" : (agent.text.length > 120 ? "…" : "") + agent.text.slice(-120).replace(/\\s+/g, " "), "text")
  row.title = agent.error || ""
}
const counts = () => {
  let done = 0, running = 0
  for (const a of agents.values()) { if (a.status === "running") running++; else if (a.status !== "pending") done++ }
  $("agents").textContent = done + "/" + agents.size
  $("running").textContent = String(running)
}
const on = (type, handle) => source.addEventListener(type, (message) => {
  const event = JSON.parse(message.data)
  $("progress").textContent = event.progress.toFixed(1) + "%"
  $("fill").style.width = event.progress + "%"
  handle(event)
  counts()
})
const source = new EventSource("/events")
on("workflow_start", (e) => { if (e.parentId === undefined) { $("title").textContent = e.data.title; $("status").textContent = "running" } })
on("decomposition_complete", (e) => {
  for (const s of e.data.subtasks) {
    if (!agents.has(e.workflowId + "/" + s.id)) {
      const agent = { id: s.id, status: "pending", row: tierTable(s.tier || s.agentType).insertRow() }
      agents.set(e.workflowId + "/" + s.id, agent); render(agent)
    }
  }
})
const agentOf = (e) => agents.get(e.workflowId + "/" + e.data.subtaskId)
on("agent_start", (e) => { const a = agentOf(e); if (a) { a.status = "running"; a.model = e.data.model; render(a) } })
on("agent_delta", (e) => { const a = agentOf(e); if (a) { a.text = (e.data.restart ? "" : a.text || "") + e.data.text; render(a) } })
on("agent_retry", (e) => { const a = agentOf(e); if (a) { a.error = "retrying: " + e.data.reason; render(a) } })
on("agent_complete", (e) => {
  const a = agentOf(e); cost += e.data.cost; $("cost").textContent = money(cost)
  if (a) { Object.assign(a, { status: "completed", cost: e.data.cost, time: e.data.executionTime, model: e.data.runner ? (e.data.model || "") + " on " + e.data.runner : e.data.model, tokens: String(e.data.usage.inputTokens + e.data.usage.outputTokens) }); render(a) }
})
on("agent_error", (e) => {
  const a = agentOf(e); cost += e.data.cost; $("cost").textContent = money(cost)
  if (a) { Object.assign(a, { status: e.data.status, cost: e.data.cost, time: e.data.executionTime, error: e.data.error }); render(a) }
})
const finish = (e, status) => {
  if (e.parentId !== undefined) return
  $("status").textContent = status; $("status").className = status
  if (e.data.result && e.data.result.finalSynthesis) { $("synthesis").textContent = e.data.result.finalSynthesis; $("final").hidden = false }
  if (e.data.totalCost !== undefined) $("cost").textContent = money(e.data.totalCost)
  source.close()
}
on("workflow_complete", (e) => finish(e, "completed"))
on("workflow_error", (e) => { finish(e, "failed"); if (e.parentId === undefined) $("meta").append(" — " + e.data.error) })
on("workflow_cancelled", (e) => finish(e, "cancelled"))
on("approval_requested", (e) => {
  const box = document.createElement("div"); box.className = "approval"; box.dataset.step = e.data.step
  const prompt = document.createElement("p"); prompt.textContent = "Approval \u201c" + e.data.step + "\u201d: " + e.data.prompt
  const note = document.createElement("textarea"); note.placeholder = "note (optional)"
  const outcome = document.createElement("span")
  const decide = (approved) => async () => {
    for (const b of box.querySelectorAll("button")) b.disabled = true
    const response = await fetch("/approve", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ step: e.data.step, approved, note: note.value || undefined }) })
    outcome.textContent = response.ok ? (approved ? " approved" : " rejected") : " failed: " + (await response.text())
    outcome.className = response.ok ? "decided" : "error"
  }
  const approveButton = document.createElement("button"); approveButton.textContent = "Approve"; approveButton.onclick = decide(true)
  const rejectButton = document.createElement("button"); rejectButton.textContent = "Reject"; rejectButton.onclick = decide(false)
  box.append(prompt, note, approveButton, " ", rejectButton, outcome); $("approvals").append(box)
})
for (const type of ["decomposition_start", "synthesis_start", "synthesis_complete", "branch_selected", "iteration_start", "iteration_complete", "budget_warning"]) on(type, () => {})
</script>
</body>
</html>
`

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

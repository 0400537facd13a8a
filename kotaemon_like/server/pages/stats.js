// The statistics page: figures, satisfaction chart, tools, cited pages and knowledge gaps of one period.
"use strict";
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

function query() {
  const q = new URLSearchParams({ kind: $("period").value });
  if ($("date").value) q.set("date", $("date").value);
  return q.toString();
}

async function getJson(path) {
  const r = await fetch(`${path}?${query()}`, { credentials: "same-origin" });
  if (r.status === 401 || r.status === 403) throw new Error("Sign in as an admin at /console first.");
  if (!r.ok) throw new Error((await r.json()).detail || `request failed (${r.status})`);
  return r.json();
}

function fill(table, header, rows) {
  table.replaceChildren();
  const head = table.insertRow();
  for (const h of header) { const th = document.createElement("th"); th.textContent = h; head.appendChild(th); }
  for (const row of rows) {
    const tr = table.insertRow();
    for (const value of row) {
      const td = tr.insertCell();
      td.textContent = value === null || value === undefined ? "–" : String(value);
      if (typeof value === "number") td.className = "num";
    }
  }
}

const pct = (x) => (x === null ? null : `${(x * 100).toFixed(1)} %`);

function chart(svg, distribution) {
  svg.replaceChildren();
  const counts = [1, 2, 3, 4, 5].map((s) => distribution[String(s)] || 0);
  const top = Math.max(1, ...counts);
  counts.forEach((n, i) => {
    const h = Math.round((n / top) * 110);
    const bar = document.createElementNS(SVG, "rect");
    Object.entries({ x: 10 + i * 62, y: 120 - h, width: 44, height: h, fill: "#1f6feb" }).forEach(([k, v]) => bar.setAttribute(k, v));
    const label = document.createElementNS(SVG, "text");
    Object.entries({ x: 32 + i * 62, y: 140, "text-anchor": "middle" }).forEach(([k, v]) => label.setAttribute(k, v));
    label.textContent = `${i + 1}★ (${n})`;
    svg.append(bar, label);
  });
}

async function load() {
  try {
    const f = await getJson("/api/admin/stats");
    $("title").textContent = `${f.period.label} (${f.period.timezone})`;
    fill($("summary"), ["figure", "value"], [
      ["conversations", f.conversations], ["questions", f.questions], ["AI-resolved", pct(f.ai_resolved_rate)],
      ["handed to a person", pct(f.handoff_rate)], ["no answer", pct(f.no_answer_rate)],
      ["first human reply, median s", f.first_human_reply_s.median], ["first human reply, p90 s", f.first_human_reply_s.p90],
      ["satisfaction (1-5)", f.satisfaction.average], ["tickets opened", f.tickets.opened], ["tickets resolved", f.tickets.resolved],
      ["time to resolve, median s", f.tickets.time_to_resolve_s.median],
    ]);
    chart($("ratings-chart"), f.satisfaction.distribution);
    fill($("tools"), ["plugin", "outcome", "calls"], f.tools.map((t) => [t.plugin, t.outcome, t.calls]));
    fill($("cited"), ["source", "page", "citations"], f.cited.map((c) => [c.source, c.page, c.citations]));
    $("stats").classList.remove("hidden");
    $("error").classList.add("hidden");
    const g = await getJson("/api/admin/stats/gaps");
    fill($("gaps"), ["questions", "conversations", "topic", "examples"],
      g.gaps.map((x) => [x.count, x.conversations, x.topic, x.examples.join(" | ")]));
  } catch (err) {
    $("error").textContent = err.message;
    $("error").classList.remove("hidden");
  }
}

document.querySelectorAll("a[data-table]").forEach((a) => a.addEventListener("click", () => {
  window.location = `/api/admin/stats/${a.dataset.table}.csv?${query()}`;
}));
$("load").addEventListener("click", load);
load();

// The agent console: sign in, online/away, the queue, take, transcript with sources, reply, hand back, close, tickets.
// It polls the staff API every two seconds; the session is an HttpOnly cookie the script never sees.
"use strict";
const $ = (id) => document.getElementById(id);
let me = null, current = null, ticket = null, shownIds = "";

async function api(path, options = {}) {
  const r = await fetch(path, { credentials: "same-origin", headers: { "Content-Type": "application/json" }, ...options });
  if (r.status === 401) { showLogin(); throw new Error("signed out"); }
  return r;
}
const post = (path, body) => api(path, { method: "POST", body: JSON.stringify(body || {}) });

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function showLogin() { $("app").classList.add("hidden"); $("login").classList.remove("hidden"); }

async function signedIn(user) {
  me = user;
  $("login").classList.add("hidden");
  $("app").classList.remove("hidden");
  $("me").textContent = `${user.name} (${user.role})`;
  $("presence").value = user.status;
  refresh();
}

function minutes(s) { return s < 60 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`; }

async function refresh() {
  if (!me) return;
  try {
    const q = await (await api("/api/staff/queue")).json();
    $("online").textContent = `(${q.agents_online} agent${q.agents_online === 1 ? "" : "s"} online)`;
    const queue = $("queue"); queue.replaceChildren();
    for (const w of q.waiting) {
      const item = el("div", "item" + (current === w.id ? " selected" : ""));
      item.dataset.id = w.id;
      item.append(el("div", "", `#${w.position} · waiting ${minutes(w.waited_s)}`), el("div", "who", w.last_message || w.reason));
      item.addEventListener("click", () => open(w.id));
      queue.appendChild(item);
    }
    if (!q.waiting.length) queue.appendChild(el("div", "who", "Nobody is waiting."));
    const mine = $("mine"); mine.replaceChildren();
    for (const c of q.mine) {
      const item = el("div", "item" + (current === c.id ? " selected" : ""), `${c.channel} · ${c.id.slice(0, 8)}`);
      item.addEventListener("click", () => open(c.id));
      mine.appendChild(item);
    }
    if (current) await showConversation();
    if (!$("tickets").classList.contains("hidden")) await loadTickets();
  } catch (e) { /* shown by the login form when signed out */ }
}

async function open(id) { current = id; shownIds = ""; await showConversation(); refresh(); }

async function showConversation() {
  const r = await api(`/api/staff/conversations/${current}`);
  if (!r.ok) return;
  const c = await r.json();
  $("title").textContent = `Conversation ${c.id.slice(0, 8)} · ${c.channel}`;
  $("conv-state").textContent = c.state + (c.position ? ` (#${c.position})` : "") + (c.agent ? ` · ${c.agent}` : "");
  const ids = c.messages.map((m) => m.id).join(",") + c.state;
  if (ids !== shownIds) {
    shownIds = ids;
    const log = $("transcript"); log.replaceChildren();
    for (const m of c.messages) {
      const div = el("div", "msg " + m.role);
      div.appendChild(el("div", "who", m.role === "agent" ? m.author : m.role + (m.answered === false ? " · not answered" : "")));
      div.appendChild(el("div", "text", m.text));
      if (m.sources && m.sources.length) div.appendChild(el("div", "sources", "Sources: " + m.sources.map((s) => `[${s.number}] ${s.source} p.${s.page}`).join(" · ")));
      if (m.tools && m.tools.length) div.appendChild(el("div", "sources", "Tools: " + m.tools.map((t) => `${t.name} (${t.status})`).join(", ")));
      log.appendChild(div);
    }
    log.scrollTop = log.scrollHeight;
  }
  const mineNow = c.state === "agent" && c.agent_id === me.id;
  $("take").classList.toggle("hidden", c.state !== "waiting");
  $("handback").classList.toggle("hidden", !mineNow);
  $("close").classList.toggle("hidden", c.state === "closed");
  $("reply").classList.toggle("hidden", !mineNow);
}

async function loadTickets() {
  const status = $("ticket-filter").value;
  const t = await (await api("/api/staff/tickets" + (status ? `?status=${status}` : ""))).json();
  const list = $("ticket-list"); list.replaceChildren();
  for (const k of t.tickets) {
    const item = el("div", "item" + (ticket === k.number ? " selected" : ""));
    item.append(el("div", "", `${k.number} · ${k.status} · ${k.priority}`), el("div", "who", k.title));
    item.addEventListener("click", () => { ticket = k.number; showTicket(); });
    list.appendChild(item);
  }
  if (!t.tickets.length) list.appendChild(el("div", "who", "No tickets."));
}

async function showTicket() {
  const k = await (await api(`/api/staff/tickets/${ticket}`)).json();
  $("ticket-title").textContent = `${k.number}: ${k.title}`;
  $("ticket-status").value = k.status;
  for (const id of ["ticket-status", "ticket-assign", "ticket-form"]) $(id).classList.remove("hidden");
  const body = $("ticket-body"); body.replaceChildren();
  body.appendChild(el("div", "msg system", `Contact: ${k.contact || "none"} · priority ${k.priority} · assignee ${k.assignee || "nobody"}`));
  body.appendChild(el("div", "msg customer", k.description));
  for (const h of k.history) body.appendChild(el("div", "msg " + (h.role === "user" ? "customer" : "assistant"), h.content));
  for (const e of k.entries) {
    const role = { reply: "agent", note: "assistant note", customer: "customer" }[e.kind] || "system";
    const div = el("div", "msg " + role);
    div.append(el("div", "who", `${e.kind} · ${e.author}`), el("div", "text", e.text));
    body.appendChild(div);
  }
  loadTickets();
}

$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await fetch("/api/staff/login", { method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
    body: JSON.stringify({ username: $("username").value, password: $("password").value,
                           ...($("tenant").value.trim() ? { tenant: $("tenant").value.trim() } : {}) }) });
  $("password").value = "";
  if (!r.ok) { $("login-error").textContent = "Wrong business, user name or password."; return; }
  $("login-error").textContent = "";
  signedIn(await r.json());
});
$("logout").addEventListener("click", async () => { await post("/api/staff/logout"); me = null; showLogin(); });
$("presence").addEventListener("change", () => post("/api/staff/status", { status: $("presence").value }).then(refresh));
$("take").addEventListener("click", async () => {
  const r = await post(`/api/staff/conversations/${current}/take`);
  if (!r.ok) alert("Another agent took it first.");
  open(current);
});
$("handback").addEventListener("click", () => post(`/api/staff/conversations/${current}/hand-back`).then(refresh));
$("close").addEventListener("click", () => post(`/api/staff/conversations/${current}/close`).then(refresh));
$("reply").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("reply-text").value.trim();
  if (!text) return;
  $("reply-text").value = "";
  await post(`/api/staff/conversations/${current}/reply`, { text });
  showConversation();
});
$("tab-chats").addEventListener("click", () => { $("chats").classList.remove("hidden"); $("tickets").classList.add("hidden"); });
$("tab-tickets").addEventListener("click", () => { $("tickets").classList.remove("hidden"); $("chats").classList.add("hidden"); loadTickets(); });
$("ticket-filter").addEventListener("change", loadTickets);
$("ticket-status").addEventListener("change", async () => {
  const r = await post(`/api/staff/tickets/${ticket}/status`, { status: $("ticket-status").value });
  if (!r.ok) alert((await r.json()).error);
  showTicket();
});
$("ticket-assign").addEventListener("click", () => post(`/api/staff/tickets/${ticket}/assign`).then(showTicket));
$("ticket-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const kind = e.submitter ? e.submitter.dataset.kind : "reply";
  const text = $("ticket-text").value.trim();
  if (!text) return;
  $("ticket-text").value = "";
  await post(`/api/staff/tickets/${ticket}/${kind === "note" ? "note" : "reply"}`, { text });
  showTicket();
});
setInterval(refresh, 2000);
fetch("/api/staff/me", { credentials: "same-origin" }).then((r) => (r.ok ? r.json().then(signedIn) : showLogin()));

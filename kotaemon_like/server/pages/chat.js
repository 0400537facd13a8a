// The customer chat: one owned conversation (id + token kept in this browser), answers streamed,
// agent replies and state changes arriving live on the events stream.
"use strict";
const KEY = "kl-conversation";
const $ = (id) => document.getElementById(id);
let conv = null, lastId = 0, state = "bot", score = 0, live = null;

function headers() { return { "Content-Type": "application/json", "X-Conversation-Token": conv.token }; }

function bubble(role, text, author) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  if (role === "agent" || role === "assistant") {
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = role === "agent" ? (author || "Agent") : "Assistant";
    div.appendChild(who);
  }
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  div.appendChild(body);
  $("log").appendChild(div);
  $("log").scrollTop = $("log").scrollHeight;
  return div;
}

function showSources(div, sources) {
  if (!sources.length) return;
  const line = document.createElement("div");
  line.className = "sources";
  line.textContent = "Sources: " + sources.map((s) => `[${s.number}] ${s.source} p.${s.page}`).join(" · ");
  div.appendChild(line);
}

function showState(s) {
  state = s.state;
  const bar = $("status");
  const text = s.state === "waiting" ? (s.message || "Waiting for an agent.") + (s.position ? ` (position ${s.position})` : "")
    : s.state === "agent" ? `You are talking to ${s.agent || "an agent"}.`
    : s.state === "closed" ? "This conversation is closed." : "";
  bar.textContent = text;
  bar.classList.toggle("hidden", !text);
  $("rating").classList.toggle("hidden", s.state !== "closed");
  $("send").classList.toggle("hidden", s.state === "closed");
  $("human").disabled = s.state !== "bot";
}

// reads a Server-Sent Events body from fetch (EventSource cannot send the token header)
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let type = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) type = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) onEvent(type, JSON.parse(data));
    }
  }
}

async function start() {
  const saved = JSON.parse(localStorage.getItem(KEY) || "null");
  if (saved) {
    conv = saved;
    const r = await fetch(`/api/conversations/${conv.id}`, { headers: headers() });
    if (r.ok) {
      const t = await r.json();
      for (const m of t.messages) {
        showSources(bubble(m.role, m.text, m.author), m.sources || []);
        lastId = Math.max(lastId, m.id);
      }
      showState(t);
      listen();
      return;
    }
  }
  const r = await fetch("/api/conversations", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"channel": "web"}' });
  conv = await r.json();
  localStorage.setItem(KEY, JSON.stringify({ id: conv.id, token: conv.token }));
  bubble("system", "Hello! Ask me anything. You can talk to a person at any time.");
  listen();
}

async function listen() {
  const mine = conv.id;
  live = mine;
  while (live === mine) {
    try {
      const r = await fetch(`/api/conversations/${mine}/events?after=${lastId}`, { headers: headers() });
      if (!r.ok) throw new Error(r.status);
      await readEvents(r, (type, data) => {
        if (type === "message") {
          if (data.id <= lastId) return;
          lastId = data.id;
          // the customer's own messages and the assistant's answers were drawn while streaming
          if (data.role === "agent" || data.role === "system") bubble(data.role, data.text, data.author);
        } else if (type === "state") showState(data);
      });
    } catch (e) { /* reconnect below */ }
    await new Promise((done) => setTimeout(done, 1000));
  }
}

async function send(text) {
  bubble("customer", text);
  const r = await fetch(`/api/conversations/${conv.id}/messages`, { method: "POST", headers: headers(), body: JSON.stringify({ message: text }) });
  if (!r.ok) { bubble("system", "Your message could not be sent. Please try again."); return; }
  let answer = null;
  const sources = [];
  await readEvents(r, (type, data) => {
    if (type === "token") {
      answer = answer || bubble("assistant", "");
      answer.querySelector(".text").textContent += data.text;
      $("log").scrollTop = $("log").scrollHeight;
    } else if (type === "citation") sources.push(data);
    else if (type === "state") showState(data);
  });
  if (answer) showSources(answer, sources);
}

async function askForPerson() {
  const r = await fetch(`/api/conversations/${conv.id}/handoff`, { method: "POST", headers: headers() });
  if (r.ok) showState(await r.json());
}

for (let i = 1; i <= 5; i++) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = "★".repeat(i);
  b.dataset.score = i;
  b.addEventListener("click", () => { score = i; for (const x of $("stars").children) x.classList.toggle("primary", Number(x.dataset.score) === i); });
  $("stars").appendChild(b);
}
$("rate").addEventListener("click", async () => {
  if (!score) return;
  const r = await fetch(`/api/conversations/${conv.id}/rating`, { method: "POST", headers: headers(), body: JSON.stringify({ score, comment: $("comment").value }) });
  $("rating").textContent = r.ok ? "Thank you for your rating!" : "The rating could not be saved.";
});
$("restart").addEventListener("click", () => { localStorage.removeItem(KEY); location.reload(); });
$("human").addEventListener("click", askForPerson);
$("send").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("message").value.trim();
  if (!text) return;
  $("message").value = "";
  send(text);
});
start();

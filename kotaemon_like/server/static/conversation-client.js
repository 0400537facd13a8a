// The customer side of the conversation API, shared by the /chat page and the embeddable widget:
// an owned conversation (id + token kept in localStorage), answers streamed as Server-Sent Events over fetch
// (EventSource cannot send the token header), agent replies and state changes from the live events stream.

export class ChatError extends Error {
  // one sentence for the customer; `status` is the HTTP status (0 when the server could not be reached)
  constructor(status, message, retryAfter = 0) { super(message); this.status = status; this.retryAfter = retryAfter; }
}

function sentence(status, retryAfter) {
  if (status === 0) {
    return navigator.onLine === false ? "You appear to be offline. Check your connection and try again."
      : "The chat service could not be reached. Please try again in a moment.";
  }
  if (status === 429) {
    const wait = Number(retryAfter);
    return "Too many messages right now. " + (wait > 0 ? `Please wait ${wait} seconds and try again.` : "Please try again shortly.");
  }
  if (status === 401 || status === 403) return "The chat is not available on this website.";
  if (status === 409) return "This conversation is closed; start a new one.";
  return "Something went wrong on our side. Please try again.";
}

// localStorage, or nothing where the page's browser refuses it (storage blocked, some private modes):
// the chat then still works, it is only forgotten on reload
export const saved = {
  get(key, area = "localStorage") { try { return window[area].getItem(key); } catch (e) { return null; } },
  set(key, value, area = "localStorage") { try { window[area].setItem(key, value); } catch (e) { /* not kept */ } },
  remove(key, area = "localStorage") { try { window[area].removeItem(key); } catch (e) { /* nothing kept */ } },
};

// reads a Server-Sent Events body and calls onEvent(type, data) for each event
export async function readEvents(response, onEvent) {
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

// how both clients draw a message: the author above the text for answers and agents
export function messageElement(role, text, author, assistantName = "Assistant") {
  const div = document.createElement("div");
  div.className = "msg " + role;
  if (role === "agent" || role === "assistant") {
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = role === "agent" ? (author || "Agent") : assistantName;
    div.appendChild(who);
  }
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  div.appendChild(body);
  return div;
}

// adds "Sources: [1] file p.N · ..." under an answer
export function appendSources(div, sources) {
  if (!sources.length) return;
  const line = document.createElement("div");
  line.className = "sources";
  line.textContent = "Sources: " + sources.map((s) => `[${s.number}] ${s.source} p.${s.page}`).join(" · ");
  div.appendChild(line);
}

// what the customer is told about the conversation's state ("" while the assistant answers)
export function stateText(s) {
  return s.state === "waiting" ? (s.message || "Waiting for an agent.") + (s.position ? ` (position ${s.position})` : "")
    : s.state === "agent" ? `You are talking to ${s.agent || "an agent"}.`
    : s.state === "closed" ? "This conversation is closed." : "";
}

export class ConversationClient {
  // base: the server's origin ("" for the same site); key: a tenant's public pk_ key (widget) or "";
  // storageKey: where this browser keeps the conversation's id and token
  constructor({ base = "", key = "", storageKey = "kl-conversation", channel = "web" } = {}) {
    Object.assign(this, { base, key, storageKey, channel });
    this.conv = null;
    this.lastId = 0;
    this.listening = null;
    this.starting = null;
  }

  url(path) {
    return this.base + path + (this.key ? `${path.includes("?") ? "&" : "?"}key=${encodeURIComponent(this.key)}` : "");
  }

  async request(path, { method = "GET", body, token = true } = {}) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token && this.conv) headers["X-Conversation-Token"] = this.conv.token;
    let response;
    try {
      response = await fetch(this.url(path), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ChatError(0, sentence(0));
    }
    if (!response.ok) {
      const retryAfter = response.headers.get("Retry-After");
      throw new ChatError(response.status, sentence(response.status, retryAfter), Number(retryAfter) || 0);
    }
    return response;
  }

  // the tenant of the key, as a widget shows it: {tenant, name, assistant_name, welcome, colour}
  async settings() { return (await this.request("/api/tenant", { token: false })).json(); }

  // the saved conversation's transcript, or null when there is none (or it is gone)
  async resume() {
    this.conv = JSON.parse(saved.get(this.storageKey) || "null");
    if (!this.conv) return null;
    try {
      const transcript = await (await this.request(`/api/conversations/${this.conv.id}`)).json();
      for (const m of transcript.messages) this.lastId = Math.max(this.lastId, m.id);
      return transcript;
    } catch (e) {
      if (e.status !== 404) throw e;
      this.forget();
      return null;
    }
  }

  // creates the conversation once, however many callers ask at the same time: a message sent while the page
  // is still starting waits for the page's conversation instead of creating a second one that nobody listens to
  start() {
    this.starting = this.starting || (async () => {
      const r = await this.request("/api/conversations", { method: "POST", body: { channel: this.channel }, token: false });
      const { id, token } = await r.json();
      this.conv = { id, token };
      saved.set(this.storageKey, JSON.stringify(this.conv));
      return this.conv;
    })().finally(() => { this.starting = null; });
    return this.starting;
  }

  forget() {
    saved.remove(this.storageKey);
    this.conv = null;
    this.lastId = 0;
    this.listening = null;
  }

  // sends one message; onEvent gets the streamed token/citation/tool/state/done events
  async send(text, onEvent) {
    if (!this.conv) await this.start();
    const r = await this.request(`/api/conversations/${this.conv.id}/messages`, { method: "POST", body: { message: text } });
    await readEvents(r, onEvent);
  }

  async handoff() { return (await this.request(`/api/conversations/${this.conv.id}/handoff`, { method: "POST" })).json(); }

  async rate(score, comment) {
    return (await this.request(`/api/conversations/${this.conv.id}/rating`, { method: "POST", body: { score, comment } })).json();
  }

  // follows the live events stream (reconnecting) until forget() or a listen() to another conversation;
  // onEvent(type, data) gets each new message once and every state change. A second listen() to the same
  // conversation (a message and a "talk to a person" click that both started it) does nothing: one stream
  async listen(onEvent) {
    const mine = this.conv.id;
    if (this.listening === mine) return;
    this.listening = mine;
    let failures = 0;
    while (this.listening === mine) {
      let wait = 0;
      try {
        const r = await this.request(`/api/conversations/${mine}/events?after=${this.lastId}`);
        failures = 0;
        await readEvents(r, (type, data) => {
          if (type === "message") {
            if (data.id <= this.lastId) return;
            this.lastId = data.id;
          }
          onEvent(type, data);
        });
      } catch (e) {
        if ([401, 403, 404].includes(e.status)) {  // gone or refused: asking again will not help
          if (this.listening === mine) this.listening = null;
          return;
        }
        failures += 1;
        wait = (e.retryAfter || 0) * 1000;
      }
      // a stream that ended normally reconnects after a second; failures back off to at most 5 s (an agent's
      // reply must not wait half a minute behind a server that was busy for a moment) or the server's Retry-After
      await new Promise((done) => setTimeout(done, Math.max(wait, Math.min(5000, 1000 * 2 ** failures))));
    }
  }
}

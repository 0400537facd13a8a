// The embeddable chat widget. On any site:
//   <script src="https://HOST/widget.js" data-key="pk_..." async></script>
// adds a chat button and a panel inside a Shadow DOM (the page's CSS does not reach in, ours does not reach out),
// talking to HOST with the tenant's public key through the conversation client the /chat page uses too.
// Plain JavaScript, no build step.
(function () {
  "use strict";
  const script = document.currentScript;
  const key = script && script.dataset.key;
  if (!key) { console.warn("chat widget: the script tag needs data-key=\"pk_...\""); return; }
  if (document.querySelector("kl-chat-widget")) return;  // the line was pasted twice
  const base = new URL(script.src).origin;

  // :host rules are !important because for important declarations the shadow tree wins over the page,
  // while for normal ones the page would win (e.g. `* { font-size: 40px !important }` inherited into us).
  const CSS = `
:host { all: initial !important; display: block !important; position: fixed !important; right: 20px !important;
  bottom: 20px !important; left: auto !important; top: auto !important; z-index: 2147483000 !important;
  width: auto !important; height: auto !important; margin: 0 !important; padding: 0 !important;
  visibility: visible !important; opacity: 1 !important; transform: none !important; filter: none !important;
  color: #1d2129 !important; direction: ltr !important; line-height: 1.45 !important; font-size: 15px !important;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", "Source Han Sans SC",
    "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif !important; }
* { box-sizing: border-box; font: inherit; color: inherit; }
[hidden] { display: none !important; }
button { cursor: pointer; border-radius: 8px; border: 1px solid #c4cbd3; background: #fff; padding: 6px 10px; }
button:focus-visible, input:focus-visible, textarea:focus-visible { outline: 3px solid #ffbf47; outline-offset: 1px; }
button.primary { background: var(--kl-colour); border-color: var(--kl-colour); color: #fff; }
button:disabled { opacity: .55; cursor: default; }
.launcher { width: 56px; height: 56px; border-radius: 50%; border: 0; background: var(--kl-colour); color: #fff;
  box-shadow: 0 4px 14px rgba(0,0,0,.25); display: grid; place-items: center; padding: 0; position: relative; }
.launcher svg { width: 28px; height: 28px; fill: currentColor; }
.badge { position: absolute; top: 4px; right: 4px; width: 12px; height: 12px; border-radius: 50%; background: #d93025;
  border: 2px solid #fff; }
.panel { position: fixed; right: 20px; bottom: 88px; width: 380px; height: min(620px, calc(100vh - 110px));
  display: flex; flex-direction: column; background: #fafbfc; border-radius: 14px; overflow: hidden;
  box-shadow: 0 10px 40px rgba(0,0,0,.28); }
header { background: var(--kl-colour); color: #fff; padding: 10px 12px; display: flex; gap: 8px; align-items: center; }
header h2 { flex: 1; margin: 0; font-size: 16px; font-weight: 600; }
header button { background: transparent; color: #fff; border-color: rgba(255,255,255,.6); font-size: 13px; }
header .close { border: 0; font-size: 22px; line-height: 1; padding: 2px 8px; }
.status { padding: 8px 12px; background: #fff8e1; border-bottom: 1px solid #eadca6; font-size: 13px; }
.log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px; }
.msg { max-width: 85%; padding: 8px 11px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
.msg.customer { align-self: flex-end; background: var(--kl-colour); color: #fff; }
.msg.assistant { align-self: flex-start; background: #fff; border: 1px solid #dde1e6; }
.msg.agent { align-self: flex-start; background: #e6f4ea; border: 1px solid #b7dfc3; }
.msg.system { align-self: center; color: #57606a; font-size: 13px; text-align: center; }
.msg.error { align-self: stretch; color: #b42318; background: #fdecea; border: 1px solid #f5c2bd; font-size: 13px; }
.who { font-size: 12px; color: #57606a; margin-bottom: 2px; }
.sources { font-size: 12px; color: #57606a; margin-top: 6px; }
.rating { padding: 10px 12px; background: #fff; border-top: 1px solid #dde1e6; display: grid; gap: 6px; font-size: 14px; }
.rate-form { display: grid; gap: 6px; }
.stars { display: flex; gap: 4px; }
.stars button { font-size: 18px; padding: 2px 8px; color: #9aa5b1; }
.stars button[aria-pressed="true"] { color: #e3a008; border-color: #e3a008; }
textarea, input { border: 1px solid #c4cbd3; border-radius: 8px; padding: 8px; background: #fff; }
form { display: flex; gap: 8px; padding: 10px 12px; background: #fff; border-top: 1px solid #dde1e6; }
form input { flex: 1; min-width: 0; font-size: 16px; }
@media (max-width: 480px) {
  .panel { inset: 0; width: 100%; height: 100%; border-radius: 0; }
  :host([data-open]) .launcher { display: none; }
}`;
  const ICON = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>';
  const HTML = `
<button class="launcher" type="button" aria-expanded="false" aria-controls="panel">${ICON}<span class="badge" hidden></span></button>
<section class="panel" id="panel" role="dialog" aria-labelledby="title" hidden>
  <header><h2 id="title"></h2><button class="human" type="button">Talk to a person</button>
    <button class="close" type="button" aria-label="Close chat">×</button></header>
  <div class="status" role="status" hidden></div>
  <div class="log" role="log" aria-live="polite"></div>
  <div class="rating" hidden><div class="rate-form"></div><div><button class="restart" type="button">New conversation</button></div></div>
  <form><input maxlength="8000" autocomplete="off" aria-label="Your message" placeholder="Type your question">
    <button class="primary" type="submit">Send</button></form>
</section>`;

  function mount({ ConversationClient, appendSources, messageElement, saved, stateText }) {
    const host = document.createElement("kl-chat-widget");
    const root = host.attachShadow({ mode: "open" });
    root.innerHTML = `<style>${CSS}</style><style class="theme"></style>${HTML}`;
    (document.body || document.documentElement).appendChild(host);
    const $ = (selector) => root.querySelector(selector);
    const launcher = $(".launcher"), panel = $(".panel"), log = $(".log"), form = $("form"), input = $("form input");
    const client = new ConversationClient({ base, key, storageKey: "kl-widget:" + key, channel: "widget" });
    const opened = "kl-widget-open:" + key;
    let name = "Assistant", welcome = "", score = 0, usable = false;

    function bubble(role, text, author) {
      const div = messageElement(role, text, author, name);
      log.appendChild(div);
      log.scrollTop = log.scrollHeight;
      if (panel.hidden && role === "agent") $(".badge").hidden = false;
      return div;
    }

    function showState(s) {
      const text = stateText(s);
      $(".status").textContent = text;
      $(".status").hidden = !text;
      $(".rating").hidden = s.state !== "closed";
      form.hidden = s.state === "closed";
      $(".human").disabled = !usable || s.state !== "bot";
    }

    function onLive(type, data) {
      // the customer's own messages and the assistant's answers were drawn while streaming
      if (type === "message" && (data.role === "agent" || data.role === "system")) bubble(data.role, data.text, data.author);
      else if (type === "state") showState(data);
    }

    function setOpen(open) {
      panel.hidden = !open;
      host.toggleAttribute("data-open", open);
      launcher.setAttribute("aria-expanded", String(open));
      launcher.setAttribute("aria-label", (open ? "Close chat with " : "Open chat with ") + name);
      saved.set(opened, open ? "1" : "", "sessionStorage");
      if (open) { $(".badge").hidden = true; input.focus(); } else launcher.focus();
    }

    function fresh() {
      log.textContent = "";
      if (welcome) bubble("system", welcome);
      showState({ state: "bot" });
    }

    async function send(text) {
      bubble("customer", text);
      const button = $("form button");
      button.disabled = true;
      let answer = null;
      const sources = [];
      try {
        const listening = client.conv !== null;
        await client.send(text, (type, data) => {
          if (type === "token") {
            answer = answer || bubble("assistant", "");
            answer.querySelector(".text").textContent += data.text;
            log.scrollTop = log.scrollHeight;
          } else if (type === "citation") sources.push(data);
          else if (type === "state") showState(data);
        });
        if (!listening) client.listen(onLive);  // the conversation was created by this first message
      } catch (e) {
        bubble("error", e.message);
      } finally {
        button.disabled = false;
      }
      if (answer) appendSources(answer, sources);
    }

    async function askForPerson() {
      try {
        if (!client.conv) { await client.start(); client.listen(onLive); }
        showState(await client.handoff());
      } catch (e) { bubble("error", e.message); }
    }

    function ratingForm() {
      score = 0;
      $(".rate-form").innerHTML = `<div>How did we do?</div><div class="stars"></div><textarea rows="2" maxlength="2000"
        aria-label="Comment (optional)" placeholder="Anything we should know? (optional)"></textarea>
        <div><button class="primary rate" type="button">Send rating</button></div>`;
      for (let i = 1; i <= 5; i++) {
        const star = document.createElement("button");
        star.type = "button";
        star.textContent = "★";
        star.setAttribute("aria-label", `${i} of 5`);
        star.setAttribute("aria-pressed", "false");
        star.addEventListener("click", () => {
          score = i;
          $(".stars").querySelectorAll("button").forEach((b, n) => b.setAttribute("aria-pressed", String(n < i)));
        });
        $(".stars").appendChild(star);
      }
      $(".rate").addEventListener("click", async () => {
        if (!score) return;
        try {
          await client.rate(score, $(".rate-form textarea").value);
          $(".rate-form").replaceChildren("Thank you for your rating!");
          $(".restart").focus();  // the focused button is gone: keep the focus (and Esc) inside the panel
        } catch (e) { bubble("error", e.message); }
      });
    }
    $(".restart").addEventListener("click", () => { client.forget(); ratingForm(); fresh(); input.focus(); });
    $(".human").addEventListener("click", askForPerson);
    $(".close").addEventListener("click", () => setOpen(false));
    launcher.addEventListener("click", () => setOpen(panel.hidden));
    root.addEventListener("keydown", (e) => { if (e.key === "Escape" && !panel.hidden) setOpen(false); });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text || !usable) return;
      input.value = "";
      send(text);
    });

    async function begin() {
      $("#title").textContent = name;
      setOpen(saved.get(opened, "sessionStorage") === "1");
      let settings;
      try {
        settings = await client.settings();
      } catch (e) {
        // the client module just came from this server, so a settings request failing without any status was
        // refused by CORS (the browser hides the 403): this site is not one of the key's allowed origins
        bubble("error", e.status === 0 && navigator.onLine !== false ? "The chat is not available on this website." : e.message);
        input.disabled = true;
        showState({ state: "bot" });
        return;
      }
      name = settings.assistant_name || name;
      welcome = settings.welcome || "";
      if (/^#[0-9a-fA-F]{6}$/.test(settings.colour || "")) $(".theme").textContent = `:host { --kl-colour: ${settings.colour} !important; }`;
      $("#title").textContent = name;
      launcher.setAttribute("aria-label", (panel.hidden ? "Open chat with " : "Close chat with ") + name);
      usable = true;
      const transcript = await client.resume().catch((e) => { bubble("error", e.message); return null; });
      if (!transcript) { fresh(); return; }
      for (const m of transcript.messages) appendSources(bubble(m.role, m.text, m.author), m.sources || []);
      showState(transcript);
      client.listen(onLive);
    }

    $(".theme").textContent = ":host { --kl-colour: #1f6feb !important; }";
    ratingForm();
    begin();
  }

  import(base + "/static/conversation-client.js").then(mount,
    () => console.warn(`chat widget: could not load ${base}/static/conversation-client.js`));
})();

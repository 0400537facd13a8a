// The customer chat page: the DOM around the shared conversation client (answers streamed, agent replies
// and state changes arriving live on the events stream).
import { ConversationClient, appendSources, messageElement, stateText } from "/static/conversation-client.js";

const $ = (id) => document.getElementById(id);
const client = new ConversationClient({ storageKey: "kl-conversation", channel: "web" });
let score = 0;

function bubble(role, text, author) {
  const div = messageElement(role, text, author);
  $("log").appendChild(div);
  $("log").scrollTop = $("log").scrollHeight;
  return div;
}

function showState(s) {
  const text = stateText(s);
  $("status").textContent = text;
  $("status").classList.toggle("hidden", !text);
  $("rating").classList.toggle("hidden", s.state !== "closed");
  $("send").classList.toggle("hidden", s.state === "closed");
  $("human").disabled = s.state !== "bot";
}

function onLive(type, data) {
  // the customer's own messages and the assistant's answers were drawn while streaming
  if (type === "message" && (data.role === "agent" || data.role === "system")) bubble(data.role, data.text, data.author);
  else if (type === "state") showState(data);
}

async function begin() {
  const transcript = await client.resume().catch(() => null);
  if (transcript) {
    for (const m of transcript.messages) appendSources(bubble(m.role, m.text, m.author), m.sources || []);
    showState(transcript);
  } else {
    await client.start();
    bubble("system", "Hello! Ask me anything. You can talk to a person at any time.");
  }
  client.listen(onLive);
}

async function send(text) {
  bubble("customer", text);
  let answer = null;
  const sources = [];
  try {
    await client.send(text, (type, data) => {
      if (type === "token") {
        answer = answer || bubble("assistant", "");
        answer.querySelector(".text").textContent += data.text;
        $("log").scrollTop = $("log").scrollHeight;
      } else if (type === "citation") sources.push(data);
      else if (type === "state") showState(data);
    });
  } catch (e) {
    bubble("system", e.message);
    return;
  }
  if (answer) appendSources(answer, sources);
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
  const ok = await client.rate(score, $("comment").value).then(() => true, () => false);
  $("rating").textContent = ok ? "Thank you for your rating!" : "The rating could not be saved.";
});
$("restart").addEventListener("click", () => { client.forget(); location.reload(); });
$("human").addEventListener("click", () => client.handoff().then(showState, (e) => bubble("system", e.message)));
$("send").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("message").value.trim();
  if (!text) return;
  $("message").value = "";
  send(text);
});
begin();

"""The Gradio chat UI at `/`: streamed answers, a sources panel, tool calls inline, uploads, index status.

It calls the same chat engine as the API, in-process. It loads nothing from the internet: system fonts,
no analytics, no CDN.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import gradio as gr
from fastapi import FastAPI

from ..chat import CitationEvent, DoneEvent, TokenEvent, ToolEvent
from .documents import DocumentError, DocumentFolder
from .state import AppState

log = logging.getLogger(__name__)

# System fonts only; the CJK names come before the generic families so Chinese never falls back to empty boxes
# (Linux: Debian's fonts-noto-cjk; Windows: Microsoft YaHei; macOS: PingFang SC).
CJK_FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "WenQuanYi Micro Hei"]
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", *CJK_FONTS, "sans-serif"],
                          font_mono=["ui-monospace", "Noto Sans Mono CJK SC", "monospace"])
TOOL_STATUS = {"ok": "done", "failed": "failed", "timeout": "timed out", "skipped-open": "unavailable right now",
               "needs-input": "needs more details"}


def sources_markdown(citations: list[CitationEvent]) -> str:
    if not citations:
        return "*No sources for this answer.*"
    return "\n\n".join(f"**[{c.number}] {c.source} — p. {c.page}**\n\n> {c.snippet}" for c in citations)


def tool_line(event: ToolEvent) -> str:
    label = event.name.replace("_", " ")
    detail = f": {event.message}" if event.message and event.status != "ok" else ""
    return f"*Tool: {label} {TOOL_STATUS.get(event.status, event.status)}{detail}*\n\n"


def build_ui(state: AppState) -> gr.Blocks:
    def folder() -> DocumentFolder:
        suffixes = tuple(s for loader in state.kb.loaders for s in loader.suffixes)
        max_bytes = int(min(state.settings.server.max_upload_mb, state.settings.ingest.max_file_mb) * 2**20)
        return DocumentFolder(state.settings.paths.knowledge, state.manifest, suffixes, max_bytes)

    def respond(message: str, history: list, session_id: str):
        message = (message or "").strip()
        if not message:
            yield history, gr.update(), ""
            return
        history = history + [{"role": "user", "content": message}, {"role": "assistant", "content": ""}]
        tools, answer, citations = "", "", []
        try:
            for event in state.engine.turn(message, session_id=session_id, channel="ui"):
                if isinstance(event, ToolEvent):
                    tools += tool_line(event)
                elif isinstance(event, TokenEvent):
                    answer += event.text
                elif isinstance(event, CitationEvent):
                    citations.append(event)
                elif isinstance(event, DoneEvent) and citations:
                    answer += "\n\n" + " · ".join(f"[{c.number}] {c.source} p.{c.page}" for c in citations)
                history[-1] = {"role": "assistant", "content": tools + answer}
                yield history, sources_markdown(citations), ""
        except Exception:  # a bug: say so plainly, keep the traceback in the log
            log.exception("chat turn failed", extra={"session_id": session_id})
            history[-1] = {"role": "assistant", "content": "Something went wrong on our side; please try again."}
            yield history, gr.update(), ""

    def upload(files: list[str] | None) -> str:
        lines = []
        for path in files or []:
            name = Path(path).name
            try:
                with open(path, "rb") as handle:
                    saved = folder().save(name, handle, replace=True)  # a new version dropped in the UI
                lines.append(f"Uploaded {saved.name} ({saved.size // 1024} KB): indexing…")
            except DocumentError as exc:
                lines.append(f"Not uploaded: {name}: {exc}")
        return "\n\n".join(lines)

    def status() -> str:
        docs = folder().list()
        rows = [f"| {d.name} | {d.status} | {d.chunks if d.status == 'indexed' else d.error[:80]} |" for d in docs]
        table = "| document | status | chunks / error |\n|---|---|---|\n" + "\n".join(rows) if rows else "*No documents yet.*"
        indexed = sum(1 for d in docs if d.status == "indexed")
        text = f"**{indexed} of {len(docs)} documents indexed** · {state.kb.keyword_index.count()} chunks\n\n{table}"
        if state.toolbox is not None:
            plugins = state.toolbox.status()
            lines = [f"- {name}: {info.state}" + (f" ({info.last_error[:80]})" if info.state != "closed" and info.last_error else "")
                     for name, info in sorted(plugins.items())]
            text += "\n\n**Plugins**\n\n" + ("\n".join(lines) if lines else "*none*")
        return text

    with gr.Blocks(title="kotaemon-like", analytics_enabled=False) as blocks:
        session = gr.State(lambda: uuid.uuid4().hex)
        gr.Markdown("## Customer assistant\nAnswers come from your documents, with the file and page of every source.")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Conversation", height=480, elem_id="chat")
                question = gr.Textbox(placeholder="Ask a question and press Enter", show_label=False, elem_id="question")
            with gr.Column(scale=2):
                sources = gr.Markdown("*Sources appear here.*", elem_id="sources", label="Sources")
        with gr.Accordion("Documents and status", open=False):
            files = gr.File(label="Add documents", file_count="multiple", elem_id="upload")
            upload_result = gr.Markdown(elem_id="upload-result")
            status_box = gr.Markdown(elem_id="status")
        question.submit(respond, [question, chatbot, session], [chatbot, sources, question])
        files.upload(upload, files, upload_result)
        timer = gr.Timer(2.0)
        timer.tick(status, None, status_box)
        blocks.load(status, None, status_box)
    return blocks


def mount_ui(app: FastAPI, state: AppState) -> FastAPI:
    key = os.environ.get(state.settings.server.api_key_env, "")
    auth = (lambda _user, password: password == key) if key else None
    upload_mb = min(state.settings.server.max_upload_mb, state.settings.ingest.max_file_mb)
    return gr.mount_gradio_app(app, build_ui(state), path="/", auth=auth, theme=THEME, ssr_mode=False,
                               max_file_size=int(upload_mb * 2**20),
                               auth_message="Sign in with any user name and the API key as password.")

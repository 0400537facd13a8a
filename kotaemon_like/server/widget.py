"""The embeddable widget's code: the script a site includes and the conversation client it shares with the
/chat page. (What it shows, the tenant's assistant name, welcome text and colour, comes from `GET /api/tenant`.)"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

STATIC = Path(__file__).parent / "static"
# other sites load these: cached for an hour (the embed line has no version to bust a longer cache), revalidated
# by ETag; the module is fetched in CORS mode by the widget's dynamic import, hence the open CORS on static code
SCRIPT_HEADERS = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff",
                  "Cross-Origin-Resource-Policy": "cross-origin", "Access-Control-Allow-Origin": "*"}

router = APIRouter(tags=["widget"])


def script(name: str, request: Request) -> Response:
    """The file, or 304 when the browser's copy (by ETag) is current."""
    path = STATIC / name
    response = FileResponse(path, media_type="text/javascript; charset=utf-8", headers=SCRIPT_HEADERS,
                            stat_result=path.stat())
    etag = response.headers["etag"]
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers={**SCRIPT_HEADERS, "ETag": etag})
    return response


@router.get("/widget.js", include_in_schema=False)
def widget_script(request: Request):
    return script("widget.js", request)


@router.get("/static/conversation-client.js", include_in_schema=False)
def client_module(request: Request):
    return script("conversation-client.js", request)


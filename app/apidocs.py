"""/api/docs: Swagger UI from the files the fastapi-offline package ships, not from a CDN,
so the page works on a laptop without internet. Development only (app.main).

FastAPI's own page starts Swagger UI with an inline script; here it is a file of ours, so
the page's Content-Security-Policy allows nothing but this server.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from app.errors import NotFound

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>redflag API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/api-docs.js"></script>
</body>
</html>
"""

# name: (package, folder, media type)
FILES = {
    "swagger-ui-bundle.js": ("fastapi_offline", "static", "text/javascript"),
    "swagger-ui.css": ("fastapi_offline", "static", "text/css"),
    "api-docs.js": ("app", "static", "text/javascript"),
}

router = APIRouter(include_in_schema=False)


@router.get("/api/docs")
def docs_page() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": CSP})


@router.get("/api/docs/{name}")
def docs_file(name: str) -> Response:
    if name not in FILES:
        raise NotFound("No such file of the API docs.")
    package, folder, media_type = FILES[name]
    return Response((resources.files(package) / folder / name).read_bytes(), media_type=media_type)

"""Liveness, readiness and metrics, outside `/api/v1`: no partner token, not in the API's
OpenAPI document (docs/deploy.md describes them)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from openbooking.kit import metrics
from openbooking.kit.envelope import JSONResponse
from openbooking.ops import service

router = APIRouter(tags=["ops"], include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz")
async def healthz() -> JSONResponse:
    """The process is up and serving."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 when the database (at the newest schema) and Redis (when configured) answer, else
    503 naming what does not."""
    state = request.app.state
    limiter = state.limiter if state.settings.redis_url else None
    result = await service.readiness(state.engine, limiter)
    return JSONResponse(
        {"status": "ok" if result.ready else "unavailable", "checks": result.checks},
        status_code=200 if result.ready else 503,
        headers=NO_STORE,
    )


@router.get("/metrics")
async def scrape(request: Request) -> Response:
    """Prometheus text format; see `service.authorize_scrape` for who may read it."""
    peer = request.client.host if request.client else None
    text = service.scrape(request.app.state.settings, peer, request.headers)
    return Response(text, media_type=metrics.CONTENT_TYPE, headers=NO_STORE)

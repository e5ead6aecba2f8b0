"""The ASGI application: `create_app(settings)` builds everything; nothing happens at import."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.staticfiles import StaticFiles

from openbooking import __version__
from openbooking.activities.endpoints import router as activities_router
from openbooking.admin.endpoints import router as admin_router
from openbooking.admin.session import AdminSession
from openbooking.auth.cache import PartnerCache
from openbooking.availability.endpoints import router as availability_router
from openbooking.backoffice.endpoints import router as backoffice_router
from openbooking.bookings.endpoints import router as bookings_router
from openbooking.catalog.endpoints import router as catalog_router
from openbooking.config import Settings
from openbooking.kit import metrics
from openbooking.kit.crypto import load_or_create_key
from openbooking.kit.db import create_engine, create_sessionmaker
from openbooking.kit.envelope import JSONResponse
from openbooking.kit.errors import install_error_handlers
from openbooking.kit.middleware import Edge
from openbooking.kit.openapi import install as install_openapi
from openbooking.kit.pool import BoundedPool, default_slots
from openbooking.kit.ratelimit import RateLimiter
from openbooking.kit.routing import include_flat
from openbooking.notifications.endpoints import router as calendar_router
from openbooking.ops.endpoints import router as ops_router
from openbooking.reviews.endpoints import router as reviews_router
from openbooking.sms.factory import create_sender
from openbooking.sms.metered import MeteredSender
from openbooking.verification.endpoints import router as verification_router
from openbooking.widget.endpoints import STATIC as WIDGET_STATIC
from openbooking.widget.endpoints import router as widget_router

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.responses import HTMLResponse

API_PREFIX = "/api/v1"
# Swagger UI 5 (reads OpenAPI 3.1) as shipped inside the fastapi-offline package: no CDN.
SWAGGER_UI_DIR = Path(fastapi_offline.__file__).parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = create_engine(
        settings.database_url, echo=settings.db_echo, pool_size=settings.database_pool_size
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await close_resources(app)

    app = FastAPI(
        title="OpenBooking",
        version=__version__,
        summary="The Altegio/YCLIENTS Online Booking API, self-hosted.",
        default_response_class=JSONResponse,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry bridge looks up the global providers on every request
        # (about 10 µs of a cheap one) only to find none: the server's metrics and access log
        # are its own (kit/metrics.py, kit/middleware.Edge).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.limiter = RateLimiter(settings.redis_url)
    app.state.partners = PartnerCache(settings.partner_cache_seconds)
    app.state.sms = MeteredSender(create_sender(settings), settings.sms_provider)
    metrics.watch_pool(engine)
    app.state.hashing = BoundedPool(
        settings.password_hash_slots or default_slots(), settings.password_hash_queue
    )
    app.state.secret_key = (
        settings.secret_key.get_secret_value().encode()
        if settings.secret_key
        else load_or_create_key(settings.var_dir / "secret-key")
    )
    install_error_handlers(app)
    install_openapi(app)
    # Flat, not nested as `include_router` would (kit/routing.py): the same routes, in order.
    include_flat(app, catalog_router, API_PREFIX)
    include_flat(app, availability_router, API_PREFIX)
    include_flat(app, verification_router, API_PREFIX)
    include_flat(app, bookings_router, API_PREFIX)
    include_flat(app, reviews_router, API_PREFIX)
    include_flat(app, activities_router, API_PREFIX)
    include_flat(app, backoffice_router, API_PREFIX)
    include_flat(app, ops_router)  # /healthz, /readyz, /metrics: no partner token
    include_flat(app, admin_router)  # /admin: the business page (docs/admin.md)
    include_flat(app, calendar_router)  # /calendar/...ics: the token in the path is the key
    include_flat(app, widget_router)  # /b/{form}, /r/{...}, /widget.js: pages, no token
    app.mount("/widget/static", StaticFiles(directory=str(WIDGET_STATIC)), name="widget")

    # Swagger UI from the installed package: no CDN at run time.
    app.mount("/docs/static", StaticFiles(directory=SWAGGER_UI_DIR), name="docs")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="OpenBooking API",
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon.png",
        )

    app.add_middleware(AdminSession)  # the admin page's cookie, for /api/v1 only
    # Outermost: request id, trailing slash, access log and metrics, body limits.
    app.add_middleware(
        Edge,
        max_bytes=settings.max_body_bytes,
        timeout=settings.body_timeout_seconds,
        api_prefix=API_PREFIX,
    )
    return app


async def close_resources(app: FastAPI) -> None:
    """What the lifespan releases at shutdown (tests call it for apps they build)."""
    await app.state.engine.dispose()
    await app.state.limiter.aclose()
    close = getattr(app.state.sms, "aclose", None)
    if close is not None:
        await close()
    metrics.process_exit()


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and worker processes (`openbooking serve`).

    What the process holds once the app is built (modules, the app, its routes and caches)
    lives as long as the process: `gc.freeze()` takes it out of the cyclic garbage collector's
    view. Under concurrent load the objects of requests in flight survive into the oldest
    generation, and each full collection then walked the whole heap (several % of a cheap
    request's CPU over HTTP, measured); now it walks what came after."""
    app = create_app(Settings())
    gc.freeze()
    return app

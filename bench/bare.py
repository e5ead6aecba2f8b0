"""The framework's own ceiling: a bare FastAPI app with one route answering constant JSON, served
by `bench.sidebyside` with the same uvicorn, protocol and event loop as OpenBooking."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

PATH = "/constant"
ANSWER = {"success": True, "data": {"en-US": "English"}, "meta": []}

app = FastAPI()


@app.get(PATH)
async def constant() -> dict[str, Any]:
    return ANSWER

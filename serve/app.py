"""`create_app(settings)`: the FastAPI app. The model is loaded and warmed in the lifespan, in the
background on the inference thread, so the process answers /healthz at once and /readyz turns
200 only when scoring will be fast; nothing is loaded at import time."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from classifiers import Brightline, __version__
from classifiers.items import Item

from .batcher import Scorer
from .errors import JSONResponse, install_error_handlers
from .metrics import Metrics, MetricsMiddleware
from .routers import health, metrics, models, moderations, score
from .schemas import ModerationRequest, ScoreBatch, ScoreItem
from .settings import Settings
from .state import ServiceState

log = logging.getLogger("serve")

# Warm-up touches every code path (system prompt, request head, pair head) once, so the first
# real request does not pay for onnxruntime's lazy allocations.
_WARMUP = [Item(id=None, request="warm-up request", system="warm-up system prompt",
                response="warm-up response. It has two sentences."), Item(id=None, request="second")]


def _load(settings: Settings) -> Brightline:
    model = Brightline.load(settings.model, threads=settings.threads, system_cache=settings.system_cache,
                            thresholds=settings.threshold_overrides, operating_point=settings.operating_point)
    model.score_items(_WARMUP)
    return model


async def _load_in_background(state: ServiceState) -> None:
    assert state.scorer is not None
    try:
        model = await state.scorer.run_sync(functools.partial(_load, state.settings))
    except Exception as exc:  # reported by /readyz and the log; the process stays up to say so
        state.load_error = f"{type(exc).__name__}: {exc}"
        log.error("model failed to load: %s", state.load_error)
        return
    state.model = model
    state.describe = model.describe()
    if model.system_cache is not None:
        state.metrics.watch_system_cache(model.system_cache)
    state.set_ready(True)
    log.info("model %s loaded and warmed from %s", model.model_id, model.bundle_dir)


def _score_fn(state: ServiceState) -> Any:
    def score_items(items: Sequence[Item]) -> list[dict[str, Any]]:
        assert state.model is not None
        return state.model.score_items(items)

    return score_items


def _lifespan(state: ServiceState) -> Any:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        s = state.settings
        state.scorer = Scorer(_score_fn(state), microbatch=s.microbatch, max_wait_s=s.max_batch_wait_ms / 1000,
                              max_items=s.max_batch_items, observe=state.metrics.observe_batch)
        state.scorer.start()
        loader = asyncio.create_task(_load_in_background(state), name="brightline-load")
        try:
            yield
        finally:
            # The server has stopped taking connections and finished in-flight requests by now;
            # finish anything still queued, then let the inference thread go.
            state.set_ready(False)
            if not loader.done():
                loader.cancel()
            await state.scorer.close()
            log.info("scorer stopped")

    return lifespan


def _install_openapi(app: FastAPI) -> None:
    """Routes that read their body by hand (serve/body.py) reference these schemas by name; put
    them, with their nested definitions, into the document's components."""
    body_models = (ScoreItem, ScoreBatch, ModerationRequest)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            for model in body_models:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            doc["components"]["schemas"] = dict(sorted(schemas.items()))
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app with its own state and metrics registry (so several can live in one process)."""
    settings = settings or Settings()
    state = ServiceState(settings=settings, metrics=Metrics())
    app = FastAPI(title="Brightline", version=__version__, lifespan=_lifespan(state),
                  default_response_class=JSONResponse,
                  description="Scores AI-assistant conversations against the constitution's rules.")
    app.state.service = state
    install_error_handlers(app)
    for module in (score, moderations, models, health, metrics):
        app.include_router(module.router)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    _install_openapi(app)
    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn worker processes: settings come from BRIGHTLINE_* variables."""
    return create_app(Settings())

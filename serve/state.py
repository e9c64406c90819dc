"""What the app holds between requests (settings, metrics, the scorer, the loaded model) and the
request dependencies that read it: readiness and the optional API key."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from classifiers import Brightline

from .batcher import Scorer
from .errors import ApiError
from .metrics import Metrics
from .settings import Settings


@dataclass
class ServiceState:
    settings: Settings
    metrics: Metrics
    scorer: Scorer | None = None
    model: Brightline | None = None
    ready: bool = False
    load_error: str | None = None
    describe: dict[str, Any] = field(default_factory=dict)

    def set_ready(self, ready: bool) -> None:
        self.ready = ready
        self.metrics.ready.set(1 if ready else 0)

    def model_names(self) -> set[str]:
        """Names a client may use for the served model: name@version, name, the bundle folder."""
        if self.model is None:
            return set()
        return {self.model.model_id, self.model.manifest.model_id, self.model.manifest.raw.get("name", ""),
                self.model.bundle_dir.name} - {""}


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


def ready_state(request: Request) -> ServiceState:
    """The state, once the model is loaded and warmed; 503 before (and while shutting down)."""
    state = get_state(request)
    if not state.ready or state.model is None or state.scorer is None:
        reason = f"model failed to load: {state.load_error}" if state.load_error else "model is not loaded yet"
        raise ApiError(503, "not_ready", reason, headers={"Retry-After": "1"})
    return state


async def require_api_key(request: Request) -> None:
    """Bearer-token check, off unless BRIGHTLINE_API_KEY is set. compare_digest takes the same
    time wherever the first differing byte is, so response timing does not leak the key.
    `async` although it never awaits: FastAPI runs a plain `def` dependency on a worker thread,
    a thread hop on every request (dependency solving took 0.77 ms a request under yappi's
    wall-clock profiler, which inflates it; the unprofiled gain was not separated from uvloop's)."""
    key = get_state(request).settings.api_key
    if key is None:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = key.get_secret_value().encode("utf-8")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode("utf-8", "replace"), expected):
        raise ApiError(401, "unauthorized", "missing or wrong API key: send 'Authorization: Bearer <key>'",
                       headers={"WWW-Authenticate": "Bearer"})

"""POST /v1/score: one item or a batch, scored exactly as `Brightline.score` would."""

from __future__ import annotations

import functools

from fastapi import APIRouter, Depends, Request

from classifiers.errors import InputError

from ..body import read_json
from ..errors import ApiError, JSONResponse
from ..schemas import ScoreResponse
from ..scoring import parse_score_body
from ..state import ready_state, require_api_key
from ._common import error_responses, json_body

router = APIRouter(prefix="/v1", tags=["score"], dependencies=[Depends(require_api_key)])


@router.post("/score", response_model=ScoreResponse, openapi_extra=json_body("ScoreItem", "ScoreBatch"),
             responses=error_responses(400, 401, 413, 415, 422, 503))
async def score(request: Request) -> JSONResponse:
    """Score one item `{id?, system?, request, response?}` or a batch `{"items": [...]}`. Results
    come back in input order, one record per item."""
    state = ready_state(request)
    data = await read_json(request, state.settings.max_body_bytes)
    items, explain = parse_score_body(data, state.settings.max_items_per_request)
    assert state.scorer is not None and state.model is not None
    if explain:
        # Triage, not the hot path: run alone on the inference thread rather than join a micro-batch.
        try:
            records = await state.scorer.run_sync(functools.partial(state.model.score_items, items, explain=explain))
        except InputError as exc:
            raise ApiError(422, "invalid_input", exc.reason, exc.field) from None
    else:
        records = await state.scorer.score(items)
    return JSONResponse({"model": state.model.model_id, "results": records})

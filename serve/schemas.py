"""Wire schemas: the JSON the service accepts and returns, as pydantic models. They document the
API (OpenAPI) and validate the parts the runtime does not own; item validation itself stays in
`classifiers.items` so the service accepts exactly what `Brightline.score` accepts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from classifiers.items import MAX_TEXT_CHARS


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class ScoreItem(_Strict):
    """One conversation turn to score."""

    id: str | int | None = Field(None, description="echoed back; defaults to the item's position")
    system: str | None = Field(None, max_length=MAX_TEXT_CHARS, description="operator/system prompt")
    request: str = Field(..., max_length=MAX_TEXT_CHARS, description="the user's turn (non-empty)")
    response: str | None = Field(None, max_length=MAX_TEXT_CHARS,
                                 description="the assistant reply to judge; response.* and verdict.* "
                                             "labels are scored only when it is given")
    explain: int = Field(0, ge=0, le=50, description="for each flagged label, the K nearest labelled examples "
                                                     "of the bundle's explain index (under `explain`)")


class ScoreBatch(_Strict):
    """Several items in one call; results come back in the same order."""

    items: list[ScoreItem] = Field(..., description="at most max_items_per_request (default 256)")
    explain: int = Field(0, ge=0, le=50, description="for each flagged label, the K nearest labelled examples "
                                                     "of the bundle's explain index (under `explain`)")


class Neighbour(BaseModel):
    label: int = Field(..., description="the example's value of the flagged label (1 agrees with the flag)")
    similarity: float
    text: str | None = Field(None, description="an excerpt; null where the source's licence does not allow "
                                               "shipping it (source and source_id point to it)")
    request: str | None = Field(None, description="for a reply label: the request the example replied to")
    source: str
    source_id: str
    license: str | None = None


class ScoreRecord(BaseModel):
    id: str | int = Field(..., description="the item's id, or its position in the request")
    scores: dict[str, float] = Field(..., description="label -> probability")
    flags: list[str] = Field(..., description="labels whose probability is at or over their threshold")
    model: str = Field(..., examples=["brightline-minilm@0.1.0"])
    explain: dict[str, list[Neighbour]] | None = Field(None, description="with `explain`: flagged label -> "
                                                                          "its nearest labelled examples")


class ScoreResponse(BaseModel):
    model: str
    results: list[ScoreRecord]


class ModerationInputPart(BaseModel):
    """OpenAI's omni input form: ``{"type": "text", "text": "…"}``. Images are refused (422)."""

    model_config = ConfigDict(strict=True, extra="ignore")

    type: str = Field(..., examples=["text"], description="'text' (an 'image_url' part is refused: text only)")
    text: str | None = Field(None, description="the text, for type 'text'")


class ModerationRequest(BaseModel):
    """OpenAI's moderation request. Extra fields are ignored, as OpenAI clients may send some."""

    model_config = ConfigDict(strict=True, extra="ignore")

    input: str | list[str] | list[ModerationInputPart] = Field(
        ..., description="one text, a list of texts, or OpenAI's omni form [{\"type\": \"text\", \"text\": …}]; "
                         "each text is scored as a request")
    model: str | None = Field(None, description="if given, the served model's name or one of OpenAI's "
                                                "(omni-moderation-latest, text-moderation-latest, …)")


class BrightlineVerdict(BaseModel):
    flags: list[str] = Field(..., description="our labels at or over their threshold")
    scores: dict[str, float] = Field(..., description="our label -> probability")


class ModerationResult(BaseModel):
    flagged: bool = Field(..., description="true when a label meaning unsafe content is flagged "
                                           "(classifiers.labels.UNSAFE_LABELS)")
    categories: dict[str, bool] = Field(..., description="OpenAI's categories, from our labels (docs/serve.md)")
    category_scores: dict[str, float]
    category_applied_input_types: dict[str, list[str]]
    brightline: BrightlineVerdict


class ModerationResponse(BaseModel):
    id: str
    model: str
    results: list[ModerationResult]


class ModelInfo(BaseModel):
    id: str = Field(..., description="name@version")
    object: Literal["model"] = "model"
    owned_by: str = "brightline"
    labels: list[str]
    thresholds: dict[str, float]


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelInfo]


class Health(BaseModel):
    status: str


class ErrorDetail(BaseModel):
    type: str = Field(..., examples=["invalid_input"])
    message: str
    field: str | None = Field(None, examples=["items[3].request"])


class ErrorResponse(BaseModel):
    error: ErrorDetail

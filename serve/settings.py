"""Service settings, from CLI flags and BRIGHTLINE_* environment variables, checked at start-up so
that a bad value stops the service with one clear line instead of failing on the first request."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class Settings(BaseSettings):
    """Every knob of the service. Environment: BRIGHTLINE_<FIELD> (e.g. BRIGHTLINE_API_KEY)."""

    model_config = SettingsConfigDict(env_prefix="BRIGHTLINE_", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", min_length=1, description="address to bind")
    port: int = Field(8000, ge=1, le=65535)
    model: str | None = Field(None, description="bundle directory or name (default: the shipped default model)")
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes (each loads its own model)")
    threads: int | None = Field(None, ge=1, le=256, description="onnxruntime intra-op threads per worker")
    system_cache: int = Field(256, ge=0, description="system-prompt embeddings kept per worker (0: off)")
    operating_point: str | None = Field(None, min_length=1, description="one of the bundle's named operating "
                                        "points (strict, balanced, permissive; default: its thresholds.json)")
    thresholds: str | None = Field(None, description="per-label overrides, 'LABEL=VALUE,LABEL=VALUE'")

    api_key: SecretStr | None = Field(None, description="if set, /v1/* requires 'Authorization: Bearer <key>'")

    microbatch: bool = Field(True, description="coalesce concurrent requests into one model call")
    max_batch_wait_ms: float = Field(0.0, ge=0, le=1000, description="extra wait for company before a batch goes out (0: greedy)")
    max_batch_items: int = Field(64, ge=1, le=4096, description="most items in one coalesced model call")

    max_body_bytes: int = Field(MIB, ge=1024, le=64 * MIB)
    max_items_per_request: int = Field(256, ge=1, le=10_000)

    graceful_timeout_s: float = Field(30.0, ge=0, le=3600, description="wait this long for in-flight requests")
    log_level: str = Field("info", pattern=r"^(critical|error|warning|info|debug)$")

    @field_validator("api_key")
    @classmethod
    def _non_empty_key(cls, value: SecretStr | None) -> SecretStr | None:
        # An empty key would look like "auth on" in a config file while accepting "Bearer ".
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("must not be empty; unset BRIGHTLINE_API_KEY to turn authentication off")
        return value

    @field_validator("thresholds")
    @classmethod
    def _overrides_parse(cls, value: str | None) -> str | None:
        # Syntax and range here; labels are checked against the bundle before the port is bound.
        if value is not None:
            from classifiers.thresholds import ThresholdError, choose, parse_overrides

            try:
                overrides = parse_overrides([value], "BRIGHTLINE_THRESHOLDS")
                choose({"default": dict.fromkeys(overrides, 0.5)}, "the model", None, overrides)
            except ThresholdError as exc:
                raise ValueError(str(exc)) from None
        return value

    @property
    def threshold_overrides(self) -> dict[str, float]:
        from classifiers.thresholds import parse_overrides

        return parse_overrides([self.thresholds], "BRIGHTLINE_THRESHOLDS") if self.thresholds else {}

    def to_env(self) -> dict[str, str]:
        """These settings as BRIGHTLINE_* variables, so that uvicorn worker processes (which build
        their own app from the environment) see exactly what the parent validated."""
        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"BRIGHTLINE_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
        return env

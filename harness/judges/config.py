"""The judge's configuration: which OpenAI-compatible endpoint grades MT-Bench, and how.

The API key is never a field: `api_key_env` names the environment variable that holds it, read
only when a client is built, so the key cannot reach a config dump, a record, a repr or a log.
"""
from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from harness.errors import HarnessError, redact

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ServeSpec(BaseModel):
    """A local judge: `vllm serve` of this model on 127.0.0.1 for the judging stage only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(description="HF checkpoint folder, GGUF file or pkg:<package>/<file>")
    max_model_len: int = Field(default=4096, ge=512, description="judge prompts with two answers are long")
    extra_args: list[str] = Field(default_factory=list, description="more `vllm serve` flags")
    timeout_s: float = Field(default=300.0, gt=0, description="how long to wait for the server")


class JudgeConfig(BaseModel):
    """An LLM judge behind an OpenAI-compatible ``/v1/chat/completions`` endpoint: a given
    `base_url`, or a local model that `serve` starts for the judging stage (no key needed)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    base_url: str | None = Field(default=None,
                                 description="e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1")
    serve: ServeSpec | None = None
    model: str = Field(description="judge model name sent to the endpoint, e.g. gpt-4 (with serve: the "
                                   "name the local server gives its model)")
    api_key_env: str | None = Field(
        default="OPENAI_API_KEY",
        description="NAME of the environment variable holding the key (None: endpoint needs none)")
    concurrency: int = Field(default=8, ge=1, le=1024)
    max_retries: int = Field(default=5, ge=0, le=50,
                             description="retries after the first attempt (429, 5xx, timeouts)")
    timeout_s: float = Field(default=120.0, gt=0)
    temperature: float = Field(default=0.0, ge=0)
    max_tokens: int = Field(default=2048, ge=1)
    mode: Literal["single", "pairwise"] = "single"
    baseline_model: str | None = Field(
        default=None, description="pairwise only: the model every answer is compared with")
    cost_per_1k_input: float = Field(default=0.0, ge=0, description="USD per 1k prompt tokens")
    cost_per_1k_output: float = Field(default=0.0, ge=0, description="USD per 1k completion tokens")
    backoff_base_s: float = Field(default=1.0, ge=0, description="first retry waits about this")
    backoff_max_s: float = Field(default=30.0, ge=0, description="cap on one retry's wait")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        """Checked even where no task is judged, so a typo never waits for the first judged run."""
        if v is None:
            return None
        from urllib.parse import urlsplit
        try:
            parts = urlsplit(v)
            parts.port  # noqa: B018 - raises ValueError on a port that is not a number
        except ValueError as exc:
            raise ValueError(f"not a valid URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:8000/v1")
        return v

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not _ENV_NAME.match(v):
            # Never echo the value: a user may have pasted the key itself here.
            raise ValueError("must be the NAME of an environment variable (letters, digits, _), "
                             "not the key itself")
        return v

    @model_validator(mode="after")
    def _endpoint(self, info: ValidationInfo) -> "JudgeConfig":
        both = self.base_url is not None and self.serve is not None
        neither = self.base_url is None and self.serve is None
        if both or (neither and not (info.context or {}).get("no_endpoint")):  # a dry run asks nothing
            raise ValueError("set base_url (an endpoint) or serve (a local model), one of them")
        if self.serve is not None:
            object.__setattr__(self, "api_key_env", None)  # our own server needs no key
        return self

    @model_validator(mode="after")
    def _pairwise_needs_baseline(self) -> "JudgeConfig":
        if self.mode == "pairwise" and not self.baseline_model:
            raise ValueError("mode 'pairwise' needs baseline_model")
        return self

    def api_key(self) -> str:
        """The key from the environment ('EMPTY' where the endpoint needs none)."""
        if self.api_key_env is None:
            return "EMPTY"
        key = os.environ.get(self.api_key_env)
        if not key:
            raise HarnessError(f"environment variable {self.api_key_env} (the judge's API key) "
                               "is not set", field="judge.api_key_env")
        return key

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.cost_per_1k_input
                + completion_tokens * self.cost_per_1k_output) / 1000.0

    def check_reachable(self, timeout_s: float = 10.0) -> None:
        """Fail fast, before any training: the key variable is set and the endpoint answers
        `GET /models` (a local judge: its model path is a model). The key is sent, never shown:
        errors name the variable, not its value."""
        import httpx

        if self.serve is not None:
            from harness.models.source import check_source
            check_source(self.serve.model, field="judge.serve.model")
            return

        key = self.api_key()
        url = self.base_url.rstrip("/") + "/models"
        try:
            resp = httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout_s)
        except httpx.HTTPError as exc:
            raise HarnessError(f"the judge endpoint does not answer GET {url} ({type(exc).__name__}: "
                               f"{redact(str(exc), [key])}); start it or fix base_url",
                               field="judge.base_url") from None
        if resp.status_code != 200:
            raise HarnessError(f"the judge endpoint answered GET {url} with HTTP {resp.status_code}"
                               f"{' (is the key in ' + str(self.api_key_env) + ' valid?)' if resp.status_code in (401, 403) else ''}",
                               field="judge.base_url")


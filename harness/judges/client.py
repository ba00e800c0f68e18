"""Async client for an OpenAI-compatible judge, with bounded concurrency and our own retries.

FastChat's `chat_completion_openai` used the removed ``openai.ChatCompletion`` API, retried 16
times with a fixed 10 s sleep, and returned "$ERROR$" on failure. Here: ``openai.AsyncOpenAI``
with the SDK's own retries off (``max_retries=0``), so every retry is ours and counted:
exponential backoff with jitter (at least Retry-After) on 429, 5xx, timeouts, connection resets and
bodies that are not valid JSON, at most
``cfg.max_retries`` retries. A call never raises: it returns a `JudgeCall` that is ok or carries
the reason it failed. Reasons are redacted so the API key can never reach a record or a log.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import random
import time
from typing import Any

import openai

from harness.errors import redact
from harness.judges.config import JudgeConfig

log = logging.getLogger("harness.judge")

Messages = list[dict[str, str]]


@dataclasses.dataclass
class JudgeCall:
    """One chat completion's outcome. `text` is None when the call failed."""

    ok: bool
    text: str | None = None
    reason: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    attempts: int = 0

    @property
    def usage(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}


def _retryable(exc: BaseException) -> bool:
    """Transport and decoding faults are retried: timeouts, resets, 408/409/429/5xx, and a 200
    whose body is not valid JSON (cut short on the way)."""
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, asyncio.TimeoutError,
                        openai.APIResponseValidationError, json.JSONDecodeError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return False


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    try:
        value = response.headers.get("retry-after") if response is not None else None
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class JudgeClient:
    """Chat completions against ``cfg.base_url`` with at most ``cfg.concurrency`` in flight."""

    def __init__(self, cfg: JudgeConfig) -> None:
        self.cfg = cfg
        self._secret = cfg.api_key()
        self._client = openai.AsyncOpenAI(base_url=cfg.base_url, api_key=self._secret,
                                          max_retries=0, timeout=cfg.timeout_s)
        self._sem = asyncio.Semaphore(cfg.concurrency)
        self.requests = 0  # HTTP attempts made, retries included

    def __repr__(self) -> str:
        return f"JudgeClient(model={self.cfg.model!r}, base_url={self.cfg.base_url!r})"

    def redact(self, text: str) -> str:
        return redact(text, [self._secret])

    def _backoff(self, attempt: int, exc: BaseException) -> float:
        delay = min(self.cfg.backoff_max_s, self.cfg.backoff_base_s * (2 ** attempt))
        delay *= 0.5 + random.random()  # jitter: 0.5x..1.5x
        hint = _retry_after(exc)
        if hint is not None:
            delay = max(delay, min(hint, self.cfg.backoff_max_s))
        return delay

    async def complete(self, messages: Messages) -> JudgeCall:
        start = time.perf_counter()
        attempts = 0
        reason = ""
        for attempt in range(self.cfg.max_retries + 1):
            attempts += 1
            try:
                async with self._sem:
                    self.requests += 1
                    resp = await self._client.chat.completions.create(
                        model=self.cfg.model, messages=messages, n=1,  # type: ignore[arg-type]
                        temperature=self.cfg.temperature, max_tokens=self.cfg.max_tokens)
                return self._success(resp, start, attempts)
            except Exception as exc:  # noqa: BLE001 - one failed judgment never stops the run
                reason = self.redact(_describe(exc))
                if not _retryable(exc) or attempt == self.cfg.max_retries:
                    if _retryable(exc):
                        reason = f"gave up after {attempts} attempts: {reason}"
                    log.warning("judge call failed: %s", reason)
                    break
                delay = self._backoff(attempt, exc)
                log.info("judge call retry %d/%d in %.2fs: %s", attempt + 1,
                         self.cfg.max_retries, delay, reason)
                await asyncio.sleep(delay)
        return JudgeCall(ok=False, reason=reason, attempts=attempts,
                         latency_s=time.perf_counter() - start)

    def _success(self, resp: Any, start: float, attempts: int) -> JudgeCall:
        latency = time.perf_counter() - start
        try:
            text = resp.choices[0].message.content
        except (AttributeError, IndexError, TypeError):
            return JudgeCall(ok=False, reason="malformed response: no choices[0].message",
                             attempts=attempts, latency_s=latency)
        usage = getattr(resp, "usage", None)
        pt = int(getattr(usage, "prompt_tokens", 0) or 0)
        ct = int(getattr(usage, "completion_tokens", 0) or 0)
        return JudgeCall(ok=True, text=text if text is not None else "", prompt_tokens=pt,
                         completion_tokens=ct, latency_s=latency, cost_usd=self.cfg.cost(pt, ct),
                         attempts=attempts)

    async def aclose(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> "JudgeClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {str(exc)[:300]}"
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        return f"connection error: {type(cause).__name__ if cause else ''} {str(exc)[:200]}".strip()
    return f"{type(exc).__name__}: {str(exc)[:300]}"

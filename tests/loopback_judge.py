"""A small, real OpenAI-compatible judge server on 127.0.0.1, for tests and benchmarks.

Stdlib only (http.server + threading). Endpoints: ``POST /v1/chat/completions`` and
``GET /v1/models``. Replies are deterministic functions of the prompt:

* an MT-Bench single-grading prompt (asks for "[[rating]]") gets "... Rating: [[r]]" with r in
  1..10 from a sha256 of the messages;
* a pairwise prompt (asks for "[[A]]") gets "[[A]]", "[[B]]" or "[[C]]" the same way;
* anything else gets a short fixed text.

Options: `latency_ms` (every chat request sleeps that long), fault injection by fractions of
requests — `fail_500`, `fail_429` (with Retry-After), `hang` (no answer for `hang_s`, past any
client timeout), `garbage` (a 200 reply with no verdict), `reset` (the connection closed with no
reply), `truncated` (a 200 whose JSON body is cut in half) — drawn from a seeded RNG, and `echo_key_401` (answer 401
quoting the bearer token back, as some real APIs do, to test redaction). `requests` counts
chat-completion requests, `faults` counts injected faults by kind,
`max_inflight` the most requests served at once.

Run standalone:  python tests/loopback_judge.py --latency-ms 200   (prints the base URL)
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

FAULT_KINDS = ("fail_500", "fail_429", "hang", "garbage", "reset", "truncated")


def deterministic_reply(messages: list[dict]) -> str:
    text = "\n".join(str(m.get("content", "")) for m in messages)
    h = int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:12], 16)
    if '"[[rating]]"' in text:
        return (f"The assistant's answer was read by the loopback judge. "
                f"Rating: [[{1 + h % 10}]]")
    if '"[[A]]"' in text:
        verdict = "ABC"[h % 3]
        return f"Comparing both answers, the loopback judge decides: [[{verdict}]]"
    return "Loopback reply."


class LoopbackJudge:
    def __init__(self, *, latency_ms: float = 0.0, fail_500: float = 0.0, fail_429: float = 0.0,
                 hang: float = 0.0, garbage: float = 0.0, reset: float = 0.0, truncated: float = 0.0,
                 hang_s: float = 30.0, seed: int = 0,
                 echo_key_401: bool = False, model: str = "loopback-judge",
                 reply: Callable[[list[dict]], str] | None = None, port: int = 0) -> None:
        self.latency_ms = latency_ms
        self.hang_s = hang_s
        self.echo_key_401 = echo_key_401
        self.model = model
        self.reply = reply or deterministic_reply
        self._port = port
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.requests = 0
        self.inflight = 0
        self.max_inflight = 0
        self.faults: collections.Counter[str] = collections.Counter()
        self.bodies: list[dict] = []
        self.auth_headers: list[str] = []
        self.set_faults(fail_500=fail_500, fail_429=fail_429, hang=hang, garbage=garbage, reset=reset,
                        truncated=truncated)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- configuration -----------------------------------------------------------------
    def set_faults(self, *, fail_500: float = 0.0, fail_429: float = 0.0, hang: float = 0.0,
                   garbage: float = 0.0, reset: float = 0.0, truncated: float = 0.0,
                   seed: int | None = None) -> None:
        """Fractions of chat requests to fail, by kind; `seed` restarts the fault RNG."""
        if seed is not None:
            self._rng = random.Random(seed)
        fr = {"fail_500": fail_500, "fail_429": fail_429, "hang": hang, "garbage": garbage, "reset": reset,
              "truncated": truncated}
        if sum(fr.values()) > 1.0 or min(fr.values()) < 0:
            raise ValueError("fault fractions must be >= 0 and sum to <= 1")
        with self._lock:
            self._fractions = fr

    def reset_counters(self) -> None:
        with self._lock:
            self.requests = 0
            self.max_inflight = 0
            self.faults.clear()
            self.bodies.clear()
            self.auth_headers.clear()

    def _draw_fault(self) -> str | None:
        u = self._rng.random()
        acc = 0.0
        for kind in FAULT_KINDS:
            acc += self._fractions[kind]
            if u < acc:
                return kind
        return None

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "LoopbackJudge":
        handler = _make_handler(self)
        self._server = _QuietServer(("127.0.0.1", self._port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="loopback-judge",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # releases hanging handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "LoopbackJudge":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _QuietServer(ThreadingHTTPServer):
    """A client that disconnects mid-request (a killed run) is normal here, not a traceback."""

    def handle_error(self, request, client_address) -> None:
        import sys
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


def _make_handler(judge: LoopbackJudge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence
            pass

        def _send(self, status: int, obj: dict, headers: dict[str, str] | None = None,
                  truncate: bool = False) -> None:
            body = json.dumps(obj).encode("utf-8")
            if truncate:  # a body cut in half, with a matching Content-Length: invalid JSON
                body = body[:len(body) // 2]
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_GET(self) -> None:  # noqa: N802
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [
                    {"id": judge.model, "object": "model", "created": 0, "owned_by": "loopback"}]})
            else:
                self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                return
            try:
                body = json.loads(raw or b"{}")
                messages = body["messages"]
            except (json.JSONDecodeError, KeyError, TypeError):
                self._send(400, {"error": {"message": "bad request body",
                                           "type": "invalid_request_error"}})
                return
            auth = self.headers.get("Authorization", "")
            with judge._lock:
                judge.inflight += 1
                judge.max_inflight = max(judge.max_inflight, judge.inflight)
            try:
                self._chat(body, messages, auth)
            finally:
                with judge._lock:
                    judge.inflight -= 1

        def _chat(self, body: dict, messages: list[dict], auth: str) -> None:
            with judge._lock:
                judge.requests += 1
                n = judge.requests
                judge.bodies.append(body)
                judge.auth_headers.append(auth)
                fault = judge._draw_fault()
                if fault:
                    judge.faults[fault] += 1
            if judge.latency_ms:
                time.sleep(judge.latency_ms / 1000.0)
            if judge.echo_key_401:
                token = auth.split(" ", 1)[-1]
                self._send(401, {"error": {"message": f"Incorrect API key provided: {token}",
                                           "type": "invalid_request_error",
                                           "code": "invalid_api_key"}})
                return
            if fault == "fail_500":
                self._send(500, {"error": {"message": "injected server error",
                                           "type": "server_error"}})
                return
            if fault == "fail_429":
                self._send(429, {"error": {"message": "injected rate limit",
                                           "type": "rate_limit_error"}}, {"Retry-After": "0"})
                return
            if fault == "hang":
                judge._stop.wait(judge.hang_s)
                self.close_connection = True
                return  # the client has timed out and gone; send nothing
            if fault == "reset":
                self.close_connection = True
                try:  # RST instead of FIN: the client sees "connection reset by peer"
                    import socket
                    import struct
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
                return
            content = ("I am not able to decide on this one." if fault == "garbage"
                       else judge.reply(messages))
            prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
            completion_tokens = len(content.split())
            self._send(200, {
                "id": f"chatcmpl-loopback-{n}", "object": "chat.completion",
                "created": int(time.time()), "model": body.get("model", judge.model),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens}}, truncate=fault == "truncated")

    return Handler


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    for kind in FAULT_KINDS:
        ap.add_argument(f"--{kind.replace('_', '-')}", type=float, default=0.0)
    a = ap.parse_args()
    srv = LoopbackJudge(port=a.port, latency_ms=a.latency_ms, fail_500=a.fail_500,
                        fail_429=a.fail_429, hang=a.hang, garbage=a.garbage).start()
    print(srv.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    main()

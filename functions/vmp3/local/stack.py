"""``vmp3 local up|down|status``: the whole system on one machine, without Docker or AWS."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from vmp3.errors import ConfigError, Unavailable

LOCALSTACK_PORT = 4566
LOCALSTACK_URL = f"http://127.0.0.1:{LOCALSTACK_PORT}"
# LocalStack runs only on Python 3.13 here, in its own venv; the newest releases of the
# last four packages break its import (measured, see ../shared/FACTS.md in the design notes).
LOCALSTACK_REQUIREMENTS = ("localstack-core[runtime]==2026.3.0", "cbor2<5.7",
                           "cryptography==43.0.3", "pyopenssl==24.2.1", "service_identity==24.2.0")
READY_TIMEOUT_S = 120.0
LOCAL_KEY_ID = "local-owner"
# Service start commands for machines where they are installed but not running.
REDIS_START = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
               "--save", "", "--appendonly", "no"]
RABBITMQ_START = ["rabbitmq-server", "-detached"]


@dataclass
class StackState:
    api_url: str = ""
    api_key: str = ""
    # Each stack its own owner, so stacks sharing one Redis never list each other's jobs.
    key_id: str = field(default_factory=lambda: f"{LOCAL_KEY_ID}-{secrets.token_hex(4)}")
    pids: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, state_dir: Path) -> StackState:
        path = state_dir / "state.json"
        return cls(**json.loads(path.read_text())) if path.exists() else cls()

    def save(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / "state.json"
        path.write_text(json.dumps(asdict(self), indent=2))
        path.chmod(0o600)  # it holds the local API key


def state_dir() -> Path:
    return Path(os.environ.get("VMP3_STATE_DIR", ".vmp3")).resolve()


def local_env(state: Path) -> dict[str, str]:
    """The environment every local service process runs with."""
    return {
        **os.environ,
        "VMP3_STAGE": "local",
        "VMP3_S3_ENDPOINT_URL": os.environ.get("VMP3_S3_ENDPOINT_URL", LOCALSTACK_URL),
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "VMP3_STATE_DIR": str(state),  # the gateway reads the API key from here
    }


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise Unavailable(f"{what} did not become ready within {timeout_s:.0f} s")


LOCALSTACK_SERVICES = ("s3", "secretsmanager")


def localstack_ready() -> bool:
    try:
        health = httpx.get(f"{LOCALSTACK_URL}/_localstack/health", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return False
    states = health.get("services", {})
    return all(states.get(name) in ("available", "running") for name in LOCALSTACK_SERVICES)


def find_python313() -> Path:
    candidates = [os.environ.get("VMP3_LOCALSTACK_PYTHON"), shutil.which("python3.13")]
    candidates += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"))
    candidates += sorted(str(p) for p in Path("/root/.pyenv/versions").glob("3.13*/bin/python3"))
    for candidate in candidates:
        if candidate and _runs_python313(candidate):
            return Path(candidate)
    raise ConfigError("LocalStack needs Python 3.13: install it or set VMP3_LOCALSTACK_PYTHON")


def _runs_python313(candidate: str) -> bool:
    """pyenv puts shims on PATH that exist but refuse to run, so each candidate is tried."""
    check = [candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 13)"]
    try:
        return subprocess.run(check, capture_output=True, timeout=30).returncode == 0
    except OSError:
        return False


def ensure_localstack_venv(state: Path) -> Path:
    venv = state / "localstack-venv"
    python = venv / "bin" / "python"
    marker = venv / ".vmp3-requirements"
    wanted = "\n".join(LOCALSTACK_REQUIREMENTS)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    print("installing LocalStack into", venv, "(once)", file=sys.stderr)
    subprocess.run([str(find_python313()), "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *LOCALSTACK_REQUIREMENTS],
                   check=True)
    marker.write_text(wanted)
    return python


def start_localstack(state: Path) -> int | None:
    """Start LocalStack on the host unless one already answers; its pid if we started it."""
    if localstack_ready():
        return None
    python = ensure_localstack_venv(state)
    env = {**os.environ, "GATEWAY_LISTEN": f"127.0.0.1:{LOCALSTACK_PORT}",
           "SERVICES": ",".join(LOCALSTACK_SERVICES),
           "S3_SKIP_SIGNATURE_VALIDATION": "0", "LOCALSTACK_VOLUME_DIR": str(state / "ls-data"),
           "SKIP_SSL_CERT_DOWNLOAD": "1", "DISABLE_EVENTS": "1"}
    pid = spawn([str(python), "-m", "localstack.runtime.main"], state / "localstack.log", env)
    wait_until(localstack_ready, "LocalStack")
    return pid


def spawn(argv: list[str], log_path: Path, env: dict[str, str]) -> int:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return proc.pid


def ensure_service(name: str, port: int, start: list[str]) -> None:
    """Make sure a local server answers; start it if it is installed but down."""
    if port_open("127.0.0.1", port):
        return
    if shutil.which(start[0]) is None:
        raise Unavailable(f"{name} is not running on port {port} and is not installed")
    subprocess.run(start, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: port_open("127.0.0.1", port), name, timeout_s=60)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_pid(pid: int, grace_s: float = 30.0) -> None:
    """SIGTERM the process group, then SIGKILL it if it outlives the grace period."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while pid_alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.2)
    if pid_alive(pid):
        os.killpg(pid, signal.SIGKILL)
        _reap(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def new_api_key() -> str:
    return "vmp3-local-" + secrets.token_urlsafe(24)

"""A local stand-in for Google's batchexecute endpoint: a real HTTP server with scripted answers."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import imageio_ffmpeg


@dataclass(frozen=True)
class Reply:
    """One scripted answer: an HTTP status, audio (status 200), a hang before answering, or no answer
    at all until the server closes (`never`)."""

    status: int = 200
    audio: bytes | None = None
    hang_s: float = 0.0
    never: bool = False


@dataclass
class Received:
    """A request as the server saw it."""

    at: float
    path: str
    body: str

    def texts(self) -> list[str]:
        """The text each RPC in the body asks to speak."""
        request = urllib.parse.parse_qs(self.body)["f.req"][0]
        return [json.loads(rpc[1])[0] for rpc in json.loads(request)[0]]


def batchexecute_body(mp3: bytes) -> str:
    """An answer in the shape Google sends and gTTS parses."""
    b64 = base64.b64encode(mp3).decode("ascii")
    envelope = json.dumps([["wrb.fr", "jQ1olc", json.dumps([b64]), None, None, None, "generic"]], separators=(",", ":"))
    return f')]}}\'\n\n{len(envelope)}\n{envelope}\n25\n[["e",4,null,null,120]]\n'


def make_mp3(path: Path, *, seconds: float = 0.5, frequency: int = 440) -> bytes:
    """A short sine MP3 (24 kHz mono, like Google's), encoded by the imageio-ffmpeg binary."""
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={frequency}:duration={seconds}:sample_rate=24000",
            "-ac",
            "1",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "32k",
            str(path),
        ],
        check=True,
    )
    return path.read_bytes()


@dataclass
class FakeGoogle:
    """Serves `script` in order, then `default` forever; records every request."""

    script: list[Reply]
    default: Reply
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        """Base URL to pass as the gtts host."""
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an IPv4 server's address
        return f"http://{host}:{port}"

    @property
    def count(self) -> int:
        """Requests received so far."""
        with self._lock:
            return len(self.received)

    def __enter__(self) -> FakeGoogle:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._closing.set()  # releases handlers that never answer
        self._server.shutdown()
        self._server.server_close()

    def _next(self, path: str, body: str) -> Reply:
        with self._lock:
            self.received.append(Received(time.monotonic(), path, body))
            index = len(self.received) - 1
        return self.script[index] if index < len(self.script) else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                reply = fake._next(self.path, self.rfile.read(length).decode("utf-8"))
                if reply.never:
                    fake._closing.wait()
                    return
                if reply.hang_s:
                    time.sleep(reply.hang_s)
                payload = batchexecute_body(reply.audio).encode() if reply.audio is not None else b"error"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *_args: object) -> None:
                pass

        return Handler

#!/usr/bin/env python3
"""A write target for the write probe's own tests: stores each write's key in memory and
reads it back, and misbehaves on request, so each outcome class can be produced on purpose.

  POST /orders             a write (key from the JSON body or the Idempotency-Key header)
  GET  /orders/KEY         200 {"key", "count"} when stored, 404 {"count": 0} when not
  POST /admin/write/MODE   ok | fail (503, not stored) | lose (201, NOT stored: an acknowledged
                           write lost) | dup (201, stored twice) | hang (stored, answered after
                           3 s: an unknown outcome that landed) | bad_gateway (502, not stored)
                           and, each stored once, how the answer is framed: chunked (in chunks)
                           | close (Connection: close) | to_close (no length: the body runs to
                           the close) | idle_close (a kept-alive answer, then the connection
                           closed unannounced, as an idle timeout does) | garbage (not HTTP)
  POST /admin/verify/MODE  ok | garbage (200 with a body that is not JSON) | error (500) |
                           soft404 (200 {"error": "not found"}: JSON, but no count) |
                           slow (answers as ok, after 1.5 s)
  GET  /admin/keys         every stored key, one per line
  GET  /admin/lost         every key acknowledged in `lose` mode, one per line

  write_store.py PORT_FILE     (PORT_FILE gets the port it listens on)
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
stored = {}
lost = []
modes = {"write": "ok", "verify": "ok"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = self.path.strip("/").split("/")
        if parts[0] == "admin" and len(parts) == 3:
            modes[parts[1]] = parts[2]
            return self.answer(200, {"mode": modes})
        if self.path != "/orders":
            return self.answer(404, {"error": "no such path"})
        try:
            key = json.loads(raw or b"{}").get("key") or self.headers.get("Idempotency-Key")
        except ValueError:
            key = self.headers.get("Idempotency-Key")
        if not key:
            return self.answer(400, {"error": "no key"})
        mode = modes["write"]
        if mode == "fail":
            return self.answer(503, {"error": "read_only", "message": "not the primary"})
        if mode == "bad_gateway":
            return self.answer(502, "bad gateway", "text/plain")
        with lock:
            if mode == "lose":
                lost.append(key)
            else:
                stored[key] = stored.get(key, 0) + (2 if mode == "dup" else 1)
        if mode == "hang":
            time.sleep(3)
        if mode in ("chunked", "close", "to_close", "idle_close", "garbage"):
            return self.framed(mode, json.dumps({"key": key}).encode())
        self.answer(201, {"key": key})

    def framed(self, mode, data):
        self.close_connection = mode != "chunked"
        if mode == "garbage":
            self.wfile.write(b"SSH-2.0-OpenSSH_9.2\r\n")
            return
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        if mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        elif mode == "close":
            self.send_header("Connection", "close")
        if mode in ("close", "idle_close"):
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if mode == "chunked":
            half = len(data) // 2
            for part in (data[:half], data[half:], b""):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        else:
            self.wfile.write(data)

    def do_GET(self):
        if self.path in ("/admin/keys", "/admin/lost"):
            with lock:
                keys = stored if self.path == "/admin/keys" else lost
                return self.answer(200, "".join(k + "\n" for k in keys), "text/plain")
        if not self.path.startswith("/orders/"):
            return self.answer(404, {"error": "no such path"})
        key = self.path[len("/orders/"):]
        mode = modes["verify"]
        if mode == "garbage":
            return self.answer(200, "<html>maintenance</html>", "text/html")
        if mode == "slow":
            time.sleep(1.5)
        if mode == "soft404":
            return self.answer(200, {"error": "not found"})
        if mode == "error":
            return self.answer(500, {"error": "verify broken"})
        with lock:
            count = stored.get(key, 0)
        self.answer(200 if count else 404, {"key": key, "count": count})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(sys.argv[1] + ".tmp", "w") as out:
    out.write(str(server.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()

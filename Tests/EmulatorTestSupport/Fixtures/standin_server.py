#!/usr/bin/env python3
"""A stand-in for the WeChat media API that answers with replies the test chooses: hostile
values a real server should never send. Usage: standin_server.py CONFIG_JSON

CONFIG_JSON holds raw reply bodies (sent byte for byte, so a test can send 1.5 or
9223372036854775807 exactly as written):
  "token":  body for /cgi-bin/token and /cgi-bin/stable_token
  "upload": body for POST /cgi-bin/media/upload (the multipart body is read and discarded)
  "get":    optional {"headers": [[name, value], ...], "body": "..."} for GET and HEAD of
            /cgi-bin/media/get; without it, the 40007 error JSON
GET /_counts answers how many requests each path got. Binds 127.0.0.1 on a free port and
prints that port on one line once it listens."""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONFIG = json.loads(sys.argv[1])
NOT_FOUND = '{"errcode":40007,"errmsg":"invalid media_id hint: [standin]"}'
COUNTS = {}
COUNTS_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def discard_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                self.rfile.read(size + 2)
                if size == 0:
                    break
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 65536))
                if not chunk:
                    break
                remaining -= len(chunk)

    def reply(self, body, headers=None, send_body=True):
        data = body.encode()
        self.send_response(200)
        headers = headers or [["Content-Type", "application/json; encoding=utf-8"]]
        names = {name.lower() for name, _ in headers}
        for name, value in headers:
            self.send_header(name, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(data)))
        else:
            # The stated length is not the body's: end the connection so nothing else is framed by it.
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    def answer(self, send_body=True):
        path = self.path.split("?")[0]
        with COUNTS_LOCK:
            COUNTS[path] = COUNTS.get(path, 0) + 1
        self.discard_body()
        if path in ("/cgi-bin/token", "/cgi-bin/stable_token"):
            self.reply(CONFIG["token"], send_body=send_body)
        elif path == "/cgi-bin/media/upload":
            self.reply(CONFIG["upload"], send_body=send_body)
        elif path == "/cgi-bin/media/get" and "get" in CONFIG:
            self.reply(CONFIG["get"].get("body", ""), CONFIG["get"].get("headers"), send_body)
        elif path == "/_counts":
            with COUNTS_LOCK:
                counts = json.dumps(COUNTS)
            self.reply(counts, send_body=send_body)
        else:
            self.reply(NOT_FOUND, send_body=send_body)

    def do_GET(self):
        self.answer()

    def do_POST(self):
        self.answer()

    def do_HEAD(self):
        self.answer(send_body=False)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()

"""Probe: how fast is Python's ThreadingHTTPServer at serving the same pages?

Serves the body in argv[2] (a page fetched once from ldbench_server) for every
GET, with keep-alive and Content-Length, on 127.0.0.1:argv[1] (0 = any port;
the port is printed on stdout).  Used by bench/run.sh only to record why the
benchmark uses the C server: the work per request is the smallest possible (no
rendering at all), so this is an upper bound of what such a server can do.
Ends itself after argv[3] seconds (default 120).
"""
import http.server
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    body = b""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def main():
    with open(sys.argv[2], "rb") as f:
        Handler.body = f.read()
    lifetime = float(sys.argv[3]) if len(sys.argv) > 3 else 120.0
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    threading.Timer(lifetime, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A byte-transparent recording relay between ldai_fdw and the stand-in, with every exchange
validated by Stoplight Prism on the side.  Standard library only.

    relay.py --upstream http://127.0.0.1:STANDIN --port-file RELAY_PORT_FILE \\
             --replay-port-file REPLAY_PORT_FILE --prism-port-file PRISM_PORT_FILE --out exchanges.jsonl

Data path:   FDW --TCP--> relay --TCP--> stand-in
  Each connection the FDW opens gets exactly one connection to the stand-in, and the bytes are
  copied unchanged both ways (gzip, Content-Length, stalls, half bodies, closes: all as sent), so
  the FDW and the stand-in's request log see the same thing as without the relay.  A copy of each
  direction is parsed into HTTP messages and paired into exchanges.

Validation:  relay --> Prism proxy --> relay's replay port
  Once an exchange is over, a worker sends its request (the FDW's method, target, headers and body)
  to `prism proxy SPEC http://127.0.0.1:REPLAY`; Prism validates it, forwards it to the replay port,
  which answers with the stand-in's recorded response byte for byte (plus `Connection: close`), and
  Prism validates that.  The violations come back in Prism's `sl-violations` header.
  An exchange without a complete response (a stall, a truncated body, a client that gave up) is
  replayed as an empty 204 so that the request still gets validated; its response-side findings
  are dropped and it is marked `incomplete` instead.
  Control requests (`/_test/...`) pass through but are not validated.

One JSON line per exchange is appended to --out (see report.py); the file is opened for each line,
so moving it away starts a new one.  SIGTERM: stop accepting, close open
connections, finish validating, exit 0.  The Prism port is read from --prism-port-file when the
first exchange needs it (the relay must be up before Prism, whose upstream is the replay port).
"""
import argparse
import collections
import http.client
import itertools
import json
import os
import queue
import signal
import socket
import socketserver
import sys
import threading
import time
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
              "upgrade", "expect", "host", "content-length", "proxy-authorization", "proxy-authenticate"}
EMPTY_204 = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
EXCHANGE_HEADER = "x-ldai-exchange"


def write_port_file(path, port):
    """Write port to path atomically."""
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------
# Incremental HTTP/1.1 message parser (a copy of one direction of a connection)
# ---------------------------------------------------------------------------

class Message:
    """One HTTP message: start line, headers, body (de-chunked) and the raw bytes as seen."""

    def __init__(self, head):
        """Parse the head (start line and headers, up to and including the blank line)."""
        lines = head.decode("latin-1").split("\r\n")
        self.start = lines[0]
        self.headers = []
        for line in lines[1:]:
            if not line:
                continue
            if line[0] in " \t" and self.headers:          # obsolete line folding
                name, value = self.headers[-1]
                self.headers[-1] = (name, value + " " + line.strip())
                continue
            name, _, value = line.partition(":")
            self.headers.append((name.strip(), value.strip()))
        self.raw = bytearray(head)
        self.body = bytearray()
        self.chunked = False
        self.complete = False

    def header(self, name):
        """The value of header name (repeats joined with ', '), or None."""
        values = [v for n, v in self.headers if n.lower() == name]
        return ", ".join(values) if values else None


class Parser:
    """Feeds bytes in, hands complete heads and messages to callbacks.

    For requests, on_head(msg) is called when a head is complete; for responses, on_head(msg)
    must return the request method (for HEAD) or None.  on_done(msg) is called when a message
    is complete.  Interim 1xx responses are skipped (passed through, never paired)."""

    def __init__(self, is_response, on_head, on_done):
        """Start in the head state."""
        self.is_response, self.on_head, self.on_done = is_response, on_head, on_done
        self.buf = bytearray()
        self.msg = None
        self.mode = None            # "length", "chunked" or "close"
        self.left = 0               # bytes left of the body (length) or of the current chunk
        self.chunk_state = "size"   # size, data, crlf, trailer
        self.broken = False         # set by the relay when parsing failed; the bytes still flow

    def feed(self, data):
        """Consume data."""
        self.buf += data
        while self.buf:
            if self.msg is None:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(self.buf[:end + 4])
                del self.buf[:end + 4]
                self.start_message(Message(head))
            elif self.mode == "length":
                take = self.buf[:self.left]
                del self.buf[:len(take)]
                self.msg.raw += take
                self.msg.body += take
                self.left -= len(take)
                if self.left == 0:
                    self.finish()
            elif self.mode == "close":
                self.msg.raw += self.buf
                self.msg.body += self.buf
                self.buf.clear()
            elif not self.feed_chunked():
                return

    def start_message(self, msg):
        """A head is complete: decide how the body is framed."""
        method = None
        if self.is_response:
            try:
                status = int(msg.start.split(" ", 2)[1])
            except (IndexError, ValueError):
                status = 0
            msg.status = status
            if 100 <= status < 200 and status != 101:
                return          # interim response, e.g. 100 Continue
            method = self.on_head(msg)
        else:
            parts = msg.start.split(" ")
            msg.method = parts[0]
            msg.target = parts[1] if len(parts) > 1 else ""
            self.on_head(msg)
        self.msg = msg
        te = (msg.header("transfer-encoding") or "").lower()
        length = msg.header("content-length")
        if self.is_response and (method == "HEAD" or msg.status in (204, 304)):
            self.finish()
        elif "chunked" in te:
            msg.chunked = True
            self.mode, self.chunk_state = "chunked", "size"
        elif length is not None and length.strip().isdigit():
            self.mode, self.left = "length", int(length)
            if self.left == 0:
                self.finish()
        elif self.is_response:
            self.mode = "close"
        else:
            self.finish()

    def feed_chunked(self):
        """Advance through chunked framing; False when more bytes are needed."""
        if self.chunk_state in ("size", "crlf", "trailer"):
            end = self.buf.find(b"\r\n")
            if end < 0:
                return False
            line = bytes(self.buf[:end])
            del self.buf[:end + 2]
            self.msg.raw += line + b"\r\n"
            if self.chunk_state == "crlf":
                self.chunk_state = "size"
            elif self.chunk_state == "trailer":
                if not line:
                    self.finish()
            else:
                try:
                    self.left = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    self.left = 0
                self.chunk_state = "data" if self.left else "trailer"
            return True
        take = self.buf[:self.left]
        del self.buf[:len(take)]
        self.msg.raw += take
        self.msg.body += take
        self.left -= len(take)
        if self.left == 0:
            self.chunk_state = "crlf"
        return True

    def finish(self):
        """The current message is complete."""
        msg, self.msg, self.mode = self.msg, None, None
        msg.complete = True
        self.on_done(msg)

    def eof(self):
        """The stream ended: a body framed by the close is complete; returns a partial message or None."""
        if self.msg is not None and self.mode == "close":
            self.finish()
        return self.msg


# ---------------------------------------------------------------------------
# Exchanges and the relay's connections
# ---------------------------------------------------------------------------

SEQ = itertools.count(1)
CONN_IDS = itertools.count(1)


class Exchange:
    """A request and (if any) its complete response."""

    def __init__(self, conn, request):
        """A new exchange for a request whose head has just been read."""
        self.seq = next(SEQ)
        self.conn, self.request = conn, request
        self.response = None
        self.incomplete = None
        self.violations = []
        self.prism_status = None
        self.prism_error = None
        self.prism_logged_errors = 0            # error-level violations Prism reported (and logged)
        self.control = urlsplit(request.target).path.startswith("/_test/")

    def record(self):
        """The JSON line of this exchange."""
        req, resp = self.request, self.response
        target = urlsplit(req.target)
        body = bytes(req.body).decode("utf-8", "replace") if req.body else None
        return {"seq": self.seq, "conn": self.conn.id, "upstream_port": self.conn.upstream_port,
                "control": self.control, "method": req.method, "target": req.target,
                "path": target.path, "query": target.query,
                "request_headers": req.headers, "request_chunked": req.chunked, "request_body": body,
                "status": resp.status if resp else None,
                "response_headers": resp.headers if resp else None,
                "response_bytes": len(resp.body) if resp else None,
                "incomplete": self.incomplete, "violations": self.violations,
                "prism_status": self.prism_status, "prism_error": self.prism_error,
                "prism_logged_errors": self.prism_logged_errors}


class Connection:
    """One relayed TCP connection: two pumps, two parsers, requests paired with responses in order."""

    def __init__(self, relay, down):
        """Connect to the stand-in for this client connection."""
        self.relay, self.down = relay, down
        self.id = next(CONN_IDS)
        self.up = socket.create_connection(relay.upstream)
        for s in (self.down, self.up):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.upstream_port = self.up.getsockname()[1]
        self.lock = threading.Lock()
        self.waiting = collections.deque()      # exchanges whose response head has not come yet
        self.current = None                     # the exchange whose response is being read
        self.first_close = None                 # "client", "server" or "relay": whose stream ended first
        self.req_parser = Parser(False, self.request_head, lambda msg: None)
        self.resp_parser = Parser(True, self.response_head, self.response_done)

    def request_head(self, msg):
        """A request head went by: queue its exchange (the body fills in as it is parsed)."""
        with self.lock:
            self.waiting.append(Exchange(self, msg))

    def response_head(self, msg):
        """A response head went by: pair it with the oldest waiting request; returns that method."""
        with self.lock:
            self.current = self.waiting.popleft() if self.waiting else None
        return self.current.request.method if self.current else None

    def response_done(self, msg):
        """A response is complete: its exchange is ready for validation."""
        with self.lock:
            ex, self.current = self.current, None
        if ex is not None:
            ex.response = msg
            self.relay.done(ex)

    def parse(self, parser, data):
        """Feed the parser; a parser failure must never disturb the bytes being relayed."""
        if parser.broken:
            return
        try:
            parser.feed(data)
        except Exception as err:                # pylint: disable=broad-except
            parser.broken = True
            sys.stderr.write("relay: connection %d: cannot parse HTTP any more: %r\n" % (self.id, err))
            self.relay.done({"seq": next(SEQ), "conn": self.id, "upstream_port": self.upstream_port,
                             "control": False, "method": "?", "target": "?", "path": "?", "query": "",
                             "status": None, "violations": [], "prism_status": None, "prism_error": None,
                             "incomplete": "the relay could not parse this connection's HTTP: %r" % (err,)})

    def pump(self, src, dst, parser, from_client):
        """Copy src to dst until EOF or an error; parse a copy (requests before forwarding them)."""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_client:
                    self.parse(parser, data)
                    dst.sendall(data)
                else:
                    dst.sendall(data)
                    self.parse(parser, data)
        except OSError:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        finally:
            with self.lock:
                if self.first_close is None:
                    self.first_close = "relay" if self.relay.stopping.is_set() else \
                        "client" if from_client else "server"
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def run(self):
        """Relay until both directions are done, then settle what is left."""
        back = threading.Thread(target=self.pump, args=(self.up, self.down, self.resp_parser, False), daemon=True)
        back.start()
        self.pump(self.down, self.up, self.req_parser, True)
        back.join()
        for s in (self.down, self.up):
            s.close()
        partial = self.resp_parser.eof()
        leftovers = []
        with self.lock:
            if self.current is not None:
                got = len(partial.body) if partial is not None else 0
                self.current.incomplete = "response cut off after %d body bytes (%s)" % (got, self.who_closed())
                leftovers.append(self.current)
            for ex in self.waiting:
                ex.incomplete = "no response (%s)" % self.who_closed()
                leftovers.append(ex)
            self.current, self.waiting = None, collections.deque()
        for ex in leftovers:
            self.relay.done(ex)

    def who_closed(self):
        """Why a response is missing, as far as the relay can tell."""
        return {"client": "client closed the connection first", "server": "server closed the connection",
                "relay": "relay stopped"}.get(self.first_close, "relay stopped")

    def close_now(self):
        """Shut both sockets down (on relay stop)."""
        for s in (self.down, self.up):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


# ---------------------------------------------------------------------------
# Validation through Prism, and the replay port Prism forwards to
# ---------------------------------------------------------------------------

class Replay(socketserver.ThreadingTCPServer):
    """Answers each request from Prism with the recorded response named by its x-ldai-exchange header."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        """Listen on a free loopback port."""
        self.responses = {}
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), ReplayHandler)


class ReplayHandler(socketserver.StreamRequestHandler):
    """One replayed response per connection."""

    def handle(self):
        """Read the request (head and sized body), answer with the recorded bytes, close."""
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = self.rfile.readline(65537)
            if not line:
                return
            head += line
        msg = Message(head)
        length = msg.header("content-length")
        if length and length.isdigit():
            self.rfile.read(int(length))
        with self.server.lock:
            raw = self.server.responses.pop(msg.header(EXCHANGE_HEADER), None)
        self.wfile.write(raw if raw is not None else
                         b"HTTP/1.1 599 Unknown Exchange\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def with_connection_close(raw):
    """The recorded response with `Connection: close` in place of any Connection header."""
    end = raw.find(b"\r\n\r\n")
    lines = [line for line in raw[:end].split(b"\r\n")
             if not line.lower().startswith((b"connection:", b"keep-alive:"))]
    return b"\r\n".join(lines + [b"Connection: close"]) + raw[end:]


class Relay:
    """The listening relay, its connections, the validation worker and the output file."""

    def __init__(self, args):
        """Open the listening socket, the replay server and the output."""
        up = urlsplit(args.upstream)
        self.upstream = (up.hostname, up.port)
        self.prism_port_file = args.prism_port_file
        self.prism_port = None
        self.out = args.out
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", args.port))
        self.listener.listen(128)
        self.replay = Replay()
        self.queue = queue.Queue()
        self.stopping = threading.Event()
        self.conns = set()
        self.conns_lock = threading.Lock()
        self.counts = collections.Counter()

    def serve(self):
        """Accept connections until stopped."""
        while not self.stopping.is_set():
            try:
                down, _ = self.listener.accept()
            except OSError:
                break
            try:
                conn = Connection(self, down)
            except OSError as err:
                sys.stderr.write("relay: cannot reach the stand-in: %s\n" % err)
                down.close()
                continue
            with self.conns_lock:
                self.conns.add(conn)
            threading.Thread(target=self.run_conn, args=(conn,), daemon=True).start()

    def run_conn(self, conn):
        """Run one connection and forget it afterwards."""
        try:
            conn.run()
        finally:
            with self.conns_lock:
                self.conns.discard(conn)

    def done(self, ex):
        """An exchange is over: validate it (in order, on the worker)."""
        self.queue.put(ex)

    def worker(self):
        """Validate exchanges one by one; None ends the loop."""
        while True:
            ex = self.queue.get()
            if ex is None:
                return
            if isinstance(ex, dict):                # a finding of the relay itself
                with open(self.out, "a", encoding="utf-8") as out:
                    out.write(json.dumps(ex, sort_keys=True) + "\n")
                continue
            try:
                if not ex.control:
                    self.validate(ex)
            except Exception as err:        # keep going; the report counts this as a failure
                ex.prism_error = "relay could not validate: %r" % (err,)
            self.counts["control" if ex.control else "api"] += 1
            with open(self.out, "a", encoding="utf-8") as out:     # reopened: the file may be moved away
                out.write(json.dumps(ex.record(), sort_keys=True) + "\n")

    def prism(self):
        """Prism's port, read from its port file when first needed (waits up to 60 s)."""
        deadline = time.time() + 60
        while self.prism_port is None:
            try:
                with open(self.prism_port_file) as f:
                    self.prism_port = int(f.read())
            except (OSError, ValueError):
                if time.time() > deadline:
                    raise RuntimeError("no Prism port in %s" % self.prism_port_file)
                time.sleep(0.05)
        return self.prism_port

    def validate(self, ex):
        """Send the exchange's request through Prism, which validates it and the replayed response."""
        req = ex.request
        raw = with_connection_close(bytes(ex.response.raw)) if ex.response else EMPTY_204
        with self.replay.lock:
            self.replay.responses[str(ex.seq)] = raw
        body = bytes(req.body)
        conn = http.client.HTTPConnection("127.0.0.1", self.prism(), timeout=60)
        try:
            conn.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", "127.0.0.1:%d" % self.prism_port)
            for name, value in req.headers:
                if name.lower() not in HOP_BY_HOP and name.lower() != EXCHANGE_HEADER:
                    conn.putheader(name, value)
            conn.putheader(EXCHANGE_HEADER, str(ex.seq))
            if body or req.header("content-length") is not None or req.chunked:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            resp = conn.getresponse()
            answer = resp.read()
            header = resp.getheader("sl-violations")
            ex.prism_status = resp.status
        finally:
            conn.close()
        with self.replay.lock:
            self.replay.responses.pop(str(ex.seq), None)
        if header:
            if header.startswith("Too many violations!"):
                ex.violations = [{"severity": "Error", "location": ["prism"],
                                  "message": "too many violations for the sl-violations header; see prism.log"}]
            else:
                ex.violations = json.loads(header)
                ex.prism_logged_errors = sum(1 for v in ex.violations if v.get("severity") == "Error")
        expected_status = ex.response.status if ex.response else 204
        if resp.status != expected_status:
            ex.prism_error = "Prism answered %d instead of the replayed %d: %s" % (
                resp.status, expected_status, answer[:500].decode("utf-8", "replace"))
        if ex.response is None:
            ex.violations = [v for v in ex.violations if v.get("location", [""])[0] != "response"]

    def stop(self):
        """Stop accepting, cut open connections, finish the queue."""
        self.stopping.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.conns_lock:
            conns = list(self.conns)
        for conn in conns:
            conn.close_now()
        deadline = time.time() + 10
        while time.time() < deadline:
            with self.conns_lock:
                if not self.conns:
                    break
            time.sleep(0.02)


def main(argv=None):
    """Run the relay until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upstream", required=True, help="the stand-in, http://127.0.0.1:PORT")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True, help="the relay's port is written here")
    parser.add_argument("--replay-port-file", required=True, help="the replay port (Prism's upstream)")
    parser.add_argument("--prism-port-file", required=True, help="read Prism's port from here")
    parser.add_argument("--out", required=True, help="append one JSON line per exchange")
    args = parser.parse_args(argv)
    relay = Relay(args)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=relay.replay.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    threading.Thread(target=relay.serve, daemon=True).start()
    worker = threading.Thread(target=relay.worker, daemon=True)
    worker.start()
    write_port_file(args.replay_port_file, relay.replay.server_address[1])
    write_port_file(args.port_file, relay.listener.getsockname()[1])
    stop.wait()
    relay.stop()
    relay.queue.put(None)
    worker.join(timeout=120)
    relay.replay.shutdown()
    sys.stderr.write("relay: %d API exchanges validated, %d control requests passed through\n"
                     % (relay.counts["api"], relay.counts["control"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

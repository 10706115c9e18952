"""A small NATS client over the text protocol (https://docs.nats.io/reference/reference-protocols/nats-protocol).

Enough for a request-reply service: CONNECT with headers, SUB/UNSUB with queue groups,
PUB/HPUB replies, MSG/HMSG deliveries, PING/PONG both ways. It connects to the servers in the
order given (the task's own availability zone first, as NATS_URL lists them) and reconnects —
re-subscribing — when its server goes away, or stops answering pings (a partition).
"""

import json
import socket
import threading
import time
from urllib.parse import urlparse

PING_INTERVAL_S = 2.0
MAX_PINGS_OUT = 2


class Msg:
    def __init__(self, subject, reply, headers, data):
        self.subject = subject
        self.reply = reply
        self.headers = headers
        self.data = data


def encode_headers(headers):
    lines = ["NATS/1.0"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def decode_headers(block):
    headers = {}
    for line in block.decode(errors="replace").split("\r\n")[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip()] = value.strip()
    return headers


class Connection:
    def __init__(self, servers, name, log):
        self.servers = [urlparse(s) for s in servers]
        self.name = name
        self.log = log
        self.subs = {}  # sid -> (subject, queue, callback)
        self.unsubscribed = set()  # sids whose UNSUB was sent: not renewed on reconnect
        self.next_sid = 1
        self.lock = threading.Lock()  # one writer at a time
        self.sock = None
        self.closed = False
        self.pongs = []  # events waiting for a PONG (flush)
        self.pings_out = 0

    # -- connecting ----------------------------------------------------------------------

    def connect(self):
        """Connects to the first server that answers, trying them in order until one does."""
        attempt = 0
        while not self.closed:
            server = self.servers[attempt % len(self.servers)]
            attempt += 1
            try:
                sock = socket.create_connection((server.hostname, server.port or 4222), timeout=2)
                reader = sock.makefile("rb")
                info = reader.readline()
                if not info.startswith(b"INFO"):
                    raise ConnectionError(f"unexpected greeting {info[:40]!r}")
                options = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True,
                           "name": self.name, "lang": "python-stdlib", "version": "0.1", "protocol": 1}
                sock.sendall(f"CONNECT {json.dumps(options)}\r\nPING\r\n".encode())
                line = reader.readline()
                if not line.startswith(b"PONG"):
                    raise ConnectionError(line.decode(errors="replace").strip())
                sock.settimeout(None)
                with self.lock:
                    self.sock, self.reader, self.pings_out = sock, reader, 0
                    for sid, (subject, queue, _) in self.subs.items():
                        if sid in self.unsubscribed:
                            continue
                        sock.sendall(f"SUB {subject} {queue + ' ' if queue else ''}{sid}\r\n".encode())
                self.log("nats-connected", server=server.geturl())
                return
            except OSError as err:
                if attempt % len(self.servers) == 0:
                    self.log("nats-connect-failed", error=str(err))
                    time.sleep(0.25)

    def start(self):
        self.connect()
        threading.Thread(target=self._read_loop, daemon=True).start()
        threading.Thread(target=self._ping_loop, daemon=True).start()

    def _reconnect(self, why):
        if self.closed:
            return
        self.log("nats-disconnected", reason=why)
        try:
            self.sock.close()
        except OSError:
            pass  # already gone: that is why we reconnect
        self.connect()

    # -- reading -------------------------------------------------------------------------

    def _read_loop(self):
        while not self.closed:
            try:
                self._read_one()
            except (OSError, ConnectionError, ValueError) as err:
                self._reconnect(str(err) or type(err).__name__)

    def _read_one(self):
        line = self.reader.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        op, _, rest = line.rstrip(b"\r\n").partition(b" ")
        op = op.upper()
        if op in (b"MSG", b"HMSG"):
            args = rest.decode().split()
            if op == b"MSG":
                subject, sid, reply, size = args[0], args[1], (args[2] if len(args) == 4 else None), int(args[-1])
                hsize = 0
            else:
                subject, sid, reply = args[0], args[1], (args[2] if len(args) == 5 else None)
                hsize, size = int(args[-2]), int(args[-1])
            body = self.reader.read(size + 2)[:size]
            headers = decode_headers(body[:hsize]) if hsize else {}
            sub = self.subs.get(int(sid))
            if sub:
                sub[2](Msg(subject, reply, headers, body[hsize:]))
        elif op == b"PING":
            self._send(b"PONG\r\n")
        elif op == b"PONG":
            self.pings_out = 0
            with self.lock:
                waiting, self.pongs = self.pongs, []
            for event in waiting:
                event.set()
        elif op == b"-ERR":
            self.log("nats-error", error=rest.decode(errors="replace"))
        # INFO (cluster updates) and +OK need nothing: this client dials only the servers it was given

    def _ping_loop(self):
        while not self.closed:
            time.sleep(PING_INTERVAL_S)
            if self.pings_out >= MAX_PINGS_OUT:
                # the server stopped answering (a partition holds packets): the socket alone would not notice
                try:
                    self.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # the read loop notices the dead socket either way
                continue
            self.pings_out += 1
            self._send(b"PING\r\n")

    # -- writing -------------------------------------------------------------------------

    def _send(self, data):
        with self.lock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass  # the read loop sees the connection fail and reconnects; a reply lost here is the caller's timeout

    def subscribe(self, subject, callback, queue=None):
        with self.lock:
            sid = self.next_sid
            self.next_sid += 1
            self.subs[sid] = (subject, queue, callback)
        self._send(f"SUB {subject} {queue + ' ' if queue else ''}{sid}\r\n".encode())
        return sid

    def unsubscribe(self, sid):
        """No more messages for sid once the server reads this; those it sent before still reach the
        callback (they come before the answer to a later PING: see flush), so none is dropped here."""
        with self.lock:
            self.unsubscribed.add(sid)
        self._send(f"UNSUB {sid}\r\n".encode())

    def publish(self, subject, data, headers=None):
        if headers:
            head = encode_headers(headers)
            self._send(b"HPUB %s %d %d\r\n%s%s\r\n" % (subject.encode(), len(head), len(head) + len(data), head, data))
        else:
            self._send(b"PUB %s %d\r\n%s\r\n" % (subject.encode(), len(data), data))

    def flush(self, timeout=2.0):
        """True once the server has processed everything sent before (a PING answered)."""
        event = threading.Event()
        with self.lock:
            self.pongs.append(event)
        self._send(b"PING\r\n")
        return event.wait(timeout)

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass  # closing: nothing left to lose

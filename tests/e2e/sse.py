"""A Server-Sent Events client over a raw socket, for the change stream
tests: it sends one GET, reads the status and headers, then decodes the
chunked body into events (id, event, data) and comment lines in a thread
of its own, so that a test can wait for what it expects."""

import socket
import threading
import time


class SseClient:
    """Opens GET path on 127.0.0.1:port with headers and reads what comes."""

    def __init__(self, port, path, headers=None, timeout=60):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: text/event-stream"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        self.buf = b""
        self.status, self.headers = self._head()
        self.body = b""            # an answer that is not a stream (a problem)
        self.events = []           # dicts: id, event, data (the raw fields)
        self.comments = []         # (monotonic time, text)
        self.retry = None
        self.first_field = None    # the first field line of the stream
        self.closed = False
        self.lock = threading.Lock()
        self.thread = None
        if self.status == 200 and self.headers.get("content-type", "").startswith("text/event-stream"):
            self.thread = threading.Thread(target=self._read, daemon=True)
            self.thread.start()
        else:
            self.body = self._whole_body()
            self.sock.close()

    def _recv(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._recv()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def _head(self):
        status = int(self._line().split()[1])
        headers = {}
        while True:
            line = self._line()
            if not line:
                return status, headers
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()

    def _exactly(self, n):
        while len(self.buf) < n:
            self._recv()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _whole_body(self):
        if self.headers.get("transfer-encoding") == "chunked":
            out = b""
            for chunk in self._chunks():
                out += chunk
            return out
        return self._exactly(int(self.headers.get("content-length", "0")))

    def _chunks(self):
        while True:
            size = int(self._line().split(";")[0], 16)
            if size == 0:
                return
            chunk = self._exactly(size)
            self._exactly(2)
            yield chunk

    def _read(self):
        pending = b""
        event = {}
        try:
            for chunk in self._chunks():
                pending += chunk
                while b"\n" in pending:
                    raw, pending = pending.split(b"\n", 1)
                    event = self._field(raw.decode("utf-8"), event)
        except (EOFError, OSError, ValueError):
            pass
        with self.lock:
            self.closed = True

    def _field(self, line, event):
        """Takes one line of the stream; returns the event being built."""
        if line == "":
            if "data" in event:
                with self.lock:
                    self.events.append(event)
            return {}
        if line.startswith(":"):
            with self.lock:
                self.comments.append((time.monotonic(), line[1:].strip()))
            return event
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if self.first_field is None:
            self.first_field = (name, value)
        if name == "retry":
            self.retry = int(value)
        elif name == "data":
            event["data"] = event["data"] + "\n" + value if "data" in event else value
        else:
            event[name] = value
        return event

    def wait_for(self, predicate, timeout=60):
        """Waits (polling) until predicate(self) holds; returns whether it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(self):
                    return True
                if self.closed:
                    return predicate(self)
            time.sleep(0.05)
        return False

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        if self.thread:
            self.thread.join(10)

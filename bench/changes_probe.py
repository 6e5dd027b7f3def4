#!/usr/bin/env python3
"""Holds change streams open for scripts/bench (the changes scenario).

usage: changes_probe.py PORT TOKEN OUT_DIR [--streams N] [--after CURSOR] [--writes-per-s R]
       changes_probe.py report OUT_DIR COMMITS_TSV LABEL

Opens N streams (GET /api/v1/changes/stream, after CURSOR when given, else
from now) on 127.0.0.1:PORT and reads them all from one thread. The first
stream writes each event's id and the time it arrived (Unix seconds) to
OUT_DIR/arrivals.tsv; at the end (SIGTERM or SIGINT) OUT_DIR/counts.txt
gets every stream's count of events and OUT_DIR/ready says when all had
answered 200. With --writes-per-s R it also creates R leaders a second
(one event each), for a load of events that streams must carry while
something else is measured. `report` prints a Markdown table row from
what a run left in OUT_DIR and the events' commit times (COMMITS_TSV:
event id, Unix seconds, from PostgreSQL's track_commit_timestamp)."""

import http.client
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time
import uuid


class Stream:
    """One stream's socket and what has been read of it."""

    def __init__(self, port, path, token):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                           f"Authorization: Bearer {token}\r\n\r\n").encode())
        self.sock.setblocking(False)
        self.raw = b""          # bytes not yet decoded from chunks
        self.text = b""         # decoded body not yet split into lines
        self.head = None        # the status line, once read
        self.events = 0
        self.ids = []           # (id, arrival) when recording

    def feed(self, data, now, record):
        raw = self.raw + data
        at = 0                  # where the next chunk starts: raw is cut once, at the end
        if self.head is None:
            end = raw.find(b"\r\n\r\n")
            if end < 0:
                self.raw = raw
                return
            self.head = raw[:raw.find(b"\r\n")].decode()
            at = end + 4
        chunks = [self.text]
        while True:   # chunked transfer coding: whole chunks only
            line_end = raw.find(b"\r\n", at)
            if line_end < 0:
                break
            size = int(raw[at:line_end].split(b";")[0] or b"0", 16)
            if len(raw) < line_end + 2 + size + 2:
                break
            chunks.append(raw[line_end + 2:line_end + 2 + size])
            at = line_end + 2 + size + 2
        self.raw = raw[at:]
        self.text = b"".join(chunks)
        cut = self.text.rfind(b"\n") + 1
        if not record:   # count only: a data line starts the text or follows a newline
            self.events += (b"\n" + self.text[:cut]).count(b"\ndata: ")
            self.text = self.text[cut:]
            return
        for line in self.text[:cut].split(b"\n"):
            if line.startswith(b"data: "):
                self.events += 1
                at = line.index(b'"id":"') + 6
                self.ids.append((line[at:at + 36].decode(), now))
        self.text = self.text[cut:]


def writer(port, token, rate, stop):
    """Creates `rate` leaders a second until stop is set."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    step = 1.0 / rate
    due = time.monotonic()
    while not stop.is_set():
        body = json.dumps({"name": "bench " + uuid.uuid4().hex[:12]})
        conn.request("POST", "/api/v1/leaders", body, {"Authorization": "Bearer " + token,
                                                       "Content-Type": "application/json"})
        conn.getresponse().read()
        due += step
        time.sleep(max(0.0, due - time.monotonic()))


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def report(out, commits_path, label):
    """Prints a Markdown row: delays from commit (commits_path: event id,
    commit time) to arrival on the first stream, and whether every stream
    got every event committed."""
    commits = {}
    with open(commits_path) as f:
        for line in f:
            event_id, at = line.split("\t")
            commits[event_id] = float(at)
    arrivals = {}
    with open(os.path.join(out, "arrivals.tsv")) as f:
        for line in f:
            event_id, at = line.split("\t")
            arrivals[event_id] = float(at)
    with open(os.path.join(out, "counts.txt")) as f:
        counts = [int(n) for n in f.read().split()]
    delays = [(arrivals[i] - at) * 1000 for i, at in commits.items() if i in arrivals]
    span = (max(commits.values()) - min(commits.values())) if len(commits) > 1 else 0
    missing = len(commits) - len(delays)
    complete = "every stream got every event" if all(n == len(commits) for n in counts) and not missing else \
        f"{missing} event(s) missing on the first stream; counts per stream {sorted(set(counts))}"
    if not delays:
        print(f"| {label} | {len(commits):,} | — | — | — | — | — | {complete} |")
        return
    rate = len(commits) / span if span else 0
    print(f"| {label} | {len(commits):,} | {rate:,.0f} | {percentile(delays, 50):.1f} | {percentile(delays, 99):.1f} "
          f"| {max(delays):.1f} | {sum(d > 1000 for d in delays)} | {complete} |")


def main():
    args = sys.argv[1:]
    if args[:1] == ["report"] and len(args) == 4:
        return report(args[1], args[2], args[3])
    if len(args) < 3:
        sys.exit(__doc__)
    port, token, out = int(args[0]), args[1], args[2]
    opts = dict(zip(args[3::2], args[4::2]))
    count = int(opts.get("--streams", "1"))
    after = opts.get("--after")
    rate = float(opts.get("--writes-per-s", "0"))
    path = "/api/v1/changes/stream" + (f"?after={after}" if after else "")
    streams = [Stream(port, path, token) for _ in range(count)]
    sel = selectors.DefaultSelector()
    for i, s in enumerate(streams):
        sel.register(s.sock, selectors.EVENT_READ, i)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    ready = False
    load = None
    while not stopping.is_set():
        for key, _ in sel.select(0.2):
            s = streams[key.data]
            try:
                data = s.sock.recv(1 << 20)
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(s.sock)
                continue
            s.feed(data, time.time(), key.data == 0)
        if not ready and all(s.head for s in streams):
            bad = [s.head for s in streams if " 200 " not in s.head + " "]
            with open(os.path.join(out, "ready"), "w") as f:
                f.write("ok\n" if not bad else f"refused: {bad[0]} ({len(bad)} of {count})\n")
            ready = True
            if rate > 0:
                load = threading.Thread(target=writer, args=(port, token, rate, stopping), daemon=True)
                load.start()
    with open(os.path.join(out, "arrivals.tsv"), "w") as f:
        for event_id, at in streams[0].ids:
            f.write(f"{event_id}\t{at:.6f}\n")
    with open(os.path.join(out, "counts.txt"), "w") as f:
        f.write(" ".join(str(s.events) for s in streams) + "\n")


if __name__ == "__main__":
    main()

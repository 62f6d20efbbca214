"""The client: fetch the web page through the VIP every 100 ms and say who answered.

Runs inside the lab's client namespace (``nsenter --net=...``) and prints one JSON
line per request: ``{"start": t, "end": t, "ok": bool, "node": "n2", "error": "..."}``
with CLOCK_MONOTONIC times (the host's clock: the lab has no time namespaces).

Requests start on a fixed 100 ms schedule whatever the previous one does (a dead VIP
makes a connect hang until the ARP probe gives up), so the count of failed requests
means the same for every drill. Hand-written with non-blocking sockets and
``selectors`` because a polling client needs per-request deadlines and overlapping
requests, which urllib cannot give without a thread per request.
"""

import errno
import json
import re
import selectors
import socket
import sys
import time

NODE_RE = re.compile(rb"served by ([A-Za-z0-9_.-]+)")


class Request:
    def __init__(self, address, port, host, timeout):
        self.start = time.monotonic()
        self.deadline = self.start + timeout
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.request = (f"GET / HTTP/1.0\r\nHost: {host}\r\nUser-Agent: ocfkit-lab-client"
                        "\r\nConnection: close\r\n\r\n").encode()
        self.buffer = b""
        self.sent = False
        err = self.sock.connect_ex((address, port))
        self.error = None if err in (0, 115) else f"connect: {errno.errorcode.get(err, err)}"

    def result(self, ok, node=None, error=None):
        self.sock.close()
        return {"start": round(self.start, 4), "end": round(time.monotonic(), 4),
                "ok": ok, "node": node, "error": error}

    def finish(self):
        head, _sep, body = self.buffer.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 200 " not in status + b" ":
            return self.result(False, error=f"status {status.decode(errors='replace')}")
        match = NODE_RE.search(body)
        if not match:
            return self.result(False, error="page without a node name")
        return self.result(True, node=match.group(1).decode())


def poll(address, port=80, interval=0.1, timeout=1.0, duration=None, out=sys.stdout):
    selector = selectors.DefaultSelector()
    next_start = time.monotonic()
    end = None if duration is None else next_start + duration
    pending = []

    def emit(record):
        out.write(json.dumps(record) + "\n")
        out.flush()

    while end is None or time.monotonic() < end or pending:
        now = time.monotonic()
        if now >= next_start and (end is None or now < end):
            request = Request(address, port, address, timeout)
            if request.error:
                emit(request.result(False, error=request.error))
            else:
                selector.register(request.sock, selectors.EVENT_WRITE, request)
                pending.append(request)
            next_start += interval
            if next_start < now:  # we fell behind (machine busy): do not burst
                next_start = now + interval
        wait = max(0.0, min([next_start - time.monotonic()]
                            + [r.deadline - time.monotonic() for r in pending]))
        for key, _events in selector.select(wait):
            request = key.data
            try:
                if not request.sent:
                    err = request.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, errno.errorcode.get(err, str(err)))
                    request.sock.send(request.request)
                    request.sent = True
                    selector.modify(request.sock, selectors.EVENT_READ, request)
                    continue
                chunk = request.sock.recv(65536)
                if chunk:
                    request.buffer += chunk
                    continue
                selector.unregister(request.sock)
                pending.remove(request)
                emit(request.finish())
            except OSError as exc:
                selector.unregister(request.sock)
                pending.remove(request)
                emit(request.result(False, error=f"{exc.strerror or exc}"))
        now = time.monotonic()
        for request in [r for r in pending if r.deadline <= now]:
            selector.unregister(request.sock)
            pending.remove(request)
            emit(request.result(False, error="timeout"))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python3 -m ocfkit.lab.poller ADDRESS [INTERVAL [TIMEOUT [DURATION]]]",
              file=sys.stderr)
        return 2
    address = argv[0]
    interval = float(argv[1]) if len(argv) > 1 else 0.1
    timeout = float(argv[2]) if len(argv) > 2 else 1.0
    duration = float(argv[3]) if len(argv) > 3 else None
    try:
        poll(address, interval=interval, timeout=timeout, duration=duration)
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

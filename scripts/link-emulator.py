#!/usr/bin/env python3
"""A user-space Ethernet hub with adjustable latency and loss, for kernels without sch_netem.

It creates TAP devices (PREFIX0 .. PREFIXn-1) in the current network namespace and forwards
every frame between them like a learning switch; fault-scenarios.sh moves PREFIXi into node i's
namespace, so all traffic between nodes crosses this process. Each delivered frame is held for
DELAY ms and dropped with probability LOSS, the two figures of `tc netem delay D loss P` on every
node's link (a frame crosses one link here, so a round trip gets 2 x DELAY, as with netem on
each node's egress). Both can change while it runs: write "DELAY_MS LOSS" (e.g. "100 0.05") into
the control file; it is read every half second.

Bounded: at most --max-queued frames wait (more are dropped and counted, as a full queue would).
Counts go to stderr every --stats seconds and at exit. Standard library only; Linux, root.

Usage: link-emulator.py --ports 6 --prefix bt-tap --control /tmp/links.ctl [--mtu 9000]
"""
import argparse
import errno
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def read_control(path, current):
    try:
        with open(path) as f:
            fields = f.read().split()
        if len(fields) != 2:
            return current
        delay_ms, loss = float(fields[0]), float(fields[1])
        if delay_ms < 0 or not 0 <= loss <= 1:
            return current
        return delay_ms / 1000.0, loss
    except (OSError, ValueError):
        return current


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ports", type=int, required=True)
    ap.add_argument("--prefix", default="bt-tap")
    ap.add_argument("--control", required=True)
    ap.add_argument("--max-queued", type=int, default=50000)
    ap.add_argument("--stats", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    fds = [open_tap(f"{args.prefix}{i}") for i in range(args.ports)]
    port_of_fd = {fd: i for i, fd in enumerate(fds)}
    where = {}  # MAC -> port, learnt from source addresses
    queue = []  # (due, sequence, port, frame)
    seq = 0
    delay, loss = read_control(args.control, (0.0, 0.0))
    counts = {"in": 0, "out": 0, "lost": 0, "overflow": 0, "unwritable": 0}
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)

    def write(port, frame):
        try:
            os.write(fds[port], frame)
            counts["out"] += 1
        except OSError as e:  # interface down, or its queue full
            if e.errno not in (errno.EIO, errno.EAGAIN, errno.EINVAL):
                raise
            counts["unwritable"] += 1

    next_control = next_stats = time.monotonic()
    while running:
        now = time.monotonic()
        timeout = 0.5 if not queue else max(0.0, min(0.5, queue[0][0] - now))
        try:
            ready, _, _ = select.select(fds, [], [], timeout)
        except InterruptedError:
            continue
        for fd in ready:
            src = port_of_fd[fd]
            for _ in range(64):  # a few frames per device per turn, so no device starves the others
                try:
                    frame = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if len(frame) < 14:
                    continue
                counts["in"] += 1
                where[frame[6:12]] = src
                dst = frame[0:6]
                ports = [where[dst]] if not dst[0] & 1 and dst in where else \
                    [p for p in range(args.ports) if p != src]
                for p in ports:
                    if p == src:
                        continue
                    if loss and rng.random() < loss:
                        counts["lost"] += 1
                    elif delay == 0 and not queue:
                        write(p, frame)
                    elif len(queue) >= args.max_queued:
                        counts["overflow"] += 1
                    else:
                        seq += 1
                        heapq.heappush(queue, (time.monotonic() + delay, seq, p, frame))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, p, frame = heapq.heappop(queue)
            write(p, frame)
        if now >= next_control:
            new = read_control(args.control, (delay, loss))
            if new != (delay, loss):
                delay, loss = new
                print(f"link-emulator: delay {delay * 1000:.0f} ms, loss {loss:.3f}", file=sys.stderr, flush=True)
            next_control = now + 0.5
        if now >= next_stats:
            print(f"link-emulator: {counts} queued {len(queue)}", file=sys.stderr, flush=True)
            next_stats = now + args.stats
    print(f"link-emulator: {counts} queued {len(queue)} (exit)", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Foundation benchmark: berthd against dockerd on the same machine.

Measures, for each daemon started on a private data root and socket:
  - start-up: exec until the first successful GET /_ping (median of N starts)
  - idle memory: RSS of the daemon and every process it started, after start-up
  - API throughput: sequential keep-alive GET /v1.41/version for a fixed time
and prints each figure with the ratio berth/docker. Peers that are not
installed are reported as missing. Run as root: python3 bench/daemon_bench.py
[--berthd build/release/bin/berthd]. Never run from the test suite.
"""
import argparse
import os
import statistics
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ next to the sources
from benchlib import Peer, UnixHTTPConnection, default_dockerd, peers, print_table, \
    scratch_dir, tree_rss_kib


def throughput(sock, seconds):
    c = UnixHTTPConnection(sock)
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        c.request("GET", "/v1.41/version")
        r = c.getresponse()
        r.read()
        n += 1
    c.close()
    return n / seconds


def measure(peer, starts, seconds):
    times = []
    rss = rps = None
    for i in range(starts):
        with scratch_dir(peer.name) as root:
            proc, sock, t = peer.start(root)
            times.append(t)
            if i == starts - 1:
                time.sleep(1.0)  # let start-up work settle before reading RSS
                rss = tree_rss_kib(proc.pid)
                rps = throughput(sock, seconds)
            Peer.stop(proc)
    return {"start_ms": statistics.median(times) * 1000, "rss_kib": rss, "rps": rps}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--berthd", default=os.path.join(here, "..", "build", "release", "bin", "berthd"))
    ap.add_argument("--dockerd", default=default_dockerd())
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()

    results = {p.name: measure(p, args.starts, args.seconds)
               for p in peers(args.berthd, args.dockerd)}
    rows = [("start-up to first /_ping (ms, median)", "start_ms", "{:.1f}"),
            ("idle RSS incl. children (KiB)", "rss_kib", "{:.0f}"),
            ("GET /version, sequential (req/s)", "rps", "{:.0f}")]
    print_table(["berth", "docker"],
                [(label, {n: r[key] for n, r in results.items()}, fmt) for label, key, fmt in rows],
                [("berth", "docker")])
    return 0


if __name__ == "__main__":
    sys.exit(main())

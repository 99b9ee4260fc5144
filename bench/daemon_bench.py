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
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.path)
        self.sock = s


def ping(sock_path):
    try:
        c = UnixHTTPConnection(sock_path)
        c.request("GET", "/_ping")
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def tree_rss_kib(pid):
    """RSS of pid and all its descendants, in KiB."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
        except (OSError, IndexError, ValueError):
            pass
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class Peer:
    def __init__(self, name, argv_fn):
        self.name, self.argv_fn = name, argv_fn

    def start(self, root):
        sock = os.path.join(root, "api.sock")
        argv = self.argv_fn(root, sock)
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        while not ping(sock):
            if proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited during start-up: {argv}")
            if time.perf_counter() - t0 > 60:
                raise RuntimeError(f"{self.name} did not answer within 60 s")
            time.sleep(0.002)
        return proc, sock, time.perf_counter() - t0

    @staticmethod
    def stop(proc):
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


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
        root = tempfile.mkdtemp(prefix=f"berth-test-bench-{peer.name}-")
        try:
            proc, sock, t = peer.start(root)
            times.append(t)
            if i == starts - 1:
                time.sleep(1.0)  # let start-up work settle before reading RSS
                rss = tree_rss_kib(proc.pid)
                rps = throughput(sock, seconds)
            Peer.stop(proc)
        finally:
            subprocess.run(["umount", "-R", "-l", root], stderr=subprocess.DEVNULL)
            shutil.rmtree(root, ignore_errors=True)
    return {"start_ms": statistics.median(times) * 1000, "rss_kib": rss, "rps": rps}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--berthd", default=os.path.join(here, "..", "build", "release", "bin", "berthd"))
    ap.add_argument("--dockerd", default=shutil.which("dockerd") or "/usr/sbin/dockerd")
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()

    peers = [Peer("berth", lambda root, sock: [
        args.berthd, "--data-root", root + "/data", "--exec-root", root + "/exec",
        "-H", "unix://" + sock, "--log-level", "error"])]
    if os.path.exists(args.dockerd):
        # Networking off so the peer leaves the host's bridges and firewall alone.
        peers.append(Peer("docker", lambda root, sock: [
            args.dockerd, "--data-root", root + "/data", "--exec-root", root + "/exec",
            "-H", "unix://" + sock, "--pidfile", root + "/docker.pid", "--bridge=none",
            "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
            "--log-level", "error"]))

    results = {p.name: measure(p, args.starts, args.seconds) for p in peers}
    b = results["berth"]
    d = results.get("docker")
    rows = [("start-up to first /_ping (ms, median)", "start_ms", "{:.1f}"),
            ("idle RSS incl. children (KiB)", "rss_kib", "{:.0f}"),
            ("GET /version, sequential (req/s)", "rps", "{:.0f}")]
    print(f"{'metric':42} {'berth':>10} {'docker':>10} {'berth/docker':>13}")
    for label, key, fmt in rows:
        dv = fmt.format(d[key]) if d else "missing"
        ratio = f"{b[key] / d[key]:.3f}" if d and d[key] else "-"
        print(f"{label:42} {fmt.format(b[key]):>10} {dv:>10} {ratio:>13}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

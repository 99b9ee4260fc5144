"""Shared pieces of the benchmarks: an HTTP client on a UNIX socket, the
daemons under comparison (berthd and dockerd) started on private roots,
scratch directories that are removed whatever happens, and the side-by-side
table with ratios. Imported by the *_bench.py scripts next to it.
"""
import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
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
    """A daemon serving the Engine API, started on a root of the caller's."""

    def __init__(self, name, argv_fn):
        self.name, self.argv_fn = name, argv_fn

    def start(self, root):
        """Returns (process, socket path, seconds until the first /_ping)."""
        sock = os.path.join(root, "api.sock")
        argv = self.argv_fn(root, sock)
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        while not ping(sock):
            if proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited during start-up: {argv}")
            if time.perf_counter() - t0 > 60:
                Peer.stop(proc)
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


def default_dockerd():
    return shutil.which("dockerd") or "/usr/sbin/dockerd"


def peers(berthd, dockerd, berth_args=(), docker_args=()):
    """berthd, and dockerd when installed. dockerd runs with networking off
    so it leaves the host's bridges and firewall alone."""
    out = [Peer("berth", lambda root, sock: [
        berthd, "--data-root", root + "/data", "--exec-root", root + "/exec",
        "-H", "unix://" + sock, "--log-level", "error", *berth_args])]
    if os.path.exists(dockerd):
        out.append(Peer("docker", lambda root, sock: [
            dockerd, "--data-root", root + "/data", "--exec-root", root + "/exec",
            "-H", "unix://" + sock, "--pidfile", root + "/docker.pid", "--bridge=none",
            "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
            "--log-level", "error", *docker_args]))
    return out


@contextlib.contextmanager
def scratch_dir(name):
    """/tmp/berth-test-bench-<name>-XXXXXX, unmounted and removed on exit."""
    root = tempfile.mkdtemp(prefix=f"berth-test-bench-{name}-")
    try:
        yield root
    finally:
        subprocess.run(["umount", "-R", "-l", root], stderr=subprocess.DEVNULL)
        shutil.rmtree(root, ignore_errors=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def print_table(columns, rows, ratios):
    """columns: peer names; rows: (label, {peer: value or None}, format);
    ratios: (numerator, denominator) peer pairs, printed as extra columns.
    A peer without a value prints as "missing"."""
    heads = [f"{c:>10}" for c in columns] + [f"{a + '/' + b:>13}" for a, b in ratios]
    print(f"{'metric':42} " + " ".join(heads))
    for label, values, fmt in rows:
        cells = [f"{fmt.format(values[c]) if values.get(c) is not None else 'missing':>10}"
                 for c in columns]
        for a, b in ratios:
            va, vb = values.get(a), values.get(b)
            cells.append(f"{va / vb:>13.3f}" if va is not None and vb else f"{'-':>13}")
        print(f"{label:42} " + " ".join(cells))

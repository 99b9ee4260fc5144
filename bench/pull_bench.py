#!/usr/bin/env python3
"""Pull benchmark: cold pulls of one ~100 MB image from a local registry.

Builds an image of --layers layers of --layer-mb MB of random (incompressible)
data each, gzip layers, pushes it with skopeo (Docker schema2) to Debian's
docker-registry on 127.0.0.1:<free port>, then pulls it --runs times, cold
each time, with:
  - berthd (overlay driver), through the Engine API on its UNIX socket
    (POST /images/create), the image removed again between runs;
  - dockerd, if installed, the same way (overlay2; rmi + prune between runs);
  - skopeo copy docker://... oci:<fresh dir>: download and verify only, no
    unpacking, as a floor for what the network and hashing cost.
Rounds alternate the pullers so drift on a shared machine hits all alike.
Prints medians side by side with the ratios, like daemon_bench.py.

Run as root: python3 bench/pull_bench.py [--build build/release]. Every
process it starts is stopped by PID; its files live in
/tmp/berth-test-bench-pull-* and are removed. Never run from the test suite.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ next to the sources
from benchlib import Peer, UnixHTTPConnection, default_dockerd, free_port, peers, print_table, \
    scratch_dir

NOBODY = 65534


def arch():
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(m, m)


def write_layout(root, layers, layer_mb):
    """An OCI layout with one image; returns its config digest (the image ID)."""
    blobs = os.path.join(root, "blobs", "sha256")
    os.makedirs(blobs)

    def put(data):
        d = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, d), "wb") as f:
            f.write(data)
        return "sha256:" + d, len(data)

    descs, diff_ids = [], []
    for i in range(layers):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            data = os.urandom(layer_mb << 20)
            info = tarfile.TarInfo(f"layer-{i}/data")
            info.size, info.mtime, info.mode = len(data), 1767225600, 0o644
            t.addfile(info, io.BytesIO(data))
        tar = buf.getvalue()
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
        digest, size = put(gzip.compress(tar, compresslevel=1, mtime=0))
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                      "digest": digest, "size": size})
    config = json.dumps({
        "architecture": arch(), "os": "linux", "created": "2026-01-01T00:00:00Z",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "pull bench"}] * layers,
    }).encode()
    config_digest, config_size = put(config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": descs}).encode()
    manifest_digest, manifest_size = put(manifest)
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest, "size": manifest_size,
            "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, f)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    return config_digest


def skopeo(scratch, *args):
    """skopeo as "nobody" with no home, so its blob-info cache cannot land
    in /var/lib/containers and skew or outlive the runs."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR")}
    argv = ["skopeo", "--insecure-policy", "--tmpdir", scratch, *args]
    if os.geteuid() == 0:
        argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv]
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"skopeo {' '.join(args)}: {r.stderr.strip()}")


def share(path):
    """Lets "nobody" (skopeo) read and write below `path`."""
    for d, _, files in os.walk(path):
        os.chmod(d, 0o777)
        for f in files:
            os.chmod(os.path.join(d, f), 0o666)


def start_registry(root):
    """docker-registry on 127.0.0.1:<free port>; returns (process, host)."""
    port = free_port()
    config = os.path.join(root, "config.yml")
    with open(config, "w") as f:
        f.write("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                f"    rootdirectory: {root}/storage\nhttp:\n  addr: 127.0.0.1:{port}\n"
                "  secret: berth-bench\n")
    log = open(os.path.join(root, "registry.log"), "w")
    proc = subprocess.Popen(["docker-registry", "serve", config], stdout=log, stderr=log,
                            start_new_session=True)
    log.close()
    host = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://{host}/v2/", timeout=1).read()
            return proc, host
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    Peer.stop(proc)
    raise RuntimeError("docker-registry did not start")


def api(sock, method, path, timeout=600):
    """One Engine API call; returns (status, body). Streams are read whole."""
    c = UnixHTTPConnection(sock, timeout=timeout)
    c.request(method, "/v1.41" + path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def daemon_pull(sock, repo, tag):
    t0 = time.perf_counter()
    status, body = api(sock, "POST", "/images/create?" +
                       urllib.parse.urlencode({"fromImage": repo, "tag": tag}))
    elapsed = time.perf_counter() - t0
    for line in body.decode(errors="replace").splitlines():
        if line.strip() and "error" in json.loads(line):
            raise RuntimeError(f"pull failed: {line}")
    if status != 200:
        raise RuntimeError(f"pull failed: HTTP {status} {body[:200]!r}")
    return elapsed


def daemon_images(sock):
    return [i["Id"] for i in json.loads(api(sock, "GET", "/images/json")[1])]


def make_cold(sock, ref):
    api(sock, "DELETE", "/images/" + urllib.parse.quote(ref, safe="") + "?force=1")
    api(sock, "POST", "/images/prune?" +
        urllib.parse.urlencode({"filters": json.dumps({"dangling": ["false"]})}))
    if daemon_images(sock):
        raise RuntimeError(f"images left after rmi + prune: {daemon_images(sock)}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(here, "..", "build", "release"),
                    help="build directory holding bin/berthd")
    ap.add_argument("--dockerd", default=default_dockerd())
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--layer-mb", type=int, default=20)
    args = ap.parse_args()
    berthd = os.path.join(args.build, "bin", "berthd")
    if not os.access(berthd, os.X_OK):
        sys.exit(f"{berthd} not found: build it (cmake --preset release; ninja berthd)")

    with scratch_dir("pull") as root:
        os.chmod(root, 0o755)
        layout = os.path.join(root, "layout")
        image_id = write_layout(layout, args.layers, args.layer_mb)
        size_mb = sum(os.path.getsize(os.path.join(layout, "blobs", "sha256", b))
                      for b in os.listdir(os.path.join(layout, "blobs", "sha256"))) / 1e6
        os.makedirs(os.path.join(root, "registry"))
        share(root)
        running = []
        try:
            registry, host = start_registry(os.path.join(root, "registry"))
            running.append(registry)
            repo, tag = f"{host}/bench/pull", "1"
            skopeo(root, "copy", "--dest-tls-verify=false", "--format", "v2s2",
                   f"oci:{layout}:bench", f"docker://{repo}:{tag}")

            daemons = []
            for peer in peers(berthd, args.dockerd, ("--storage-driver", "overlay")):
                peer_root = os.path.join(root, peer.name)
                os.makedirs(peer_root)
                proc, sock, _ = peer.start(peer_root)
                running.append(proc)
                daemons.append((peer.name, sock))

            times = {name: [] for name, _ in daemons}
            times["skopeo"] = []
            for run in range(args.runs):
                for name, sock in daemons:
                    times[name].append(daemon_pull(sock, repo, tag))
                    if daemon_images(sock) != [image_id]:
                        raise RuntimeError(f"{name}: pulled {daemon_images(sock)}, want {image_id}")
                    make_cold(sock, f"{repo}:{tag}")
                dest = os.path.join(root, f"oci-{run}")
                os.mkdir(dest)
                share(dest)
                t0 = time.perf_counter()
                skopeo(root, "copy", "--src-tls-verify=false", f"docker://{repo}:{tag}",
                       f"oci:{dest}:bench")
                times["skopeo"].append(time.perf_counter() - t0)
                shutil.rmtree(dest)
        finally:
            for proc in reversed(running):
                Peer.stop(proc)

    print(f"image: {args.layers} gzip layers, {size_mb:.1f} MB compressed; "
          f"{args.runs} cold pulls each from a local registry")
    columns = ["berth", "docker", "skopeo"]
    med = {n: statistics.median(t) for n, t in times.items() if t}
    rows = [("cold pull (s, median)", med, "{:.2f}"),
            ("cold pull (s, min)", {n: min(t) for n, t in times.items() if t}, "{:.2f}"),
            ("cold pull (s, max)", {n: max(t) for n, t in times.items() if t}, "{:.2f}"),
            ("throughput (MB/s compressed, median)", {n: size_mb / v for n, v in med.items()},
             "{:.0f}")]
    print_table(columns, rows, [("berth", "docker"), ("berth", "skopeo")])
    return 0


if __name__ == "__main__":
    sys.exit(main())

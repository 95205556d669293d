#!/usr/bin/python3
"""End-to-end CPU comparison: rwkv-vision against PyTorch, in one run, same machine, same threads.

Contenders (each configuration of each contender runs in its own subprocess, so its peak RSS is
that process's own; the driver reads it with os.wait4):

  rwkv_vision     the C++ engine: ``rwkv-vision bench -m MODEL --size HxW --batch B --threads N
                  --precision fp32 --iters I --warmup W --json`` (random weights for a bare preset)
  matmul_ceiling  the same with ``--only matmul``: the model's matmul shapes alone through oneDNN,
                  i.e. the time rwkv-vision would take if everything but the matmuls were free
  torch_vrwkv     the PyTorch reference VRWKV (tools/rwkv_ref/vrwkv.py, official module and
                  parameter names, default init) with the vectorised O(T) Bi-WKV
                  (``bi_wkv_scan``; default wkv_impl 'scan_fast': EPS approximated, outputs within ~1e-5
                  relative, --wkv-impl scan for the kernel-exact EPS), under torch.inference_mode
  torch_vit       a DeiT-style ViT of the same width and depth (tools/rwkv_ref/vit.py: vit_t / vit_s /
                  vit_b for vrwkv_t / _s / _b), plain softmax(q k^T / sqrt(d)) v attention

Threads: OMP_NUM_THREADS / MKL_NUM_THREADS / OPENBLAS_NUM_THREADS = N for every child,
torch.set_num_threads(N) in the PyTorch workers, ``--threads N`` for rwkv-vision. PyTorch children
get LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp (Debian's torch otherwise links the
netlib reference BLAS, ~20x slower); which BLAS each worker really mapped is recorded.

Timing: a first (warm-up) forward, more warm-up, then timed forwards until at least --min-time
seconds and --min-iters iterations (or --max-iters, or --max-time with >= 1 iteration); median
and p90 latency, images/s = batch / median. For rwkv-vision the iteration count is chosen the
same way from a 1-iteration probe run (or from a prediction out of the previous size).

Skips are recorded, not silent: a missing binary or bench subcommand, a ViT whose attention
matrices would not fit (--mem-limit-gib, estimated before running), a single forward predicted
(from the previous size, linear for VRWKV, quadratic for ViT) or measured to exceed --budget-s.

Output: a JSON file with every result and the machine description, and a markdown table
(printed, and written next to the JSON as .md) ready for benchmarks/RESULTS.md.

  /usr/bin/python3 benchmarks/e2e/compare.py --suite headline
  /usr/bin/python3 benchmarks/e2e/compare.py --suite sweep      # then benchmarks/plot_sweep.py
See benchmarks/e2e/README.md.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TOOLS = os.path.join(REPO, "tools")
PYTHON = "/usr/bin/python3"
OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
DEFAULT_BINARY = os.path.join(REPO, "build", "apps", "rwkv-vision")
CONTENDERS = ("rwkv_vision", "torch_vrwkv", "torch_vit", "matmul_ceiling")
LABEL = {"rwkv_vision": "rwkv-vision", "torch_vrwkv": "PyTorch VRWKV", "torch_vit": "PyTorch ViT",
         "matmul_ceiling": "matmul ceiling"}
VIT_FOR = {"vrwkv_t": "vit_t", "vrwkv_s": "vit_s", "vrwkv_b": "vit_b"}
PATCH = 16

SUITES = {
    # (model, size) pairs; threads and contenders come from the suite defaults below
    "headline": {"configs": [("vrwkv_t", 224), ("vrwkv_s", 224), ("vrwkv_b", 224), ("vrwkv_t", 1024)],
                 "threads": [1, 2], "contenders": list(CONTENDERS)},
    "sweep": {"configs": [("vrwkv_t", s) for s in (224, 384, 512, 768, 1024, 1536, 2048)],
              "threads": [1, 2], "contenders": ["rwkv_vision", "torch_vrwkv", "torch_vit"]},
}


# --------------------------------------------------------------------------- small helpers

def tokens_of(h: int, w: int) -> int:
    return math.ceil(h / PATCH) * math.ceil(w / PATCH)


def parse_size(s: str):
    m = re.fullmatch(r"(\d+)(?:x(\d+))?", s.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"size must be N or HxW, got {s!r}")
    h = int(m.group(1))
    return h, int(m.group(2) or h)


def latency_stats(ms):
    """median / p90 / mean / min of a list of latencies in ms (p90: nearest rank)."""
    s = sorted(ms)
    p90 = s[min(len(s) - 1, max(0, math.ceil(0.9 * len(s)) - 1))]
    return {"median": statistics.median(s), "p90": p90, "mean": statistics.fmean(s), "min": s[0]}


def blas_libraries():
    """Shared libraries with 'blas' in their path mapped into this process."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                if "blas" in os.path.basename(path).lower() and path.startswith("/"):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(libs)


def child_env(threads: int, torch_child: bool, use_openblas: bool):
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[k] = str(threads)
    if torch_child and use_openblas and os.path.isdir(OPENBLAS_DIR):
        old = env.get("LD_LIBRARY_PATH", "")
        env["LD_LIBRARY_PATH"] = OPENBLAS_DIR + (":" + old if old else "")
    return env


def run_child(cmd, env, timeout_s: float):
    """Run cmd; return (rc, stdout, stderr, peak_rss_mb, wall_s, timed_out). The peak RSS is the
    child's own ru_maxrss from os.wait4 (not the running maximum over all children)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=REPO)
        timed_out = False
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            if time.perf_counter() - t0 > timeout_s:
                timed_out = True
                os.kill(proc.pid, signal.SIGKILL)
                pid, status, ru = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)   # so Popen does not reap it again
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        return (proc.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                ru.ru_maxrss / 1024.0, wall, timed_out)


# --------------------------------------------------------------------------- PyTorch worker

def worker_main(a):
    """Runs inside the child: build one PyTorch model, time it, print one JSON line."""
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    import torch
    sys.path.insert(0, TOOLS)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    H, W = a.size
    rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if a.contender == "torch_vrwkv":
        from rwkv_ref.vrwkv import build_classifier, preset_config
        model = build_classifier(preset_config(a.model), wkv_impl=a.wkv_impl)
        arch = a.model
    else:
        from rwkv_ref.vit import build_vit
        arch = VIT_FOR[a.model]
        model = build_vit(arch)
    model.eval()
    x = torch.randn(a.batch, 3, H, W)
    lat = []
    with torch.inference_mode():
        t = time.perf_counter()
        model(x)
        first = (time.perf_counter() - t) * 1e3
        warm = 0 if first > 10e3 else max(0, a.warmup - 1)
        for _ in range(warm):
            model(x)
        t_start = time.perf_counter()
        while True:
            t = time.perf_counter()
            model(x)
            lat.append((time.perf_counter() - t) * 1e3)
            el = time.perf_counter() - t_start
            n = len(lat)
            if n >= a.max_iters or (el >= a.min_time and n >= a.min_iters) or el >= a.max_time:
                break
    st = latency_stats(lat)
    print(json.dumps({
        "arch": arch, "wkv_impl": a.wkv_impl if a.contender == "torch_vrwkv" else None,
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "first_forward_ms": first, "warmup": 1 + warm, "iters": len(lat), "latency_ms": st,
        "images_per_s": a.batch / (st["median"] / 1e3), "rss_at_start_mb": rss0,
        "rss_after_import_mb": rss_import, "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__, "blas_libraries": blas_libraries(),
    }))


# --------------------------------------------------------------------------- the driver

class Driver:
    def __init__(self, args):
        self.a = args
        self.results = []
        self.binary_note = None          # set once the binary / subcommand is known to be missing
        self.only_note = None            # set once --only matmul is known to be unsupported
        if not (os.path.isfile(args.binary) and os.access(args.binary, os.X_OK)):
            self.binary_note = (f"skipped: rwkv-vision binary not found at {args.binary} "
                                "(build it: cmake --build build, or pass --binary)")

    # ---- budget checks
    def predict_ms(self, contender, model, threads, batch, tokens):
        """Single-forward time predicted from the largest smaller size already measured."""
        prev = [r for r in self.results if r["contender"] == contender and r["model"] == model
                and r["threads"] == threads and r["batch"] == batch and r["status"] == "ok"
                and r["tokens"] < tokens]
        if not prev:
            return None
        p = max(prev, key=lambda r: r["tokens"])
        exp = 2.0 if contender == "torch_vit" else 1.0
        return p["latency_ms"]["median"] * (tokens / p["tokens"]) ** exp

    def vit_memory_gib(self, model, H, W, batch):
        from_vit = _vit_attention_bytes(VIT_FOR[model], H, W, batch)
        # scores and softmax output alive together, plus the usual slack of the allocator
        return (2.5 * from_vit + 0.5 * 2 ** 30) / 2 ** 30

    def mem_limit_gib(self):
        avail = _meminfo().get("MemAvailable", 0) / 2 ** 20
        return min(self.a.mem_limit_gib, 0.8 * avail) if avail else self.a.mem_limit_gib

    def iters_for(self, lat_ms):
        a = self.a
        n = math.ceil(a.min_time * 1e3 / max(lat_ms, 1e-3))
        n = max(a.min_iters, min(a.max_iters, n))
        cap = max(1, int(a.max_time * 1e3 // max(lat_ms, 1e-3)))
        return max(1, min(n, cap))

    # ---- one configuration of one contender
    def run(self, contender, model, H, W, batch, threads):
        a = self.a
        tokens = tokens_of(H, W)
        rec = {"contender": contender, "model": model, "size": f"{H}x{W}", "tokens": tokens,
               "batch": batch, "threads": threads, "precision": "fp32", "status": "ok"}
        if contender == "torch_vit":
            rec["arch"] = VIT_FOR[model]
        pred = self.predict_ms(contender, model, threads, batch, tokens)
        if pred is not None:
            rec["predicted_ms"] = pred
        skip = None
        if contender == "torch_vit":
            need = self.vit_memory_gib(model, H, W, batch)
            rec["estimated_peak_gib"] = need
            if need > self.mem_limit_gib():
                skip = (f"skipped: estimated peak {need:.1f} GiB for {tokens + 1}^2 attention "
                        f"matrices > limit {self.mem_limit_gib():.1f} GiB")
        if skip is None and pred is not None and pred > a.budget_s * 1e3:
            skip = f"skipped: predicted single forward {pred / 1e3:.0f} s > budget {a.budget_s:.0f} s"
        if skip is None and contender in ("rwkv_vision", "matmul_ceiling"):
            skip = self.binary_note or (self.only_note if contender == "matmul_ceiling" else None)
        if skip:
            rec.update(status="skipped", reason=skip)
        elif contender in ("torch_vrwkv", "torch_vit"):
            self._run_torch(rec, H, W)
        else:
            self._run_binary(rec, H, W, pred)
        self.results.append(rec)
        self._print_line(rec)
        return rec

    def _timeout(self, pred_ms):
        a = self.a
        per = a.budget_s if pred_ms is None else min(a.budget_s, 3 * pred_ms / 1e3 + 5)
        return 60 + per * (a.warmup + 1) + max(a.max_time, a.min_time) + per

    def _run_torch(self, rec, H, W):
        a = self.a
        cmd = [PYTHON, os.path.abspath(__file__), "worker", "--contender", rec["contender"],
               "--model", rec["model"], "--size", f"{H}x{W}", "--batch", str(rec["batch"]),
               "--threads", str(rec["threads"]), "--warmup", str(a.warmup),
               "--min-time", str(a.min_time), "--min-iters", str(a.min_iters),
               "--max-iters", str(a.max_iters), "--max-time", str(a.max_time),
               "--wkv-impl", a.wkv_impl]
        env = child_env(rec["threads"], True, not a.no_openblas)
        rc, out, err, rss, wall, timed_out = run_child(cmd, env, self._timeout(rec.get("predicted_ms")))
        rec.update(peak_rss_mb=rss, wall_s=wall, cmd=" ".join(cmd[1:]))
        if timed_out:
            rec.update(status="skipped", reason=f"skipped: exceeded the time cap ({wall:.0f} s), killed")
            return
        lines = [ln for ln in out.splitlines() if ln.startswith("{")]
        if rc != 0 or not lines:
            tail = err.strip().splitlines()[-1:] or ["no output"]
            rec.update(status="failed", reason=f"failed: rc {rc}: {tail[0][:300]}")
            return
        rec.update(json.loads(lines[-1]))
        if rec["first_forward_ms"] > a.budget_s * 1e3:
            rec["note"] = f"single forward {rec['first_forward_ms'] / 1e3:.0f} s exceeds budget {a.budget_s:.0f} s"

    def _bench_cmd(self, rec, H, W, iters, warmup):
        cmd = [self.a.binary, "bench", "-m", rec["model"], "--size", f"{H}x{W}",
               "--batch", str(rec["batch"]), "--threads", str(rec["threads"]), "--precision", "fp32",
               "--iters", str(iters), "--warmup", str(warmup), "--json"]
        if rec["contender"] == "matmul_ceiling":
            cmd += ["--only", "matmul"]
        return cmd

    def _bench_once(self, rec, H, W, iters, warmup, pred):
        env = child_env(rec["threads"], False, False)
        cmd = self._bench_cmd(rec, H, W, iters, warmup)
        rc, out, err, rss, wall, timed_out = run_child(cmd, env, self._timeout(pred))
        objs = []
        for ln in out.splitlines():
            ln = ln.strip()
            if ln.startswith("{"):
                try:
                    objs.append(json.loads(ln))
                except json.JSONDecodeError:
                    pass
        objs = [o for o in objs if isinstance(o.get("latency_ms"), dict)]
        return cmd, rc, objs, err, rss, wall, timed_out

    def _run_binary(self, rec, H, W, pred):
        a = self.a
        probe_ms = pred
        if probe_ms is None:       # probe: one warm-up, one timed forward
            cmd, rc, objs, err, rss, wall, timed_out = self._bench_once(rec, H, W, 1, 1, None)
            if not self._binary_ok(rec, cmd, rc, objs, err, wall, timed_out):
                return
            probe_ms = objs[-1]["latency_ms"]["median"]
            rec["probe_ms"] = probe_ms
            if probe_ms > a.budget_s * 1e3:
                rec.update(status="skipped", reason=f"skipped: single forward {probe_ms / 1e3:.0f} s > "
                           f"budget {a.budget_s:.0f} s")
                return
        iters = self.iters_for(probe_ms)
        warmup = 1 if probe_ms > 10e3 else a.warmup
        cmd, rc, objs, err, rss, wall, timed_out = self._bench_once(rec, H, W, iters, warmup, probe_ms)
        if not self._binary_ok(rec, cmd, rc, objs, err, wall, timed_out):
            return
        o = objs[-1]
        rec.update(iters=iters, warmup=warmup, latency_ms=o["latency_ms"],
                   images_per_s=o.get("images_per_s", rec["batch"] / (o["latency_ms"]["median"] / 1e3)),
                   self_reported_peak_rss_mb=o.get("peak_rss_mb"), op_share=o.get("op_share"),
                   peak_rss_mb=rss, wall_s=wall, cmd=" ".join(cmd), binary_json=o)
        for key in ("model", "size", "batch", "threads", "precision"):
            if key in o and str(o[key]) != str(rec[key]):
                rec.setdefault("warnings", []).append(f"binary reported {key}={o[key]!r}, asked {rec[key]!r}")

    def _binary_ok(self, rec, cmd, rc, objs, err, wall, timed_out):
        if timed_out:
            rec.update(status="skipped", reason=f"skipped: exceeded the time cap ({wall:.0f} s), killed")
            return False
        if rc == 0 and objs:
            return True
        msg = " ".join(err.strip().split())[:300] or "no output"
        rec["cmd"] = " ".join(cmd)
        usage = rc == 2 or re.search(r"unknown|usage|unrecogni[sz]ed|invalid", msg, re.I)
        if usage and rec["contender"] == "matmul_ceiling" and "only" in msg.lower():
            self.only_note = f"skipped: rwkv-vision bench has no --only matmul yet (rc {rc}: {msg})"
            rec.update(status="skipped", reason=self.only_note)
        elif usage:
            self.binary_note = f"skipped: rwkv-vision has no usable 'bench' subcommand yet (rc {rc}: {msg})"
            rec.update(status="skipped", reason=self.binary_note)
        else:
            rec.update(status="failed", reason=f"failed: rc {rc}, {len(objs)} JSON results: {msg}")
        return False

    def _print_line(self, r):
        if r["status"] == "ok":
            lat = r["latency_ms"]
            s = (f"median {lat['median']:9.1f} ms  p90 {lat['p90']:9.1f} ms  {r['images_per_s']:7.2f} img/s  "
                 f"peak RSS {r.get('peak_rss_mb', float('nan')):7.0f} MB  ({r.get('iters')} iters)")
        else:
            s = r["reason"]
        print(f"[{LABEL[r['contender']]:>15}] {r['model']} {r['size']:>9} b{r['batch']} t{r['threads']}: {s}",
              file=sys.stderr, flush=True)


def _vit_attention_bytes(arch, H, W, batch):
    sys.path.insert(0, TOOLS)
    from rwkv_ref.vit import attention_bytes
    return attention_bytes(arch, H, W, batch, PATCH)


def _meminfo():
    out = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0])          # kB
    except OSError:
        pass
    return out


def machine_info(args):
    """CPU, memory, load, software versions, and which BLAS PyTorch really uses."""
    cpu = None
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and cpu is None:
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    env = child_env(1, True, not args.no_openblas)
    probe = ("import json, torch, sys; sys.path.insert(0, %r); import compare; "
             "cfg = torch.__config__.show(); "
             "print(json.dumps({'torch': torch.__version__, 'blas_libraries': compare.blas_libraries(), "
             "'blas_info': [l.strip() for l in cfg.split(',') if 'BLAS_INFO' in l], "
             "'mkldnn': torch.backends.mkldnn.is_available()}))") % HERE
    try:
        out = subprocess.run([PYTHON, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
        tinfo = json.loads(out.stdout.strip().splitlines()[-1])
    except Exception as e:  # noqa: BLE001 - recorded, not fatal
        tinfo = {"error": str(e)}
    libs = tinfo.get("blas_libraries", [])
    git = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    binary = {"path": args.binary, "exists": os.path.isfile(args.binary)}
    if binary["exists"]:
        binary["mtime"] = datetime.datetime.fromtimestamp(os.path.getmtime(args.binary)).isoformat(timespec="seconds")
    mem = _meminfo()
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu_model": cpu, "logical_cpus": os.cpu_count(), "cpus_available": len(os.sched_getaffinity(0)),
        "isa": sorted(f for f in flags if f in ("avx2", "fma", "avx512f", "avx512bw", "avx512_bf16",
                                                "amx_bf16", "avx512_vnni", "avx_vnni")),
        "mem_total_gib": mem.get("MemTotal", 0) / 2 ** 20, "mem_available_gib": mem.get("MemAvailable", 0) / 2 ** 20,
        "loadavg_at_start": os.getloadavg(), "kernel": platform.release(), "python": platform.python_version(),
        "torch": tinfo.get("torch"), "torch_blas_info": tinfo.get("blas_info"), "torch_mkldnn": tinfo.get("mkldnn"),
        "torch_blas_libraries": libs, "torch_uses_openblas": any("openblas" in p for p in libs),
        "torch_ld_library_path": env.get("LD_LIBRARY_PATH", ""), "repo_commit": git, "binary": binary,
    }


# --------------------------------------------------------------------------- markdown

def _cell_ms(r):
    if r is None:
        return "—"
    if r["status"] != "ok":
        return "skipped" if r["status"] == "skipped" else "failed"
    return f"{r['latency_ms']['median']:.1f}"


def _ratio(num, den, pct=False):
    if not num or not den or num["status"] != "ok" or den["status"] != "ok":
        return "—"
    x = num["latency_ms"]["median"] / den["latency_ms"]["median"]
    return f"{100 * x:.0f}%" if pct else f"{x:.2f}×"


def _rss(r):
    return f"{r['peak_rss_mb']:.0f}" if r and r["status"] == "ok" and r.get("peak_rss_mb") else "—"


def markdown(results, info):
    """One row per (model, size, batch, threads): latencies, ratios, peak RSS."""
    keys = []
    for r in results:
        k = (r["model"], r["size"], r["batch"], r["threads"])
        if k not in keys:
            keys.append(k)
    get = {(r["contender"], r["model"], r["size"], r["batch"], r["threads"]): r for r in results}
    lines = [
        f"Machine: {info.get('cpu_model')}, {info.get('cpus_available')} CPUs available "
        f"(load average at start {', '.join(f'{x:.2f}' for x in info.get('loadavg_at_start', []))}); "
        f"PyTorch {info.get('torch')} with {'OpenBLAS' if info.get('torch_uses_openblas') else 'reference BLAS'}; "
        f"fp32, random weights; median latency per forward in ms. {info.get('date')}.",
        "",
        "| model | input | tokens | batch | threads | rwkv-vision | PyTorch VRWKV | ViT (PyTorch) | matmul ceiling "
        "| vs PyTorch VRWKV | vs ViT | % of ceiling | peak RSS MB (rv / VRWKV / ViT) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (m, size, b, t) in keys:
        rv, tv, vit, mc = (get.get((c, m, size, b, t)) for c in CONTENDERS)
        tokens = next(r["tokens"] for r in results if (r["model"], r["size"], r["batch"], r["threads"]) == (m, size, b, t))
        vit_name = vit.get("arch", VIT_FOR.get(m, "")) if vit else VIT_FOR.get(m, "")
        lines.append(
            f"| {m} | {size} | {tokens} | {b} | {t} | {_cell_ms(rv)} | {_cell_ms(tv)} | {_cell_ms(vit)} "
            f"({vit_name}) | {_cell_ms(mc)} | {_ratio(tv, rv)} | {_ratio(vit, rv)} | {_ratio(mc, rv, pct=True)} "
            f"| {_rss(rv)} / {_rss(tv)} / {_rss(vit)} |")
    lines += ["", "vs X = X's time / rwkv-vision's time (> 1: rwkv-vision is faster); % of ceiling = "
              "matmul-only time / rwkv-vision's time. Peak RSS is each process's own maximum "
              "(for PyTorch it includes the interpreter and torch itself, "
              + _import_rss_note(results) + ")."]
    shares = [r for r in results if r["contender"] == "rwkv_vision" and r["status"] == "ok" and r.get("op_share")]
    if shares:
        lines += ["", "| model | input | threads | matmul | wkv | shift_mix | norm | other |", "|---|---|---:|---:|---:|---:|---:|---:|"]
        for r in shares:
            s = r["op_share"]
            lines.append(f"| {r['model']} | {r['size']} | {r['threads']} | "
                         + " | ".join(f"{100 * s.get(k, 0):.0f}%" for k in ("matmul", "wkv", "shift_mix", "norm", "other")) + " |")
    notes = [r for r in results if r["status"] != "ok"]
    if notes:
        lines += ["", "Not measured:"]
        seen = set()
        for r in notes:
            txt = f"- {LABEL[r['contender']]} {r['model']} {r['size']} t{r['threads']}: {r['reason']}"
            if r["reason"] not in seen or r["contender"] not in ("rwkv_vision", "matmul_ceiling"):
                lines.append(txt)
                seen.add(r["reason"])
    return "\n".join(lines)


def _import_rss_note(results):
    v = [r["rss_after_import_mb"] for r in results if r.get("rss_after_import_mb")]
    return f"≈{statistics.median(v):.0f} MB after `import torch`" if v else "import torch alone is a few hundred MB"


# --------------------------------------------------------------------------- main

def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "worker":
        p = argparse.ArgumentParser(prog="compare.py worker")
        p.add_argument("--contender", choices=("torch_vrwkv", "torch_vit"), required=True)
        p.add_argument("--model", required=True)
        p.add_argument("--size", type=parse_size, required=True)
        for name, typ in (("--batch", int), ("--threads", int), ("--warmup", int), ("--min-iters", int),
                          ("--max-iters", int), ("--min-time", float), ("--max-time", float)):
            p.add_argument(name, type=typ, required=True)
        p.add_argument("--wkv-impl", default="scan_fast")
        return worker_main(p.parse_args(argv[1:]))

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", choices=sorted(SUITES), help="a predefined set of configurations")
    p.add_argument("--models", nargs="+", help="override the suite's models (vrwkv_t vrwkv_s vrwkv_b)")
    p.add_argument("--sizes", nargs="+", type=parse_size, help="override the suite's sizes (N or HxW)")
    p.add_argument("--threads", nargs="+", type=int, help="thread counts (suite default: 1 2)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--contenders", nargs="+", choices=CONTENDERS, help="subset of contenders")
    p.add_argument("--binary", default=DEFAULT_BINARY, help=f"rwkv-vision executable (default {DEFAULT_BINARY})")
    p.add_argument("--warmup", type=int, default=2, help="warm-up forwards (>= 1; 1 if a forward takes > 10 s)")
    p.add_argument("--min-time", type=float, default=2.0, help="time at least this many seconds per config")
    p.add_argument("--min-iters", type=int, default=5)
    p.add_argument("--max-iters", type=int, default=200)
    p.add_argument("--max-time", type=float, default=60.0, help="stop timing after this many seconds (>= 1 iteration)")
    p.add_argument("--budget-s", type=float, default=180.0,
                   help="skip a contender+size whose single forward is predicted or measured above this")
    p.add_argument("--mem-limit-gib", type=float, default=16.0, help="skip a ViT whose estimated peak exceeds this")
    p.add_argument("--wkv-impl", default="scan_fast", choices=("scan_fast", "scan", "recurrent"),
                   help="Bi-WKV of the PyTorch VRWKV (default scan_fast; scan = kernel-exact EPS)")
    p.add_argument("--no-openblas", action="store_true", help="do not point PyTorch at OpenBLAS")
    p.add_argument("--out", help="JSON output (default benchmarks/e2e/<suite>.json; the table goes to <out>.md)")
    p.add_argument("--list", action="store_true", help="print the configurations and exit")
    a = p.parse_args(argv)
    suite = SUITES.get(a.suite or "", {"configs": [], "threads": [1], "contenders": list(CONTENDERS)})
    configs = suite["configs"]
    if a.models or a.sizes:
        models = a.models or sorted({m for m, _ in configs}) or ["vrwkv_t"]
        sizes = a.sizes or [(s, s) for s in sorted({s for _, s in configs})] or [(224, 224)]
        configs = [(m, s) for m in models for s in sizes]
    configs = [(m, s if isinstance(s, tuple) else (s, s)) for m, s in configs]
    if not configs:
        p.error("give --suite, or --models / --sizes")
    for m, _ in configs:
        if m not in VIT_FOR:
            p.error(f"unknown model {m!r} (use {', '.join(VIT_FOR)})")
    threads = a.threads or suite["threads"]
    contenders = a.contenders or suite["contenders"]
    a.warmup = max(1, a.warmup)
    plan = [(t, m, hw, c) for t in threads for m, hw in sorted(configs, key=lambda x: (x[0], x[1][0] * x[1][1]))
            for c in contenders]
    if a.list:
        for t, m, (h, w), c in plan:
            print(f"{LABEL[c]:>15}  {m}  {h}x{w}  tokens {tokens_of(h, w)}  batch {a.batch}  threads {t}")
        return 0
    name = a.suite or "custom"
    out = a.out or os.path.join(HERE, f"{name}.json")

    info = machine_info(a)
    print(f"# {name}: {len(plan)} runs; {info['cpu_model']}; torch {info['torch']} "
          f"({'OpenBLAS' if info['torch_uses_openblas'] else 'NOT OpenBLAS'}); binary "
          f"{'found' if info['binary']['exists'] else 'missing'}", file=sys.stderr)
    d = Driver(a)
    for t, m, (h, w), c in plan:
        d.run(c, m, h, w, a.batch, t)
        _write(out, name, a, info, d.results)      # partial results survive an interrupted run
    info["loadavg_at_end"] = os.getloadavg()
    _write(out, name, a, info, d.results)
    md = markdown(d.results, info)
    with open(os.path.splitext(out)[0] + ".md", "w") as f:
        f.write(md + "\n")
    print(md)
    print(f"\nwrote {out} and {os.path.splitext(out)[0]}.md", file=sys.stderr)
    return 0


def _write(path, name, a, info, results):
    settings = {k: v for k, v in vars(a).items() if k not in ("list",)}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"suite": name, "settings": settings, "machine": info, "results": results}, f, indent=1, default=str)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())

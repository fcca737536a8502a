"""Download pinned corpus packages into a local cache (outside git).

Layout of the cache (default ``~/.cache/typeinf/corpus``; ``$TYPEINF_CACHE``
replaces ``~/.cache/typeinf``; ``--cache DIR`` names the corpus directory
itself)::

    <cache>/python/<normalised-name>/<version>/<wheel-or-sdist>
    <cache>/python/<normalised-name>/<version>/meta.json     <- "done" marker
    <cache>/npm/<name, "/" -> "__">/<version>/<name>-<version>.tgz
    <cache>/npm/<...>/<version>/meta.json

Python packages are fetched with ``pip download --no-deps``, a wheel first
(``--only-binary=:all:``) and the sdist otherwise; npm packages with
``npm pack NAME@VERSION``.  A package whose ``meta.json`` exists is not fetched
again, so an interrupted run resumes where it stopped.  Failures are reported
and skipped, never fatal.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .split import normalize_name

DEFAULT_JOBS = 6
MAX_JOBS = 8
COMMAND_TIMEOUT = 600  # seconds for one pip/npm invocation


def default_cache_root() -> Path:
    """``$TYPEINF_CACHE/corpus`` or ``~/.cache/typeinf/corpus``."""
    env = os.environ.get("TYPEINF_CACHE")
    base = Path(env).expanduser() if env else Path.home() / ".cache" / "typeinf"
    return base / "corpus"


def cache_root(cli_value: str | os.PathLike[str] | None = None) -> Path:
    return Path(cli_value).expanduser() if cli_value else default_cache_root()


def _safe(name: str, ecosystem: str) -> str:
    return normalize_name(name, ecosystem).replace("/", "__")


def package_dir(root: Path, ecosystem: str, name: str) -> Path:
    return root / ecosystem / _safe(name, ecosystem)


@dataclass
class FetchRequest:
    ecosystem: str
    name: str
    version: str = ""  # "" = latest
    allow_fallback: bool = False  # pinned version failed -> take the latest

    @property
    def spec(self) -> str:
        sep = "==" if self.ecosystem == "python" else "@"
        return f"{self.name}{sep}{self.version}" if self.version else self.name


@dataclass
class FetchResult:
    request: FetchRequest
    status: str  # "ok" (downloaded), "skipped" (cached), "failed"
    version: str = ""
    archive: Path | None = None
    size: int = 0
    kind: str = ""  # wheel | sdist | npm
    reason: str = ""
    seconds: float = 0.0
    fallback: bool = False
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.status in ("ok", "skipped") and self.archive is not None


def _read_meta(vdir: Path) -> dict[str, object] | None:
    marker = vdir / "meta.json"
    if not marker.is_file():
        return None
    try:
        meta = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or not (vdir / str(meta.get("file", ""))).is_file():
        return None
    return meta


def find_cached(root: Path, req: FetchRequest) -> tuple[Path, dict[str, object]] | None:
    """The cached version directory satisfying ``req``, if any."""
    pdir = package_dir(root, req.ecosystem, req.name)
    if req.version:
        meta = _read_meta(pdir / req.version)
        if meta is not None:
            return pdir / req.version, meta
    if req.allow_fallback or not req.version:
        if pdir.is_dir():
            for vdir in sorted(pdir.iterdir()):
                meta = _read_meta(vdir)
                if meta is not None and meta.get("requested", "") == req.version:
                    return vdir, meta
    return None


def _tail(text: str, limit: int = 300) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    lines = [ln for ln in lines if "Unknown user config" not in ln and not ln.startswith("WARNING")]
    out = " | ".join(lines[-3:])
    return out[-limit:]


def _run(cmd: list[str], cwd: Path | None = None) -> tuple[bool, str, str]:
    env = dict(os.environ)
    env.setdefault("PIP_NO_INPUT", "1")
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    env["npm_config_update_notifier"] = "false"
    env["npm_config_fund"] = "false"
    env["npm_config_audit"] = "false"
    try:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return False, "", f"timed out after {COMMAND_TIMEOUT}s"
    except OSError as exc:
        return False, "", str(exc)
    return proc.returncode == 0, proc.stdout, proc.stderr


def _version_from_python_file(fn: str) -> str:
    if fn.endswith(".whl"):
        return fn.split("-")[1]
    for ext in (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar"):
        if fn.endswith(ext):
            return fn[: -len(ext)].rsplit("-", 1)[-1]
    return ""


def _download_python(spec: str, dest: Path) -> tuple[Path | None, str, str, str]:
    """(file, version, kind, error) for one pip spec."""
    errors: list[str] = []
    for kind, opts in (("wheel", ["--only-binary=:all:"]), ("sdist", ["--no-binary=:all:"])):
        for old in dest.iterdir():
            old.unlink() if old.is_file() else shutil.rmtree(old)
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--ignore-requires-python",
            "--progress-bar",
            "off",
            "-q",
            "-d",
            str(dest),
            *opts,
            spec,
        ]
        ok, _out, err = _run(cmd)
        files = [p for p in dest.iterdir() if p.is_file()]
        if ok and len(files) == 1:
            return files[0], _version_from_python_file(files[0].name), kind, ""
        errors.append(f"{kind}: {_tail(err) or 'no file'}")
    return None, "", "", "; ".join(errors)


def _download_npm(spec: str, dest: Path) -> tuple[Path | None, str, str, str]:
    cmd = ["npm", "pack", spec, "--pack-destination", str(dest), "--json", "--loglevel=error"]
    ok, out, err = _run(cmd, cwd=dest)
    if not ok:
        return None, "", "", _tail(err) or "npm pack failed"
    try:
        info = json.loads(out)
        entry = info[0] if isinstance(info, list) else info
        fn, version = str(entry["filename"]), str(entry["version"])
    except (ValueError, KeyError, IndexError, TypeError):
        files = [p for p in dest.iterdir() if p.suffix == ".tgz"]
        if len(files) != 1:
            return None, "", "", "could not read npm pack output"
        return files[0], "", "npm", ""
    # npm >= 9 writes "scope-name-1.0.0.tgz" for "@scope/name"
    path = dest / fn
    if not path.is_file():
        files = [p for p in dest.iterdir() if p.suffix == ".tgz"]
        if len(files) != 1:
            return None, "", "", f"npm pack: {fn} not found"
        path = files[0]
    return path, version, "npm", ""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_one(root: Path, req: FetchRequest) -> FetchResult:
    """Fetch one package into the cache (or find it there).  Never raises."""
    start = time.monotonic()
    try:
        hit = find_cached(root, req)
        if hit is not None:
            vdir, meta = hit
            archive = vdir / str(meta["file"])
            return FetchResult(
                req,
                "skipped",
                version=str(meta.get("version", vdir.name)),
                archive=archive,
                size=archive.stat().st_size,
                kind=str(meta.get("kind", "")),
                fallback=bool(meta.get("fallback", False)),
                meta=meta,
            )
        pdir = package_dir(root, req.ecosystem, req.name)
        pdir.mkdir(parents=True, exist_ok=True)
        download = _download_python if req.ecosystem == "python" else _download_npm
        with tempfile.TemporaryDirectory(prefix=".tmp-", dir=pdir) as tmp:
            tmpdir = Path(tmp)
            path, version, kind, err = download(req.spec, tmpdir)
            fallback = False
            if path is None and req.version and req.allow_fallback:
                latest = FetchRequest(req.ecosystem, req.name)
                path, version, kind, err2 = download(latest.spec, tmpdir)
                fallback = path is not None
                err = f"{err}; latest: {err2}" if path is None else ""
            if path is None:
                return FetchResult(req, "failed", reason=err, seconds=time.monotonic() - start)
            version = version or req.version or "unknown"
            vdir = pdir / version
            vdir.mkdir(parents=True, exist_ok=True)
            final = vdir / path.name
            shutil.move(str(path), final)
        meta = {
            "name": req.name,
            "ecosystem": req.ecosystem,
            "version": version,
            "requested": req.version,
            "fallback": fallback,
            "file": final.name,
            "kind": kind,
            "size": final.stat().st_size,
            "sha256": _sha256(final),
        }
        tmp_marker = vdir / "meta.json.tmp"
        tmp_marker.write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
        tmp_marker.replace(vdir / "meta.json")
        return FetchResult(
            req,
            "ok",
            version=version,
            archive=final,
            size=int(meta["size"]),
            kind=kind,
            fallback=fallback,
            seconds=time.monotonic() - start,
            meta=meta,
        )
    except Exception as exc:  # noqa: BLE001 - a package failure is never fatal
        return FetchResult(
            req, "failed", reason=f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - start
        )


class Progress:
    """A one-line progress bar on stderr (a line per item when not a terminal)."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        self.done = 0
        self.counts = {"ok": 0, "skipped": 0, "failed": 0}
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self._lock = threading.Lock()

    def update(self, status: str, what: str, extra: str = "") -> None:
        with self._lock:
            self.done += 1
            self.counts[status] = self.counts.get(status, 0) + 1
            elapsed = time.monotonic() - self.start
            stats = " ".join(f"{k} {v}" for k, v in self.counts.items())
            if self.tty:
                width = 30
                filled = int(width * self.done / max(self.total, 1))
                bar = "#" * filled + "." * (width - filled)
                line = (
                    f"\r{self.label} [{bar}] {self.done}/{self.total} {stats} {elapsed:5.0f}s {what[:40]:<40}"
                )
                self.stream.write(line)
                if self.done == self.total:
                    self.stream.write("\n")
            else:
                self.stream.write(
                    f"{self.label} [{self.done}/{self.total}] {status:7} {what}"
                    f"{' ' + extra if extra else ''} ({elapsed:.0f}s; {stats})\n"
                )
            self.stream.flush()


def fetch_iter(
    root: Path,
    requests: Iterable[FetchRequest],
    jobs: int = DEFAULT_JOBS,
) -> Iterator[FetchResult]:
    """Fetch in parallel, yielding results as they complete (cached ones first)."""
    reqs = list(requests)
    jobs = max(1, min(jobs, MAX_JOBS))
    pending: list[FetchRequest] = []
    for req in reqs:  # cache hits need no thread
        if find_cached(root, req) is not None:
            yield fetch_one(root, req)
        else:
            pending.append(req)
    if not pending:
        return
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="fetch") as pool:
        futures = [pool.submit(fetch_one, root, req) for req in pending]
        for fut in as_completed(futures):
            yield fut.result()


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def fetch_all(
    root: Path,
    requests: Iterable[FetchRequest],
    jobs: int = DEFAULT_JOBS,
    label: str = "fetch",
    on_result: Callable[[FetchResult], str | None] | None = None,
) -> list[FetchResult]:
    """Fetch with a progress bar; ``on_result`` may return extra text for the bar."""
    reqs = list(requests)
    progress = Progress(len(reqs), label)
    results: list[FetchResult] = []
    for res in fetch_iter(root, reqs, jobs):
        extra = on_result(res) if on_result else None
        what = res.request.spec if res.status == "failed" else f"{res.request.name}=={res.version}"
        if res.status == "failed":
            extra = res.reason[:200]
        progress.update(res.status, what, extra or "")
        results.append(res)
    return results


def summarize(results: list[FetchResult], stream: TextIO | None = None) -> str:
    """Print and return an ok/skipped/failed summary with failure reasons."""
    stream = stream or sys.stderr
    by: dict[str, list[FetchResult]] = {"ok": [], "skipped": [], "failed": []}
    for r in results:
        by.setdefault(r.status, []).append(r)
    size = sum(r.size for r in results if r.available)
    lines = [
        f"{len(by['ok'])} downloaded, {len(by['skipped'])} already cached, "
        f"{len(by['failed'])} failed; {human_size(size)} in cache for these packages"
    ]
    fallbacks = [r for r in results if r.fallback]
    if fallbacks:
        lines.append("pinned version unavailable, latest taken instead:")
        lines += [f"  {r.request.spec} -> {r.version}" for r in fallbacks]
    if by["failed"]:
        lines.append("failed:")
        lines += [f"  {r.request.spec}: {r.reason}" for r in by["failed"]]
    text = "\n".join(lines)
    print(text, file=stream)
    return text

"""`typeinf predict` leaves nothing behind: onnxruntime's telemetry files are not written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_predict_writes_nothing_under_the_home_cache(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / "m.py").write_text("def is_enabled(config, strict=False):\n    return strict\n")
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "ORT_DISABLE_TELEMETRY")}
    env["HOME"] = str(home)
    r = subprocess.run([sys.executable, "-m", "typeinf", "predict", "m.py"], cwd=work, env=env,
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "strict : bool" in r.stdout  # the model really ran
    written = [p.relative_to(home).as_posix() for p in Path(home).rglob("*")]
    assert not [p for p in written if "Microsoft" in p], written

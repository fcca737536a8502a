"""Static-checker baselines on strip-and-restore sites: what pyright / tsc infer at each site.

    python benchmarks/baselines.py pyright STRIPPED_DIR OUT.json
    python benchmarks/baselines.py tsc STRIPPED_DIR OUT.json

STRIPPED_DIR is a project stripped by the shared protocol (it holds .truth.json). Writes a
prediction list in the format `typeinf predict --format json` prints, so the protocol's `score`
rates pyright and tsc exactly like typeinf on the same sites.

pyright: the type pyright shows at the name (hover from `pyright-langserver`); for a return, the
return type of the function's hover signature.  tsc: the TypeScript compiler API over the
stripped project (`getTypeAtLocation`; for a return, the signature's return type).  Both come
from npm packages installed under ~/.cache/typeinf/bench-npm (pyright, typescript).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

NPM = Path.home() / ".cache" / "typeinf" / "bench-npm"
TSC_SCRIPT = r"""
const ts = require(process.argv[2]);
const path = require("path");
const root = process.argv[3];
const truth = JSON.parse(require("fs").readFileSync(path.join(root, ".truth.json"), "utf8"));
const files = [...new Set(truth.map(t => path.join(root, t.file)))];
const program = ts.createProgram(files, {allowJs: false, noEmit: true, strict: true, target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, jsx: ts.JsxEmit.Preserve,
  skipLibCheck: true});
const checker = program.getTypeChecker();
const out = [];
function find(sf, pos) {
  let best = undefined;
  (function visit(n) { if (pos >= n.getStart(sf) && pos < n.getEnd()) { best = n; ts.forEachChild(n, visit); } })(sf);
  return best;
}
for (const t of truth) {
  const sf = program.getSourceFile(path.join(root, t.file));
  if (!sf) continue;
  const lines = sf.text.split("\n");
  let col16 = 0; const cps = Array.from(lines[t.line - 1] || "");
  for (let i = 0; i < t.column && i < cps.length; i++) col16 += cps[i].length;
  const pos = sf.getPositionOfLineAndCharacter(t.line - 1, col16);
  let node = find(sf, pos);
  if (!node) continue;
  let type;
  try {
    if (t.kind === "return") {
      let fn = node;
      while (fn && !ts.isFunctionLike(fn)) {
        if ((ts.isVariableDeclaration(fn) || ts.isPropertyAssignment(fn) || ts.isPropertyDeclaration(fn)) && fn.initializer && ts.isFunctionLike(fn.initializer)) { fn = fn.initializer; break; }
        fn = fn.parent;
      }
      if (!fn) continue;
      const sig = checker.getSignatureFromDeclaration(fn);
      if (!sig) continue;
      type = checker.getReturnTypeOfSignature(sig);
    } else {
      while (node.parent && !ts.isIdentifier(node) && !ts.isBindingPattern(node)) node = node.parent;
      type = checker.getTypeAtLocation(node);
    }
    out.push({file: t.file, line: t.line, column: t.column, kind: t.kind, qualname: t.qualname, name: t.name,
              type: checker.typeToString(type, undefined, ts.TypeFormatFlags.NoTruncation), confidence: 1.0});
  } catch (e) { }
}
process.stdout.write(JSON.stringify(out));
"""


def tsc(root: Path) -> list[dict]:
    script = root / ".tsc_baseline.js"
    script.write_text(TSC_SCRIPT)
    try:
        proc = subprocess.run(
            ["node", str(script), str(NPM / "node_modules" / "typescript"), str(root)],
            capture_output=True,
            text=True,
            timeout=3600,
        )
    finally:
        script.unlink()
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    preds = json.loads(proc.stdout)
    # tsc's unknown is `any`: no information, as pyright's Unknown
    return [p for p in preds if p["type"] not in ("any",)]


_HOVER = re.compile(r"\((parameter|variable|function|method|property|constant)\)\s+(.*)", re.S)


def _hover_type(kind: str, text: str) -> str | None:
    text = text.replace("```python", "").replace("```", "").strip()
    m = _HOVER.search(text)
    if not m:
        return None
    body = " ".join(m.group(2).split())
    if kind == "return":
        i = body.rfind("->")
        return body[i + 2 :].strip() if i >= 0 else None
    i = body.find(":")
    if i < 0:
        return None
    t = body[i + 1 :].strip()
    return None if "Unknown" in t else t


async def _pyright(root: Path) -> list[dict]:
    truth = json.loads((root / ".truth.json").read_text())
    client = LanguageClient("bench", "1")

    @client.feature(lsp.WINDOW_LOG_MESSAGE)
    def _log(params: lsp.LogMessageParams) -> None:
        return None

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def _diags(params: lsp.PublishDiagnosticsParams) -> None:
        return None

    await client.start_io(str(NPM / "node_modules" / ".bin" / "pyright-langserver"), "--stdio")
    await client.initialize_async(
        lsp.InitializeParams(
            capabilities=lsp.ClientCapabilities(),
            root_uri=root.as_uri(),
            workspace_folders=[lsp.WorkspaceFolder(root.as_uri(), "root")],
        )
    )
    client.initialized(lsp.InitializedParams())
    out = []
    by_file: dict[str, list[dict]] = {}
    for t in truth:
        by_file.setdefault(t["file"], []).append(t)
    for rel, sites in by_file.items():
        path = root / rel
        text = path.read_text(encoding="utf-8", errors="replace")
        uri = path.resolve().as_uri()
        client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "python", 1, text))
        )
        lines = text.split("\n")
        for t in sites:
            line = lines[t["line"] - 1] if t["line"] - 1 < len(lines) else ""
            col16 = len(line[: t["column"]].encode("utf-16-le")) // 2
            try:
                h = await asyncio.wait_for(
                    client.text_document_hover_async(
                        lsp.HoverParams(lsp.TextDocumentIdentifier(uri), lsp.Position(t["line"] - 1, col16))
                    ),
                    20,
                )
            except Exception:  # noqa: BLE001
                continue
            if h is None:
                continue
            contents = h.contents
            value = contents.value if hasattr(contents, "value") else str(contents)
            typ = _hover_type(t["kind"], value)
            if typ:
                out.append(
                    {
                        **{k: t[k] for k in ("file", "line", "column", "kind", "qualname", "name")},
                        "type": typ,
                        "confidence": 1.0,
                    }
                )
        client.text_document_did_close(lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(uri)))
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return out


def main() -> None:
    tool, root, out = sys.argv[1], Path(sys.argv[2]).resolve(), Path(sys.argv[3])
    preds = asyncio.run(_pyright(root)) if tool == "pyright" else tsc(root)
    out.write_text(json.dumps(preds))
    print(f"{tool}: {len(preds)} typed sites", file=sys.stderr)


if __name__ == "__main__":
    main()

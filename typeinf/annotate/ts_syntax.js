// Syntax diagnostics of TypeScript sources before and after annotation, by the compiler's parser.
//
//   node ts_syntax.js TYPESCRIPT_DIR < {"/abs/file.ts": ["old text", "new text"], ...}
//
// Prints {"/abs/file.ts": [old count, new count, "first new message"], ...}.
"use strict";
const ts = require(process.argv[2]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = {};
for (const [name, [before, after]] of Object.entries(input)) {
  const kind = name.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const diags = (text) => ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true, kind).parseDiagnostics;
  const old = diags(before);
  const now = diags(after);
  const first = now.length > old.length ? ts.flattenDiagnosticMessageText(now[0].messageText, " ") : "";
  out[name] = [old.length, now.length, first];
}
process.stdout.write(JSON.stringify(out));

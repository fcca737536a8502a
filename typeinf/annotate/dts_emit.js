// Declaration files (.d.ts) of annotated TypeScript sources, for `typeinf annotate --stubs DIR`.
//
//   node dts_emit.js TYPESCRIPT_DIR < {"root": "/abs/project", "files": {"/abs/file.ts": "annotated source"}}
//
// The program is the given files, their text replaced by the annotated one (in memory: nothing
// in the project is written); everything they import is read from disk as usual (node_modules,
// tsconfig-less defaults).  Prints {"/abs/file.d.ts": "declarations", ...} for the given files,
// and the compiler's declaration errors under "__errors__".
"use strict";
const ts = require(process.argv[2]);
const fs = require("fs");

const input = JSON.parse(fs.readFileSync(0, "utf8"));
const overrides = new Map(Object.entries(input.files));
const options = {
  declaration: true, emitDeclarationOnly: true, noEmitOnError: false, skipLibCheck: true, strict: false,
  target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
  jsx: ts.JsxEmit.Preserve, allowImportingTsExtensions: true, rootDir: input.root, outDir: input.root,
};
const host = ts.createCompilerHost(options, true);
const getSourceFile = host.getSourceFile;
host.getSourceFile = (name, languageVersion, onError, shouldCreate) => {
  const text = overrides.get(name);
  if (text !== undefined) return ts.createSourceFile(name, text, languageVersion, true);
  return getSourceFile(name, languageVersion, onError, shouldCreate);
};
const fileExists = host.fileExists;
host.fileExists = (name) => overrides.has(name) || fileExists(name);
const readFile = host.readFile;
host.readFile = (name) => overrides.get(name) ?? readFile(name);

const program = ts.createProgram([...overrides.keys()], options, host);
const out = {};
const wanted = new Set([...overrides.keys()].map((f) => f.replace(/\.(m|c)?tsx?$/, "")));
program.emit(undefined, (name, text) => {
  const base = name.replace(/\.d\.(m|c)?ts$/, "");
  if (wanted.has(base)) out[name] = text;
}, undefined, true);
const errors = ts.getPreEmitDiagnostics(program).filter((d) => d.code >= 9005 && d.code <= 9039)
  .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
out.__errors__ = errors;
process.stdout.write(JSON.stringify(out));

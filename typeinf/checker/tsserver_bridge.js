// A long-lived TypeScript checker for typeinf (typeinf/checker/typescript.py): the compiler API's
// LanguageService over an in-memory host that honours the project's tsconfig.json.
//
//   node tsserver_bridge.js /path/to/node_modules/typescript
//
// One JSON object a line on stdin, one reply a line on stdout:
//   {"id": 1, "method": "open", "params": {"root": "/abs/project"}}       -> {"id": 1, "result": {"files": n, "config": path|null, "version": "5.7.2"}}
//   {"id": 2, "method": "setText", "params": {"path": "/abs/a.ts", "text": "..."}}
//   {"id": 2, "method": "release", "params": {"path": "/abs/a.ts"}}       (the disk's text again)
//   {"id": 3, "method": "typesAt", "params": {"path": "/abs/a.ts", "positions": [[line0, utf16col, "var"|"param"|"return"], ...]}}
//        -> {"id": 3, "result": ["number", null, ...]}   (null: no type, any or unknown)
//   {"id": 4, "method": "diagnostics", "params": {"path": "/abs/a.ts"}}
//        -> {"id": 4, "result": [[line0, utf16col, "TS2322", "message", "error"], ...]}
// Errors: {"id": n, "error": "message"}.
"use strict";
const path = require("path");
const fs = require("fs");
const readline = require("readline");
const ts = require(process.argv[2] || "typescript");

let root = null;
let options = {};
let fileNames = new Set();
const overlay = new Map(); // path -> {text, version}

const host = {
  getScriptFileNames: () => Array.from(fileNames),
  getScriptVersion: (f) => (overlay.has(f) ? String(overlay.get(f).version) : "0"),
  getScriptSnapshot: (f) => {
    if (overlay.has(f)) return ts.ScriptSnapshot.fromString(overlay.get(f).text);
    if (!fs.existsSync(f)) return undefined;
    return ts.ScriptSnapshot.fromString(fs.readFileSync(f, "utf8"));
  },
  getCurrentDirectory: () => root || process.cwd(),
  getCompilationSettings: () => options,
  getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
  fileExists: (f) => overlay.has(f) || ts.sys.fileExists(f),
  readFile: (f, enc) => (overlay.has(f) ? overlay.get(f).text : ts.sys.readFile(f, enc)),
  readDirectory: ts.sys.readDirectory,
  directoryExists: ts.sys.directoryExists,
  getDirectories: ts.sys.getDirectories,
  realpath: ts.sys.realpath,
};
let service = null;

function open(params) {
  root = path.resolve(params.root);
  const config = ts.findConfigFile(root, ts.sys.fileExists, "tsconfig.json");
  if (config && path.dirname(config).startsWith(root)) {
    const parsed = ts.getParsedCommandLineOfConfigFile(config, {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: () => {},
    });
    options = parsed ? parsed.options : {};
    fileNames = new Set(parsed ? parsed.fileNames : []);
  } else {
    options = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext,
                moduleResolution: ts.ModuleResolutionKind.Bundler, strict: true, jsx: ts.JsxEmit.Preserve,
                skipLibCheck: true, allowJs: false };
    fileNames = new Set(ts.sys.readDirectory(root, [".ts", ".tsx", ".mts", ".cts"], ["**/node_modules/**"], undefined));
  }
  options.noEmit = true;
  service = ts.createLanguageService(host, ts.createDocumentRegistry());
  return { files: fileNames.size, config: config && path.dirname(config).startsWith(root) ? config : null,
           version: ts.version };
}

function setText(params) {
  const f = path.resolve(params.path);
  const prev = overlay.get(f);
  // the same text is not a new version: a new version means a new program and a checker that
  // infers every type again
  if (prev ? prev.text === params.text : ts.sys.readFile(f) === params.text) return null;
  overlay.set(f, { text: params.text, version: prev ? prev.version + 1 : 1 });
  fileNames.add(f);
  return null;
}

function release(params) {
  overlay.delete(path.resolve(params.path));
  return null;
}

function sourceFile(f) {
  f = path.resolve(f);
  if (!fileNames.has(f)) fileNames.add(f);
  const program = service.getProgram();
  const sf = program.getSourceFile(f);
  if (!sf) throw new Error("not in the program: " + f);
  return [program, sf];
}

function nodeAt(sf, pos) {
  let found = null;
  function visit(node) {
    if (pos >= node.getStart(sf) && pos < node.getEnd()) {
      found = node;
      ts.forEachChild(node, visit);
    }
  }
  visit(sf);
  return found;
}

const BAD = ts.TypeFlags.Any | ts.TypeFlags.Unknown;
const FORMAT = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope;

function show(checker, type, decl) {
  if (!type || type.flags & BAD) return null;
  type = checker.getBaseTypeOfLiteralType(type);
  const text = checker.typeToString(type, decl, FORMAT);
  if (/\bany\b/.test(text)) return null;
  return text;
}

function functionOf(node) {
  for (let n = node; n; n = n.parent) {
    if (ts.isFunctionLike(n)) return n;
    if (ts.isVariableDeclaration(n) && n.initializer &&
        (ts.isArrowFunction(n.initializer) || ts.isFunctionExpression(n.initializer))) return n.initializer;
    if (ts.isPropertyDeclaration(n) && n.initializer &&
        (ts.isArrowFunction(n.initializer) || ts.isFunctionExpression(n.initializer))) return n.initializer;
    if (ts.isBlock(n) || ts.isSourceFile(n)) return null;
  }
  return null;
}

// A variable that starts empty (`const xs = []`, `let x = null`, `let x;`) has the type the
// compiler gives it by what the code later puts in it (an evolving array, an auto-typed `let`):
// not at its declaration, where it is `any[]` or `null`, but at its uses.
const EMPTY_TYPES = new Set(["never[]", "null", "undefined"]);

function startsEmpty(name) {
  const decl = name.parent;
  if (!decl || !ts.isVariableDeclaration(decl) || decl.name !== name || decl.type) return false;
  const init = decl.initializer;
  if (!init) return true;
  if (ts.isArrayLiteralExpression(init)) return init.elements.length === 0;
  return init.kind === ts.SyntaxKind.NullKeyword || (ts.isIdentifier(init) && init.text === "undefined");
}

function evolved(checker, name, sym) {
  // the uses of the variable in its scope, last first: the first with a type that can be written
  let scope = name.parent;
  while (scope && !ts.isBlock(scope) && !ts.isSourceFile(scope) && !ts.isFunctionLike(scope)) scope = scope.parent;
  if (!scope) return null;
  const uses = [];
  (function visit(n) {
    if (ts.isIdentifier(n) && n !== name && n.text === name.text && checker.getSymbolAtLocation(n) === sym) uses.push(n);
    ts.forEachChild(n, visit);
  })(scope);
  for (let i = uses.length - 1; i >= 0; i--) {
    const t = show(checker, checker.getTypeAtLocation(uses[i]), name);
    if (t !== null && !EMPTY_TYPES.has(t)) return t;
  }
  return null;
}

function typesAt(params) {
  const [program, sf] = sourceFile(params.path);
  const checker = program.getTypeChecker();
  return params.positions.map(([line, col, kind]) => {
    try {
      const pos = sf.getPositionOfLineAndCharacter(line, col);
      const node = nodeAt(sf, pos);
      if (!node) return null;
      if (kind === "return") {
        const fn = functionOf(node);
        if (!fn) return null;
        const sig = checker.getSignatureFromDeclaration(fn);
        if (!sig) return null;
        return show(checker, checker.getReturnTypeOfSignature(sig), fn);
      }
      const sym = checker.getSymbolAtLocation(node);
      const type = sym ? checker.getTypeOfSymbolAtLocation(sym, node) : checker.getTypeAtLocation(node);
      const shown = show(checker, type, node);
      if (kind === "var" && sym && (shown === null || EMPTY_TYPES.has(shown)) && startsEmpty(node)) {
        return evolved(checker, node, sym) || shown;
      }
      return shown;
    } catch (e) {
      return null;
    }
  });
}

const SEVERITY = { 0: "warning", 1: "error", 2: "hint", 3: "information" };

function diagnostics(params) {
  const f = path.resolve(params.path);
  const [, sf] = sourceFile(f);
  const all = service.getSyntacticDiagnostics(f).concat(service.getSemanticDiagnostics(f));
  return all.map((d) => {
    const lc = d.start !== undefined ? sf.getLineAndCharacterOfPosition(d.start) : { line: 0, character: 0 };
    return [lc.line, lc.character, "TS" + d.code, ts.flattenDiagnosticMessageText(d.messageText, "\n"),
            SEVERITY[d.category] || "error"];
  });
}

const METHODS = { open, setText, release, typesAt, diagnostics };
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (e) {
    return;
  }
  let reply;
  try {
    const fn = METHODS[msg.method];
    if (!fn) throw new Error("unknown method " + msg.method);
    if (msg.method !== "open" && !service) throw new Error("not open");
    reply = { id: msg.id, result: fn(msg.params || {}) };
  } catch (e) {
    reply = { id: msg.id, error: String((e && e.message) || e) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
});
rl.on("close", () => process.exit(0));

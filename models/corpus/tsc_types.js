// The TypeScript compiler's inferred types at given sites of one package, for the corpus's
// `inferred` labels (models/corpus/infer.py).
//
//   node tsc_types.js TYPESCRIPT_DIR < {"files": {"path": "source", ...}, "sites": [...]}
//
// `files` are the package's sources and its shipped declaration files (.d.ts), held in memory;
// the program is built over them with the compiler's default library (no other dependency is
// available offline, so names imported from other packages are `any`).  Each site is
// {file, line (1-based), column (0-based, code points), kind: "var" | "return"}, at the position
// typeinf.slices gives it.  Prints one JSON array with a type string (or null) per site.
"use strict";
const ts = require(process.argv[2]);
const fs = require("fs");
const path = require("path");

const input = JSON.parse(fs.readFileSync(0, "utf8"));
const ROOT = "/pkg/";
const files = new Map(Object.entries(input.files).map(([p, text]) => [ROOT + p, text]));
const options = {
  allowJs: false, noEmit: true, strict: true, skipLibCheck: true, types: [],
  target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler, jsx: ts.JsxEmit.Preserve,
  allowImportingTsExtensions: true, resolveJsonModule: false,
};
const libDir = path.dirname(ts.getDefaultLibFilePath(options));
const cache = new Map();
const host = {
  getSourceFile(name, languageVersion) {
    if (cache.has(name)) return cache.get(name);
    let text = files.get(name);
    if (text === undefined && name.startsWith(libDir)) {
      try { text = fs.readFileSync(name, "utf8"); } catch (e) { text = undefined; }
    }
    const sf = text === undefined ? undefined : ts.createSourceFile(name, text, languageVersion, true);
    cache.set(name, sf);
    return sf;
  },
  getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
  writeFile: () => {},
  getCurrentDirectory: () => ROOT,
  getDirectories: () => [],
  fileExists: (name) => files.has(name) || (name.startsWith(libDir) && fs.existsSync(name)),
  readFile: (name) => files.get(name) ?? (name.startsWith(libDir) ? fs.readFileSync(name, "utf8") : undefined),
  getCanonicalFileName: (name) => name,
  useCaseSensitiveFileNames: () => true,
  getNewLine: () => "\n",
  directoryExists: (dir) => dir.startsWith(libDir) || [...files.keys()].some((f) => f.startsWith(dir.endsWith("/") ? dir : dir + "/")),
};
const roots = [...files.keys()];
const program = ts.createProgram(roots, options, host);
const checker = program.getTypeChecker();
const FLAGS = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope;

function find(sf, pos) {
  let best;
  (function visit(n) {
    if (pos >= n.getStart(sf) && pos < n.getEnd()) { best = n; ts.forEachChild(n, visit); }
  })(sf);
  return best;
}

function functionAt(node) {
  let fn = node;
  while (fn && !ts.isFunctionLike(fn)) {
    if ((ts.isVariableDeclaration(fn) || ts.isPropertyAssignment(fn) || ts.isPropertyDeclaration(fn))
        && fn.initializer && ts.isFunctionLike(fn.initializer)) return fn.initializer;
    fn = fn.parent;
  }
  return fn;
}

function typeAt(site) {
  const sf = program.getSourceFile(ROOT + site.file);
  if (!sf) return null;
  const lines = sf.text.split("\n");
  const cps = Array.from(lines[site.line - 1] || "");
  let col16 = 0;
  for (let i = 0; i < site.column && i < cps.length; i++) col16 += cps[i].length;
  const node = find(sf, sf.getPositionOfLineAndCharacter(site.line - 1, col16));
  if (!node) return null;
  let type, at = node;
  if (site.kind === "return") {
    const fn = functionAt(node);
    if (!fn || fn.type) return null;
    const sig = checker.getSignatureFromDeclaration(fn);
    if (!sig) return null;
    type = checker.getReturnTypeOfSignature(sig);
    at = fn;
  } else {
    while (at.parent && !ts.isIdentifier(at) && !ts.isBindingPattern(at)) at = at.parent;
    const decl = at.parent;
    if (decl && decl.type) return null;
    type = checker.getTypeAtLocation(at);
    // `const n = 1` has the literal type 1; the label a person writes is `number`
    if (type.isLiteral() || (type.flags & ts.TypeFlags.BooleanLiteral)) type = checker.getBaseTypeOfLiteralType(type);
  }
  return checker.typeToString(type, at, FLAGS);
}

const out = input.sites.map((site) => {
  try { return typeAt(site); } catch (e) { return null; }
});
process.stdout.write(JSON.stringify(out));

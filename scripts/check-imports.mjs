// The import rules of src/ (README "Layout"): each room imports only the rooms
// below it, nothing in src/ reaches the sandbox but the development entry, and
// there are no cycles, type-only imports included. `npm test` runs this first.
//
//   node scripts/check-imports.mjs          check src/, print every broken rule
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Which rooms each room may import (besides itself). A room is a folder of src/ or a file at its top. */
export const RULES = {
  errors: [],
  types: [],
  paths: [],
  crypto: [],
  config: [],
  wechat: ['config', 'errors'],
  identity: ['crypto', 'types', 'wechat'],
  store: ['config', 'crypto', 'errors', 'types', 'identity', 'wechat'],
  tokens: ['config', 'crypto', 'errors', 'types', 'store', 'identity'],
  ui: ['paths'],
  context: ['config', 'errors', 'store', 'tokens', 'wechat', 'ui'],
  web: ['errors', 'context', 'ui'],
  // Telling others (webhooks, back-channel logout): producers for the request paths, the queue's consumer.
  notify: ['config', 'crypto', 'errors', 'types', 'context', 'store', 'tokens', 'identity'],
  login: ['config', 'crypto', 'errors', 'types', 'paths', 'context', 'store', 'tokens', 'ui', 'web', 'wechat', 'identity', 'notify'],
  oidc: ['config', 'crypto', 'errors', 'types', 'paths', 'context', 'store', 'tokens', 'ui', 'web', 'wechat', 'login', 'identity', 'notify'],
  scheduled: ['config', 'store'],
  // A person's account as a whole: what they approved, withdrawing a client, deleting it all; the admin API uses the same.
  account: ['config', 'errors', 'types', 'context', 'store', 'web', 'wechat', 'login', 'notify'],
  // The admin API: storage and HTTP glue only; nothing but the wiring imports it.
  admin: ['config', 'crypto', 'errors', 'types', 'context', 'store', 'web', 'identity', 'notify', 'account'],
  app: ['config', 'errors', 'paths', 'context', 'ui', 'web', 'wechat', 'login', 'oidc', 'admin', 'notify', 'account'],
  index: ['app', 'config', 'scheduled', 'notify'],
  sandbox: ['config', 'paths', 'ui', 'wechat'],
  dev: ['app', 'config', 'paths', 'sandbox', 'scheduled', 'notify'],
};

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

/** The room of a path relative to src/: its first folder, or the file's name. */
export const roomOf = (path) => path.split('/')[0].replace(/\.tsx?$/, '');

/** Relative import specifiers of a source text. */
export function importsOf(source) {
  return [...source.matchAll(IMPORT)].map((match) => match[1] ?? match[2]).filter((specifier) => specifier.startsWith('.'));
}

/**
 * Every broken rule in `files` (a Map of path relative to src/ → source):
 * imports across rooms that RULES does not allow, imports of unknown rooms,
 * and cycles between files.
 */
export function checkImports(files) {
  const problems = [];
  const edges = new Map();
  for (const [file, source] of files) {
    const targets = [];
    for (const specifier of importsOf(source)) {
      const target = resolveImport(files, file, specifier);
      if (!target) {
        problems.push(`${file}: cannot resolve ${specifier}`);
        continue;
      }
      targets.push(target);
      const from = roomOf(file);
      const to = roomOf(target);
      if (from === to) continue;
      if (!(from in RULES)) problems.push(`${file}: src/${from} is not a known room (add it to RULES in scripts/check-imports.mjs)`);
      else if (!RULES[from].includes(to)) problems.push(`${file}: src/${from} may not import src/${to} (${specifier})`);
    }
    edges.set(file, targets);
  }
  for (const cycle of cycles(edges)) problems.push(`cycle: ${cycle.join(' -> ')}`);
  return problems;
}

function resolveImport(files, file, specifier) {
  const base = join(dirname(file), specifier);
  return [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')].find((candidate) => files.has(candidate));
}

/** The cycles of a directed graph, each once, by depth-first search. */
function cycles(edges) {
  const found = [];
  const state = new Map();
  const stack = [];
  const visit = (node) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of edges.keys()) if (!state.has(node)) visit(node);
  return found;
}

export function readSources(root) {
  const files = new Map();
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.tsx?$/.test(entry.name)) files.set(relative(root, path), readFileSync(path, 'utf8'));
    }
  };
  walk(root);
  return files;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const src = fileURLToPath(new URL('../src', import.meta.url));
  const problems = checkImports(readSources(src));
  if (problems.length > 0) {
    console.error(`Import rules broken (scripts/check-imports.mjs):\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
    process.exit(1);
  }
  console.log('imports: every room imports only the rooms below it, no cycles');
}

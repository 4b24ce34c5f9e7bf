/**
 * Runs a mini program page's own JS in Node, the way the mini program runtime would:
 * its modules through a small CommonJS loader (the runtime's `require`), `Page({...})`
 * captured, and an instance whose `setData` merges into `data`. The `wx` object is the
 * caller's: the screenshots give it a `wx.request` that reaches a running bridge, the
 * tests a scripted one. What the page would show is then `data`, rendered from its WXML
 * by screenshots-wxml.ts.
 */
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileFunction } from 'node:vm';

export type Data = Record<string, unknown>;
/** The part of `wx` a page uses; each test or screenshot supplies its own. */
export type Wx = Record<string, (...args: never[]) => unknown>;

export interface PageInstance {
  /** A copy of the page's data as it stands. */
  readonly data: Data;
  /** Calls one of the page's methods (a lifecycle hook or an event handler) as the runtime would. */
  call(method: string, ...args: unknown[]): unknown;
}

/**
 * Loads `path` (relative to the mini program's root, e.g. `utils/approval.js`) and what it
 * requires. `overrides` are merged over the exports of the modules they name (e.g. the
 * bridge's URL in `config.js`), as a developer edits config.js for local development.
 */
export function loadModule(root: string, path: string, globals: { Page?: (definition: Data) => void; wx?: Wx } = {}, overrides: Record<string, Data> = {}): Data {
  const cache = new Map<string, Data>();
  const load = (file: string): Data => {
    const cached = cache.get(file);
    if (cached) return cached;
    const module = { exports: {} as Data };
    cache.set(file, module.exports);
    const source = readFileSync(join(root, file), 'utf8');
    const run = compileFunction(source, ['require', 'module', 'exports', 'Page', 'wx'], { filename: join(root, file) });
    // The runtime's require: relative to the requiring file, `.js` optional, never outside the root.
    const require = (specifier: string): Data => {
      const target = posix.normalize(posix.join(posix.dirname(file), specifier.endsWith('.js') ? specifier : `${specifier}.js`));
      if (!specifier.startsWith('.') || target.startsWith('..')) throw new Error(`${file}: cannot require ${specifier}`);
      return load(target);
    };
    run(require, module, module.exports, globals.Page, globals.wx);
    const exports = overrides[file] ? { ...module.exports, ...overrides[file] } : module.exports;
    cache.set(file, exports);
    return exports;
  };
  return load(path);
}

/** Loads `pages/<name>/<name>.js` and returns its page, before any lifecycle hook has run. */
export function loadPage(root: string, page: string, wx: Wx, overrides: Record<string, Data> = {}): PageInstance {
  let definition: Data | undefined;
  loadModule(root, `${page}.js`, { Page: (given) => (definition = given), wx }, overrides);
  if (!definition) throw new Error(`${page}.js did not call Page()`);
  const instance: Data & { data: Data } = {
    data: structuredClone(definition.data ?? {}) as Data,
    setData(patch: Data) {
      // The runtime also takes paths ("a.b", "a[0]"); this page sets whole keys only, so paths are refused.
      for (const [key, value] of Object.entries(patch)) {
        if (/[.[]/.test(key)) throw new Error(`setData with a path (${key}) is not supported here`);
        instance.data[key] = structuredClone(value);
      }
    },
  };
  for (const [name, value] of Object.entries(definition)) if (typeof value === 'function') instance[name] = value;
  return {
    get data() {
      return structuredClone(instance.data);
    },
    call(method, ...args) {
      const handler = instance[method];
      if (typeof handler !== 'function') throw new Error(`${page}.js has no method ${method}`);
      return (handler as (...given: unknown[]) => unknown).apply(instance, args);
    },
  };
}

/** The example mini program, examples/miniprogram. */
export const miniProgramRoot = fileURLToPath(new URL('../../../examples/miniprogram', import.meta.url));

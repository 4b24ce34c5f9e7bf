// A look inside the bridge's worker through the V8 inspector that `wrangler dev` opens in
// workerd (the DevTools protocol, the same socket Chrome DevTools would use):
//
//   - binding census: workerd reports every D1 and KV call of the worker as a Network.*
//     subrequest (http://d1/execute, http://kv/...); counting them per operation gives the
//     storage round trips of each endpoint;
//   - CPU profile: V8's sampling profiler over the worker's isolate, self time mapped back
//     through the bundle's source map to the original files (src/..., node_modules/jose, ...).
//
// Both run after the measured phases, never during them.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

/** TCP ports a process listens on, from /proc/<pid>/fd and /proc/net/tcp{,6}. */
export function listeningPorts(pid) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cells = line.trim().split(/\s+/);
      if (cells[3] === '0A' && inodes.has(cells[9])) ports.push(parseInt(cells[1].split(':')[1], 16));
    }
  }
  return ports;
}

/**
 * The DevTools WebSocket URL of the user worker. workerd's own inspector takes one session,
 * which wrangler holds; wrangler's inspector proxy (in the proxy's workerd, port 9229 or the
 * next free one) is where a DevTools client connects, so pass that process's pid.
 */
export async function workerInspectorUrl(workerdPid) {
  for (const port of listeningPorts(workerdPid)) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(1_000) });
      if (!response.ok) continue;
      const targets = await response.json();
      const target = Array.isArray(targets) && targets.find((t) => t.webSocketDebuggerUrl && /^workers?$|workerd/.test(`${t.description}`));
      if (target?.webSocketDebuggerUrl) return target.webSocketDebuggerUrl;
    } catch {
      // not an inspector
    }
  }
  return undefined;
}

export class DevTools {
  static async connect(url, timeoutMs = 30_000) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new DevTools(ws, timeoutMs);
  }

  constructor(ws, timeoutMs = 30_000) {
    this.ws = ws;
    this.timeoutMs = timeoutMs;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Map();
    ws.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.id !== undefined && this.pending.has(message.id)) {
        const { resolve, reject } = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) reject(new Error(`${message.error.message}`));
        else resolve(message.result);
      } else if (message.method) {
        for (const listener of this.listeners.get(message.method) ?? []) listener(message.params);
      }
    });
  }

  send(method, params = {}) {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      setTimeout(() => {
        if (this.pending.delete(id)) reject(new Error(`DevTools ${method}: no answer`));
      }, this.timeoutMs).unref();
    });
  }

  on(method, listener) {
    if (!this.listeners.has(method)) this.listeners.set(method, []);
    this.listeners.get(method).push(listener);
  }

  close() {
    this.ws.close();
  }
}

/** "d1", "kv", ... from a subrequest URL workerd reports for a binding call. */
function bindingOf(url) {
  try {
    const { hostname, pathname } = new URL(url);
    if (hostname === 'd1') return 'D1';
    if (hostname.includes('kv') || pathname.includes('/kv')) return 'KV';
    return hostname;
  } catch {
    return 'other';
  }
}

/**
 * Runs each operation `times` times, one after another, and counts the binding calls
 * (Network.requestWillBeSent) the worker made, per operation and per HTTP request of it:
 * { op: { D1: n, steps: { 'POST /token': { D1: n } } } }, averaged over the runs.
 * `http` is the client the operations use; its requests are tapped to split the counts.
 */
export async function bindingCensus(devtools, operations, http, times = 3) {
  let seen = [];
  devtools.on('Network.requestWillBeSent', (params) => seen.push(params.request?.url ?? ''));
  await devtools.send('Network.enable');
  const settle = () => new Promise((resolve) => setTimeout(resolve, 40));
  let steps;
  const original = http.request;
  http.request = async function tapped(method, path, options) {
    await settle();
    const before = seen.length;
    const response = await original.call(this, method, path, options);
    await settle();
    const name = `${method} ${path.split('?')[0].replace(/^\/login\/[A-Za-z0-9_-]+/, '/login/<id>').replace(/^\/interaction\/.*/, '/interaction/<uid>')}`;
    const counts = (steps[name] ??= {});
    for (const url of seen.slice(before)) {
      const kind = bindingOf(url);
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
    return response;
  };
  const census = {};
  try {
    for (const [name, operation] of Object.entries(operations)) {
      steps = {};
      await settle();
      const before = seen.length;
      for (let i = 0; i < times; i += 1) await operation();
      await settle();
      const counts = {};
      for (const url of seen.slice(before)) {
        const kind = bindingOf(url);
        counts[kind] = (counts[kind] ?? 0) + 1;
      }
      const perRun = (object) => Object.fromEntries(Object.entries(object).map(([kind, n]) => [kind, Math.round((n / times) * 10) / 10]));
      census[name] = { ...perRun(counts), steps: Object.fromEntries(Object.entries(steps).map(([step, c]) => [step, perRun(c)])) };
    }
  } finally {
    http.request = original;
    // No Network.disable: the domain is wrangler's too (it enabled it for its DevTools
    // network tab), and disabling it would change what the measured phases cost.
  }
  return census;
}

const sourceMaps = new Map();
function sourceMapFor(scriptUrl) {
  if (sourceMaps.has(scriptUrl)) return sourceMaps.get(scriptUrl);
  let map;
  try {
    const path = scriptUrl.startsWith('file:') ? fileURLToPath(scriptUrl) : scriptUrl;
    map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')));
  } catch {
    map = undefined;
  }
  sourceMaps.set(scriptUrl, map);
  return map;
}

/** The package (node_modules/<pkg>) or the bridge's own file (src/...) a source belongs to. */
function ownerOf(source) {
  // drizzle-orm ships source maps that point one level too high: node_modules/src/...
  if (/node_modules\/src\//.test(source)) return 'drizzle-orm';
  if (/middleware-loader|wrangler\/templates|node_modules\/wrangler/.test(source)) return 'wrangler dev middleware';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (pkg) return pkg[1];
  const own = /(?:^|\/)(src\/.+)$/.exec(source);
  if (own) return own[1];
  return source || '(native)';
}

/**
 * Self time of a V8 profile, mapped through the bundle's source map. Time spent in native
 * code (WebCrypto, Response, text(), ...) and in workerd's internal modules (the D1 client)
 * is charged to the nearest bundled caller, so `byOwner` says which package or source file
 * the time is spent for; `byFunction` lists the hottest frames with that caller.
 */
export function summarizeProfile(profile, scriptUrls) {
  const self = new Map();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const resolved = new Map();
  /** {fn, source, line} for a frame of the bundle, or undefined for native/internal frames. */
  const resolve = (node) => {
    if (resolved.has(node.id)) return resolved.get(node.id);
    const { functionName, url, scriptId, lineNumber, columnNumber } = node.callFrame;
    const scriptUrl = scriptUrls.get(scriptId) || url;
    let out;
    const map = scriptUrl && scriptUrl.startsWith('file:') ? sourceMapFor(scriptUrl) : undefined;
    if (map && lineNumber >= 0) {
      const entry = map.findEntry(lineNumber, columnNumber);
      if (entry?.originalSource) {
        const source = entry.originalSource.replace(/^.*?(node_modules\/|src\/|bundle-)/, '$1').replace(/^node_modules\/src\//, 'node_modules/drizzle-orm/src/');
        // A minified bundle's function names are short; the source map names most of them.
        out = { fn: entry.name || functionName || '(anonymous)', source, line: entry.originalLine + 1 };
      }
    }
    resolved.set(node.id, out);
    return out;
  };
  const internalName = (node) => {
    const { functionName, url } = node.callFrame;
    const where = url && !url.startsWith('file:') && url !== 'index.js' ? ` [${url.replace(/^cloudflare-internal:/, '')}]` : ' (native)';
    return `${functionName || '(anonymous)'}${where}`;
  };

  const byFunction = new Map();
  const byOwner = new Map();
  let total = 0;
  for (const node of profile.nodes) {
    const micros = self.get(node.id) ?? 0;
    const { functionName } = node.callFrame;
    if (!micros || functionName === '(idle)') continue;
    total += micros;
    if (functionName === '(program)' || functionName === '(garbage collector)' || functionName === '(root)') {
      byFunction.set(functionName, (byFunction.get(functionName) ?? 0) + micros);
      byOwner.set(functionName, (byOwner.get(functionName) ?? 0) + micros);
      continue;
    }
    const own = resolve(node);
    let label;
    let owner;
    if (own) {
      label = `${own.fn} ${own.source}:${own.line}`;
      owner = ownerOf(own.source);
    } else {
      let caller;
      for (let id = parent.get(node.id); id !== undefined && !caller; id = parent.get(id)) caller = resolve(nodes.get(id));
      label = `${internalName(node)}${caller ? ` ← ${caller.fn} ${caller.source}:${caller.line}` : ''}`;
      owner = caller ? ownerOf(caller.source) : '(outside the bundle)';
    }
    byFunction.set(label, (byFunction.get(label) ?? 0) + micros);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + micros);
  }
  const top = (map, n) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, micros]) => ({ name, ms: Math.round(micros / 10) / 100, share: Math.round((micros / total) * 1000) / 10 }));
  return { totalMs: Math.round(total / 10) / 100, byOwner: top(byOwner, 12), byFunction: top(byFunction, 15) };
}

/**
 * Profiles the worker's isolate while each operation runs `times` times, one after another.
 * Returns { op: { jsMsPerOp, byOwner, byFunction } }: JS self time (not D1/KV, which run in
 * other isolates and threads of workerd).
 */
export async function profileOperations(devtools, operations, times = 40) {
  sourceMaps.clear();
  const scriptUrls = new Map();
  devtools.on('Debugger.scriptParsed', (params) => scriptUrls.set(params.scriptId, params.url));
  await devtools.send('Debugger.enable').catch(() => {});
  await devtools.send('Profiler.enable');
  await devtools.send('Profiler.setSamplingInterval', { interval: 100 });
  const out = {};
  for (const [name, operation] of Object.entries(operations)) {
    await devtools.send('Profiler.start');
    for (let i = 0; i < times; i += 1) await operation();
    const { profile } = await devtools.send('Profiler.stop');
    const summary = summarizeProfile(profile, scriptUrls);
    out[name] = { runs: times, jsMsPerOp: Math.round((summary.totalMs / times) * 100) / 100, byOwner: summary.byOwner, byFunction: summary.byFunction };
  }
  await devtools.send('Profiler.disable').catch(() => {});
  await devtools.send('Debugger.disable').catch(() => {});
  return out;
}

// The size of the deployable bundle: what `wrangler deploy` would upload, built with
// `wrangler deploy --dry-run --outdir <tmp>` (no account, no network), gzipped here.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { root } from './servers.mjs';

/** Runs the project's wrangler with `args` in `cwd`, quietly; resolves to its output, rejects on a non-zero exit. */
export function runWrangler(args, cwd, { env = {}, timeoutMs = 60_000 } = {}) {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [resolve(cwd, 'node_modules/wrangler/bin/wrangler.js'), ...args], {
      cwd,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) done(out);
      else fail(new Error(`wrangler ${args.join(' ')} exited with ${code}\n${out}`));
    });
  });
}

const packageOf = (input) => {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return match ? match[1] : input.startsWith('src/') ? 'src (the bridge)' : 'other';
};

/** { bytes, gzipBytes, minified: {bytes, gzipBytes}, wranglerReported, byPackage: [{name, bytes}] } */
export async function measureBundle(projectDir = root) {
  const dir = mkdtempSync(join(tmpdir(), 'wechat-oidc-bundle-'));
  try {
    const plain = join(dir, 'plain');
    const minified = join(dir, 'minified');
    const out = await runWrangler(['deploy', '--dry-run', '--outdir', plain, '--metafile', join(dir, 'meta.json')], projectDir);
    await runWrangler(['deploy', '--dry-run', '--minify', '--outdir', minified], projectDir);
    const js = (folder) => readdirSync(folder).filter((name) => name.endsWith('.js') || name.endsWith('.mjs'));
    const sizes = (folder) => {
      let bytes = 0;
      let gzipBytes = 0;
      for (const name of js(folder)) {
        const content = readFileSync(join(folder, name));
        bytes += content.byteLength;
        gzipBytes += gzipSync(content).byteLength;
      }
      return { bytes, gzipBytes };
    };
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    const byPackage = new Map();
    for (const output of Object.values(meta.outputs ?? {})) {
      for (const [input, { bytesInOutput }] of Object.entries(output.inputs ?? {})) {
        const name = packageOf(input);
        byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
      }
    }
    return {
      ...sizes(plain),
      minified: sizes(minified),
      wranglerReported: /Total Upload: ([^\n]+)/.exec(out)?.[1]?.trim(),
      byPackage: [...byPackage].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

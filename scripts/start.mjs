// `npm start` (docs/protocol.md §1): local secrets, local D1 migrations, then `wrangler dev`
// of the development entry (src/dev.ts), whose WeChat is the sandbox. Offline, no account, no prompt.
//
// Environment:
//   PORT        port to serve on (default 8787); the issuer is http://localhost:$PORT
//   PERSIST_TO  directory for local D1/KV state (default: wrangler's .wrangler/state)
//   DEV_VARS    secrets file to use and fill in (default: .dev.vars in the project root)
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDevVars } from './dev-vars.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const wrangler = resolve(root, 'node_modules/wrangler/bin/wrangler.js');

const port = process.env.PORT || '8787';
if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
  console.error(`PORT must be a TCP port number, not "${port}"`);
  process.exit(2);
}
const issuer = `http://localhost:${port}`;
const devVarsPath = resolve(root, process.env.DEV_VARS || '.dev.vars');
const persist = process.env.PERSIST_TO ? ['--persist-to', resolve(process.env.PERSIST_TO)] : [];
// Telemetry is a network call; a developer who opted in explicitly keeps it.
const env = { ...process.env, WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? 'false' };

let child;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child && child.exitCode === null) child.kill(signal);
    else process.exit(128 + constants.signals[signal]);
  });
}

/** Runs wrangler in the project root and resolves with its exit code. */
function runWrangler(args, options = {}) {
  child = spawn(process.execPath, [wrangler, ...args], { cwd: root, env, stdio: 'inherit', ...options });
  return new Promise((done) => {
    child.on('exit', (code, signal) => done(code ?? 128 + (constants.signals[signal] ?? 0)));
  });
}

const { added, vars } = await ensureDevVars(devVarsPath);
const nearby = relative(process.cwd(), devVarsPath);
const shownPath = nearby.startsWith('..') ? devVarsPath : nearby;
if (added.length > 0) console.log(`Wrote ${added.join(', ')} to ${shownPath}`);

// No TTY and CI=true: wrangler applies without its "continue?" confirmation.
const migrated = await runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', ...persist], {
  env: { ...env, CI: 'true' },
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (migrated !== 0) {
  console.error('Applying the D1 migrations failed.');
  process.exit(migrated);
}

console.log(`
  WeChat OIDC bridge (local, WeChat sandbox on)
  issuer              ${issuer}
  discovery           ${issuer}/.well-known/openid-configuration
  registration token  ${vars.REGISTRATION_TOKEN}
  admin token         ${vars.ADMIN_TOKEN}
  secrets             ${shownPath}
`);

process.exitCode = await runWrangler([
  'dev',
  'src/dev.ts',
  '--ip', '127.0.0.1',
  '--port', port,
  '--var', `ISSUER:${issuer}`,
  // Explicit, so DEV_VARS can point elsewhere (wrangler then ignores .dev.vars).
  '--env-file', devVarsPath,
  ...persist,
]);

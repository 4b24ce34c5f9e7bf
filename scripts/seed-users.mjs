// `npm run seed -- --users 1000000`: fills a local D1 (the state `npm start` uses, or
// --persist-to <dir>) with N people as the bridge would have stored them, for measuring
// how cost grows with the user count (docs/scaling.md). The rows are generated inside
// SQLite by recursive CTEs, so a million people take a minute or so, not a million inserts.
//
// Per person i (ids shaped like the bridge's: 22-character ids, 28-character openids and
// unionids, 43-character SHA-256 hashes):
//   users              one row; a verified phone for one in --phone-every, a nickname, a picture for half
//   wechat_identities  one row in the first app of --appid (the sandbox's app by default)
//   wechat_unionids    for all but one in --no-unionid-every (and the identity row carries it)
//   grants             --grants rows, to one seeded client, live for 30 days
//   refresh_tokens     --refresh rows per grant: the rotated ones spent (used_at, replaced_by), the last live
//
// Options:
//   --users N              how many people to add (required)
//   --persist-to DIR       local state directory (default: wrangler's .wrangler/state, what `npm start` uses)
//   --appid APPID          the WeChat appid of the identities (default: the app-kind appid in DEV_VARS or .dev.vars)
//   --grants N             grants per person (default 2)
//   --refresh N            refresh tokens per grant (default 2)
//   --phone-every N        one person in N has a phone number (default 4)
//   --no-unionid-every N   one person in N has no unionid (default 5)
//   --chunk N              people per INSERT round (default 250000)
//
// People are numbered on from those already seeded, so running it twice adds more.
// Seeded ids start with "seed", openids with "oSeed": `seedOpenid(i)` names person i.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readDevVars } from './dev-vars.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const wrangler = resolve(root, 'node_modules/wrangler/bin/wrangler.js');

export const SEED_CLIENT = 'seed-client-0000000000';
/** The openid, user id and unionid of seeded person i, as the seed writes them. */
export const seedOpenid = (i) => `oSeed${String(i).padStart(23, '0')}`;
export const seedUserId = (i) => `seed${String(i).padStart(18, '0')}`;
export const seedUnionid = (i) => `uSeed${String(i).padStart(23, '0')}`;

/** Runs wrangler on the local D1 of `persistTo`; its JSON output when `json`. */
function d1(args, persistTo, { json = false } = {}) {
  const persist = persistTo ? ['--persist-to', resolve(persistTo)] : [];
  const result = spawnSync(process.execPath, [wrangler, 'd1', ...args, '--local', ...persist, ...(json ? ['--json'] : [])], {
    cwd: root,
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`wrangler d1 ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return json ? JSON.parse(result.stdout) : result.stdout;
}

/** One SQL statement's rows, through `wrangler d1 execute --command`. */
export function query(sql, persistTo) {
  return d1(['execute', 'DB', '--command', sql], persistTo, { json: true })[0].results;
}

/** The statements that add people `from`..`to` (inclusive). */
function chunkSql({ from, to, appid, grants, refresh, phoneEvery, noUnionidEvery, now }) {
  const people = `WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${to})`;
  const pad = (prefix, width, expr = 'i') => `'${prefix}' || printf('%0${width}d', ${expr})`;
  const hasUnionid = `i % ${noUnionidEvery} <> 0`;
  const month = now + 30 * 24 * 3600;
  const statements = [
    `${people} INSERT INTO users (id, phone_number, nickname, picture, created_at, updated_at)
      SELECT ${pad('seed', 18)},
        CASE WHEN i % ${phoneEvery} = 0 THEN '+8617' || printf('%09d', i) END,
        'Seed person ' || i,
        CASE WHEN i % 2 = 0 THEN 'https://thirdwx.qlogo.cn/mmopen/vi_32/' || printf('%090d', i) || '/132' END,
        ${now}, ${now} FROM n`,
    `${people} INSERT INTO wechat_identities (appid, openid, unionid, user_id, created_at)
      SELECT '${appid}', ${pad('oSeed', 23)}, CASE WHEN ${hasUnionid} THEN ${pad('uSeed', 23)} END, ${pad('seed', 18)}, ${now} FROM n`,
    `${people} INSERT INTO wechat_unionids (unionid, user_id) SELECT ${pad('uSeed', 23)}, ${pad('seed', 18)} FROM n WHERE ${hasUnionid}`,
  ];
  for (let g = 1; g <= grants; g++) {
    const grantId = pad(`g${g}`, 20);
    statements.push(
      `${people} INSERT INTO grants (id, client_id, user_id, scope, auth_time, amr, wechat_appid, wechat_openid, sid, created_at, expires_at, revoked_at)
        SELECT ${grantId}, '${SEED_CLIENT}', ${pad('seed', 18)}, 'openid profile offline_access', ${now}, 'wechat', '${appid}', ${pad('oSeed', 23)},
          NULL, ${now}, ${month}, NULL FROM n`,
    );
    for (let r = 1; r <= refresh; r++) {
      const hash = (k) => pad(`r${g}${k}`, 40);
      const spent = r < refresh;
      statements.push(
        `${people} INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at, used_at, replaced_by)
          SELECT ${hash(r)}, ${grantId}, ${now}, ${month}, ${spent ? now : 'NULL'}, ${spent ? hash(r + 1) : 'NULL'} FROM n`,
      );
    }
  }
  return statements.map((statement) => `${statement.replace(/\s+/g, ' ')};`).join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      users: { type: 'string' },
      'persist-to': { type: 'string' },
      appid: { type: 'string' },
      grants: { type: 'string', default: '2' },
      refresh: { type: 'string', default: '2' },
      'phone-every': { type: 'string', default: '4' },
      'no-unionid-every': { type: 'string', default: '5' },
      chunk: { type: 'string', default: '250000' },
    },
  });
  const count = (name, min) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min) {
      console.error(`--${name} must be an integer of at least ${min}, not "${values[name]}"`);
      process.exit(2);
    }
    return value;
  };
  if (values.users === undefined) {
    console.error('usage: npm run seed -- --users N [--persist-to DIR] [--appid APPID] [--grants N] [--refresh N]');
    process.exit(2);
  }
  const users = count('users', 1);
  const grants = count('grants', 0);
  const refresh = count('refresh', 0);
  const phoneEvery = count('phone-every', 1);
  const noUnionidEvery = count('no-unionid-every', 1);
  const chunk = count('chunk', 1);
  const persistTo = values['persist-to'];
  const devVars = readDevVars(resolve(root, process.env.DEV_VARS || '.dev.vars'));
  const appid = values.appid ?? JSON.parse(devVars?.WECHAT_APPS ?? '[]').find((app) => app.kind === 'app')?.appid;
  if (!appid || !/^wx[0-9a-zA-Z]+$/.test(appid)) {
    console.error('no WeChat appid: pass --appid, or run `npm start` once so that .dev.vars names the sandbox apps');
    process.exit(2);
  }

  const started = Date.now();
  d1(['migrations', 'apply', 'DB'], persistTo);
  const now = Math.floor(Date.now() / 1000);
  const [{ seeded }] = query("SELECT count(*) AS seeded FROM users WHERE id LIKE 'seed%'", persistTo);
  const dir = mkdtempSync(join(tmpdir(), 'wechat-oidc-seed-'));
  try {
    const file = join(dir, 'seed.sql');
    const client = `INSERT OR IGNORE INTO clients (client_id, client_secret_hash, metadata, client_id_issued_at) VALUES ('${SEED_CLIENT}', NULL, '{"client_name":"Seeded client","redirect_uris":["https://rp.example/callback"],"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none"}', ${now});`;
    for (let from = seeded + 1; from <= seeded + users; from += chunk) {
      const to = Math.min(from + chunk - 1, seeded + users);
      writeFileSync(file, `${client}\n${chunkSql({ from, to, appid, grants, refresh, phoneEvery, noUnionidEvery, now })}\n`);
      d1(['execute', 'DB', '--file', file], persistTo);
      console.log(`seeded people ${from}..${to} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const [total] = query('SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM grants) AS grants, (SELECT count(*) FROM refresh_tokens) AS refresh_tokens', persistTo);
  console.log(JSON.stringify({ added: users, appid, ...total, seconds: Math.round((Date.now() - started) / 100) / 10 }));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();

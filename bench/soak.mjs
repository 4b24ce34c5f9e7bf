#!/usr/bin/env node
// npm run soak: a bounded soak of a freshly started bridge on loopback (docs/reliability.md).
//
// SOAK_CLIENTS (16) concurrent clients for SOAK_SECONDS (60), each mixing complete browser
// logins (authorization code + PKCE through the mini program handoff), native-app logins
// (RFC 8693 token exchange of a SendAuth code), refreshes and userinfo calls, for a pool of
// SOAK_PEOPLE (48) sandbox WeChat users: even-numbered people have a unionid (their app and
// mini program openids must bind to one user), odd-numbered ones only a mini program openid.
// It opens with a stampede: pairs of clients log the same new person in at the same moment.
//
// Verified, each a violation that makes the exit code 1:
//   - no HTTP 5xx, and no unexpected status on any request;
//   - every ID token verifies (RS256 against jwks_uri, iss, aud, nonce for browser logins);
//   - one person, one sub: every login of a person (either channel) gives the same sub, and
//     no two people share a sub; userinfo and refreshed ID tokens keep the chain's sub;
//   - no refresh-token family wrongly revoked: each chain is used by its one owner, one
//     request at a time, so every refresh must succeed;
//   - no duplicate users, through the API (after the soak, one more login per person gives
//     the sub already seen) and in the database (after the bridge stops: users and WeChat
//     identities in local D1 match the people and openids the soak used).
//
// Environment: SOAK_SECONDS, SOAK_CLIENTS, SOAK_PEOPLE, SOAK_SEED; BENCH_OUT (bench/results).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { BridgeSide, TOKEN_EXCHANGE } from './lib/flows.mjs';
import { percentile, round } from './lib/load.mjs';
import { killAllNow, root, snapshotProject, startBridge } from './lib/servers.mjs';

const seconds = Number(process.env.SOAK_SECONDS || 60);
const clients = Number(process.env.SOAK_CLIENTS || 16);
const peopleCount = Number(process.env.SOAK_PEOPLE || 48);
const outDir = resolve(process.env.BENCH_OUT || join(root, 'bench/results'));
let seed = Number(process.env.SOAK_SEED || Date.now() % 2 ** 31);
const initialSeed = seed;
/** mulberry32: a reproducible mix of operations for a given SOAK_SEED. */
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const started = Date.now();
const log = (...args) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s]`, ...args);
const hardLimitMs = (seconds + 150) * 1000;
const watchdog = setTimeout(() => {
  console.error(`soak: still running ${hardLimitMs / 1000} s after the start; killing everything`);
  killAllNow();
  process.exit(124);
}, hardLimitMs);

const run = Math.random().toString(36).slice(2, 8);
const people = Array.from({ length: peopleCount }, (_, p) => ({
  index: p,
  miniprogram: { openid: `osoak${run}m${p}`, ...(p % 2 === 0 && { unionid: `usoak${run}${p}` }) },
  app: p % 2 === 0 ? { openid: `osoak${run}a${p}`, unionid: `usoak${run}${p}` } : undefined,
}));

const violations = [];
const violate = (kind, detail) => {
  violations.push({ kind, detail, atSeconds: round((Date.now() - started) / 1000, 1) });
  if (violations.length <= 20) log(`VIOLATION ${kind}: ${detail}`);
};

/** person index -> sub, and sub -> person index. */
const subOfPerson = new Map();
const personOfSub = new Map();
const usedOpenids = new Set();
function checkSub(person, sub, how) {
  const known = subOfPerson.get(person.index);
  if (known === undefined) subOfPerson.set(person.index, sub);
  else if (known !== sub) violate('wrong user', `person ${person.index} got sub ${sub} by ${how}, earlier ${known}`);
  const owner = personOfSub.get(sub);
  if (owner === undefined) personOfSub.set(sub, person.index);
  else if (owner !== person.index) violate('shared user', `sub ${sub} belongs to person ${owner} and to person ${person.index} (${how})`);
}

const stats = {};
function record(op, ms, ok) {
  const s = (stats[op] ??= { ok: 0, failed: 0, latencies: [] });
  if (ok) {
    s.ok += 1;
    s.latencies.push(ms);
  } else {
    s.failed += 1;
  }
}

const snapshot = snapshotProject();
let server;
let exitCode = 0;
try {
  log(`soak: ${clients} clients, ${seconds} s, ${peopleCount} people, seed ${initialSeed}`);
  server = await startBridge({ projectDir: snapshot.dir });
  log(`bridge ${server.issuer} (pid ${server.pid})`);
  const bridge = await BridgeSide.create(server, { grantTypes: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE] });
  const http = bridge.http(clients);
  const jwks = createLocalJWKSet((await http.get(bridge.paths.jwks)).json());

  async function verifyIdToken(idToken, nonce) {
    const { payload } = await jwtVerify(idToken, jwks, { issuer: server.issuer, audience: bridge.client.client_id, algorithms: ['RS256', 'ES256'] });
    if (nonce !== undefined && payload.nonce !== nonce) throw new Error(`nonce ${payload.nonce} is not ${nonce}`);
    return payload;
  }

  /** Chains of each client: { person, tokens, sub }; a chain is only ever used by its owner. */
  const chains = Array.from({ length: clients }, () => []);

  async function login(client, person, channel) {
    const t0 = performance.now();
    const op = channel === 'app' ? 'app login (token exchange)' : 'browser login';
    let tokens;
    try {
      if (channel === 'app') {
        usedOpenids.add(person.app.openid);
        tokens = await bridge.appLogin(http, person.app);
      } else {
        usedOpenids.add(person.miniprogram.openid);
        tokens = await bridge.login(http, person.miniprogram);
      }
    } catch (error) {
      record(op, 0, false);
      violate('login failed', `${op} of person ${person.index}: ${error.message}`);
      return;
    }
    record(op, performance.now() - t0, true);
    try {
      const claims = await verifyIdToken(tokens.id_token, tokens.requestNonce);
      checkSub(person, claims.sub, op);
      const list = chains[client];
      list.push({ person, tokens, sub: claims.sub });
      if (list.length > 4) list.shift();
    } catch (error) {
      violate('bad ID token', `${op} of person ${person.index}: ${error.message}`);
    }
  }

  async function refresh(client) {
    const list = chains[client];
    const chain = list[Math.floor(random() * list.length)];
    const t0 = performance.now();
    try {
      chain.tokens = await bridge.refresh(http, chain.tokens);
    } catch (error) {
      record('refresh', 0, false);
      violate('refresh family revoked', `client ${client}, person ${chain.person.index}: ${error.message}`);
      list.splice(list.indexOf(chain), 1);
      return;
    }
    record('refresh', performance.now() - t0, true);
    try {
      const claims = await verifyIdToken(chain.tokens.id_token);
      if (claims.sub !== chain.sub) violate('wrong user', `refresh of person ${chain.person.index} gave sub ${claims.sub}, chain has ${chain.sub}`);
    } catch (error) {
      violate('bad ID token', `refresh of person ${chain.person.index}: ${error.message}`);
    }
  }

  async function userinfo(client) {
    const list = chains[client];
    const chain = list[Math.floor(random() * list.length)];
    const t0 = performance.now();
    let claims;
    try {
      claims = await bridge.userinfo(http, chain.tokens);
    } catch (error) {
      record('userinfo', 0, false);
      violate('userinfo failed', `client ${client}, person ${chain.person.index}: ${error.message}`);
      return;
    }
    record('userinfo', performance.now() - t0, true);
    if (claims.sub !== chain.sub) violate('wrong user', `userinfo of person ${chain.person.index} gave sub ${claims.sub}, chain has ${chain.sub}`);
  }

  // The stampede: clients 2k and 2k+1 log person k in at the same moment; for a person with a
  // unionid one of them comes through the app (another openid, the same unionid).
  log('stampede: concurrent first logins of the same people');
  await Promise.all(
    Array.from({ length: clients }, (_, c) => {
      const person = people[Math.floor(c / 2) % peopleCount];
      return login(c, person, person.app && c % 2 === 0 ? 'app' : 'miniprogram');
    }),
  );

  log(`mixing logins, refreshes and userinfo for ${seconds} s`);
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (Date.now() < deadline) {
        const roll = random();
        if (chains[c].length === 0 || roll < 0.3) {
          const person = people[Math.floor(random() * peopleCount)];
          await login(c, person, person.app && random() < 0.25 ? 'app' : 'miniprogram');
        } else if (roll < 0.65) {
          await refresh(c);
        } else {
          await userinfo(c);
        }
      }
    }),
  );
  log('soak over; checking every person once more through the API');

  // One more login per person seen: the user already there, never a new one.
  let rechecked = 0;
  for (const person of people) {
    if (!subOfPerson.has(person.index)) continue;
    await login(0, person, 'miniprogram');
    if (person.app && usedOpenids.has(person.app.openid)) await login(0, person, 'app');
    rechecked += 1;
  }
  const fiveHundreds = http.fiveHundreds();
  if (fiveHundreds > 0) violate('5xx', `${fiveHundreds} responses with a 5xx status`);
  const statuses = Object.fromEntries([...http.statuses].sort((a, b) => a[0] - b[0]));
  http.close();

  // The database, read after the bridge has stopped.
  await server.halt();
  let database;
  try {
    database = await countRows(snapshot.dir, server.stateDir);
    const expectedUsers = subOfPerson.size;
    if (database.users !== expectedUsers) violate('duplicate users', `${database.users} users in D1 for ${expectedUsers} people`);
    const unionids = [...subOfPerson.keys()].filter((p) => people[p].app).length;
    if (database.wechat_unionids !== unionids) violate('duplicate unionids', `${database.wechat_unionids} unionid rows in D1 for ${unionids} people with a unionid`);
    if (database.wechat_identities !== usedOpenids.size) violate('duplicate identities', `${database.wechat_identities} WeChat identities in D1 for ${usedOpenids.size} openids`);
  } catch (error) {
    log(`database check skipped: ${error.message.split('\n')[0]}`);
  }

  const operations = Object.fromEntries(
    Object.entries(stats).map(([op, s]) => {
      const sorted = s.latencies.sort((a, b) => a - b);
      return [op, { ok: s.ok, failed: s.failed, perSecond: round(s.ok / seconds, 1), p50: round(percentile(sorted, 50), 1), p99: round(percentile(sorted, 99), 1), max: round(sorted.at(-1) ?? NaN, 1) }];
    }),
  );
  const summary = {
    generatedAt: new Date().toISOString(),
    command: 'npm run soak',
    settings: { seconds, clients, people: peopleCount, seed: initialSeed },
    operations,
    httpStatuses: statuses,
    people: { loggedIn: subOfPerson.size, recheckedThroughApi: rechecked, distinctSubs: personOfSub.size, openidsUsed: usedOpenids.size },
    database,
    violations,
  };
  console.log('');
  console.log('operation                    ok  failed   per s   p50 ms   p99 ms   max ms');
  for (const [op, s] of Object.entries(operations)) {
    console.log(`${op.padEnd(27)}${String(s.ok).padStart(5)}${String(s.failed).padStart(8)}${String(s.perSecond).padStart(8)}${String(s.p50).padStart(9)}${String(s.p99).padStart(9)}${String(s.max).padStart(9)}`);
  }
  console.log(`HTTP statuses: ${JSON.stringify(statuses)}`);
  console.log(`people: ${subOfPerson.size} logged in, ${personOfSub.size} distinct subs, ${usedOpenids.size} openids used; rechecked through the API: ${rechecked}`);
  if (database) console.log(`D1 after the soak: ${database.users} users, ${database.wechat_identities} WeChat identities, ${database.grants} grants, ${database.revoked_grants} revoked grants`);
  console.log(violations.length === 0 ? 'soak: no violations' : `soak: ${violations.length} violations (${[...new Set(violations.map((v) => v.kind))].join(', ')})`);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'soak.json'), `${JSON.stringify(summary, null, 2)}\n`);
  log(`wrote ${join(outDir, 'soak.json')}`);
  if (violations.length > 0) exitCode = 1;
} catch (error) {
  console.error(error?.stack ?? error);
  if (server) console.error(server.output().slice(-2000));
  exitCode = 1;
} finally {
  await server?.stop();
  snapshot.remove();
  clearTimeout(watchdog);
}
process.exit(exitCode);

/** Row counts of the local D1, read with `wrangler d1 execute --local` on the soak's state. */
async function countRows(projectDir, stateDir) {
  const sql = `SELECT
    (SELECT COUNT(*) FROM users) AS users,
    (SELECT COUNT(*) FROM wechat_identities) AS wechat_identities,
    (SELECT COUNT(*) FROM wechat_unionids) AS wechat_unionids,
    (SELECT COUNT(*) FROM grants) AS grants,
    (SELECT COUNT(*) FROM grants WHERE revoked_at IS NOT NULL) AS revoked_grants`;
  const out = await new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [join(projectDir, 'node_modules/wrangler/bin/wrangler.js'), 'd1', 'execute', 'DB', '--local', '--persist-to', stateDir, '--json', '--command', sql],
      { cwd: projectDir, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let text = '';
    child.stdout.on('data', (chunk) => (text += chunk));
    child.stderr.on('data', (chunk) => (text += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) done(text);
      else fail(new Error(`wrangler d1 execute exited with ${code}: ${text}`));
    });
  });
  const parsed = JSON.parse(out.slice(out.indexOf('[')));
  return parsed[0].results[0];
}

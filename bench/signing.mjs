/**
 * What one JWT signature costs, per algorithm, with WebCrypto through jose
 * (as the worker signs): RS256 (2048-bit), ES256 (P-256), EdDSA (Ed25519).
 * Also the verification cost, which an API gateway pays per request.
 *
 * Then what one token response signs (src/tokens/issue.ts: an access token
 * and an ID token, `scope=openid profile`, realistic ids and `kid`s), before
 * (both RS256) and after (access token ES256, ID token RS256): CPU per
 * response (process CPU time over the run, so WebCrypto's worker threads
 * count) and token sizes, the median of several runs, the two kinds taking
 * turns so that the machine's other load falls on both alike.
 *
 * Last, the same token responses inside workerd (Miniflare, as the worker
 * runs): there a request's clock stands still, so the time of one request
 * signing many responses is taken from outside, per response; WebCrypto is
 * called directly (jose is not bundled here), with the same headers and claims.
 *
 * `node bench/signing.mjs [iterations] [runs]`; prints tables and JSON.
 */
import { createRequire } from 'node:module';
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';

const iterations = Number(process.argv[2] ?? 2000);
const payload = {
  iss: 'https://id.example.com',
  sub: 'u_0123456789abcdef0123456789abcdef',
  aud: 'https://id.example.com',
  client_id: 'c_0123456789abcdef',
  scope: 'openid profile offline_access',
  jti: 'j_0123456789abcdef',
  iat: 1_800_000_000,
  exp: 1_800_003_600,
  auth_time: 1_800_000_000,
  gid: 'g_0123456789abcdef',
};

async function measure(alg, options) {
  const { privateKey, publicKey } = await generateKeyPair(alg, options);
  const sign = () => new SignJWT(payload).setProtectedHeader({ alg, kid: 'k', typ: 'at+jwt' }).sign(privateKey);
  for (let i = 0; i < 50; i++) await sign();
  let start = performance.now();
  let token = '';
  for (let i = 0; i < iterations; i++) token = await sign();
  const signMs = (performance.now() - start) / iterations;
  for (let i = 0; i < 50; i++) await jwtVerify(token, publicKey);
  start = performance.now();
  for (let i = 0; i < iterations; i++) await jwtVerify(token, publicKey);
  const verifyMs = (performance.now() - start) / iterations;
  return { alg, signUs: Math.round(signMs * 1000), verifyUs: Math.round(verifyMs * 1000), tokenBytes: token.length };
}

const results = [await measure('RS256', { modulusLength: 2048 }), await measure('ES256'), await measure('EdDSA', { crv: 'Ed25519' })];
console.table(results);

// --- One token response -------------------------------------------------------------------

const runs = Number(process.argv[3] ?? 7);
const responseIterations = Math.max(1, Math.round(iterations / 4));
const id = (char) => char.repeat(22); // randomId(16): 22 base64url characters
const now = 1_800_000_000;
const accessClaims = {
  iss: payload.iss, sub: id('u'), aud: payload.iss, client_id: id('c'), scope: 'openid profile',
  jti: id('j'), iat: now, exp: now + 3600, auth_time: now, gid: id('g'),
};
const idClaims = {
  sub: id('u'), name: '微信用户', nickname: '微信用户',
  picture: 'https://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4TwGTfTLPqbHxCtvwDic9P4BibZR2hOcRcicWqoXPsRZcFyb5F5eIqmCcDeQrgSdnF1vDxg2ibHWAnQ/132',
  iss: payload.iss, aud: id('c'), azp: id('c'), iat: now, exp: now + 3600, auth_time: now, amr: ['wechat'],
};
// The shape of `npm run keys` kids (scripts/keys.mjs).
const kid = (alg) => `20261201101939-${alg.toLowerCase()}-1a2b3c4d`;

async function signingKey(alg) {
  const { privateKey } = await generateKeyPair(alg, alg === 'RS256' ? { modulusLength: 2048 } : {});
  return { alg, kid: kid(alg), privateKey };
}
const sign = (key, claims, typ) => new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ }).sign(key.privateKey);

const rs256 = await signingKey('RS256');
const es256 = await signingKey('ES256');
const designs = { before: { accessTokens: rs256, idTokens: rs256 }, after: { accessTokens: es256, idTokens: rs256 } };

/** One run of a design: CPU and wall time per token response (µs), and the last response's token sizes. */
async function responseRun({ accessTokens, idTokens }) {
  const respond = async () => [await sign(accessTokens, accessClaims, 'at+jwt'), await sign(idTokens, idClaims, 'JWT')];
  for (let i = 0; i < 20; i++) await respond();
  const cpu = process.cpuUsage();
  const start = performance.now();
  let tokens = [];
  for (let i = 0; i < responseIterations; i++) tokens = await respond();
  const { user, system } = process.cpuUsage(cpu);
  return {
    cpuUs: (user + system) / responseIterations,
    wallUs: ((performance.now() - start) * 1000) / responseIterations,
    accessTokenBytes: tokens[0].length,
    idTokenBytes: tokens[1].length,
  };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const samples = { before: [], after: [] };
for (let run = 0; run < runs; run++) for (const name of run % 2 ? ['after', 'before'] : ['before', 'after']) samples[name].push(await responseRun(designs[name]));
const responses = Object.entries(samples).map(([design, list]) => ({
  design,
  accessTokenAlg: designs[design].accessTokens.alg,
  cpuUs: Math.round(median(list.map((sample) => sample.cpuUs))),
  cpuUsRuns: list.map((sample) => Math.round(sample.cpuUs)),
  wallUs: Math.round(median(list.map((sample) => sample.wallUs))),
  accessTokenBytes: list[0].accessTokenBytes,
  idTokenBytes: list[0].idTokenBytes,
}));
console.table(responses.map(({ cpuUsRuns, ...row }) => row));

// --- The same in workerd ------------------------------------------------------------------

const workerScript = `
const encoder = new TextEncoder();
const base64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/=+$/, '').replace(/\\+/g, '-').replace(/\\//g, '_');
const segment = (value) => base64url(encoder.encode(JSON.stringify(value)));
const PARAMS = { RS256: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, ES256: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } };
let keys;
async function sign(alg, kid, claims, typ) {
  const input = segment({ alg, kid, typ }) + '.' + segment(claims);
  return input + '.' + base64url(await crypto.subtle.sign(PARAMS[alg], keys[alg], encoder.encode(input)));
}
export default {
  async fetch(request) {
    keys ??= { RS256: (await crypto.subtle.generateKey(PARAMS.RS256, false, ['sign'])).privateKey, ES256: (await crypto.subtle.generateKey(PARAMS.ES256, false, ['sign'])).privateKey };
    const { count, accessAlg, kids, accessClaims, idClaims } = await request.json();
    let tokens = [];
    for (let i = 0; i < count; i++) tokens = [await sign(accessAlg, kids[accessAlg], accessClaims, 'at+jwt'), await sign('RS256', kids.RS256, idClaims, 'JWT')];
    return Response.json({ accessTokenBytes: tokens[0].length, idTokenBytes: tokens[1].length });
  },
};`;
// The Miniflare wrangler itself runs (as test/node/bundle.test.ts does).
const { Miniflare } = createRequire(new URL('../node_modules/wrangler/package.json', import.meta.url))('miniflare');
const mf = new Miniflare({ modules: true, script: workerScript, compatibilityDate: '2026-04-01' });
const kids = { RS256: kid('RS256'), ES256: kid('ES256') };
async function workerdRun(accessAlg, count) {
  const start = performance.now();
  const response = await mf.dispatchFetch('http://bench/', { method: 'POST', body: JSON.stringify({ count, accessAlg, kids, accessClaims, idClaims }) });
  const sizes = await response.json();
  return { wallUs: ((performance.now() - start) * 1000) / count, ...sizes };
}
const workerdSamples = { before: [], after: [] };
try {
  for (const name of ['before', 'after']) await workerdRun(designs[name].accessTokens.alg, 20);
  for (let run = 0; run < runs; run++) {
    for (const name of run % 2 ? ['after', 'before'] : ['before', 'after']) workerdSamples[name].push(await workerdRun(designs[name].accessTokens.alg, responseIterations));
  }
} finally {
  await mf.dispose();
}
const workerd = Object.entries(workerdSamples).map(([design, list]) => ({
  design,
  accessTokenAlg: designs[design].accessTokens.alg,
  wallUs: Math.round(median(list.map((sample) => sample.wallUs))),
  wallUsRuns: list.map((sample) => Math.round(sample.wallUs)),
  accessTokenBytes: list[0].accessTokenBytes,
  idTokenBytes: list[0].idTokenBytes,
}));
console.table(workerd.map(({ wallUsRuns, ...row }) => row));
console.log(JSON.stringify({ node: process.version, iterations, results, tokenResponse: { iterations: responseIterations, runs, responses, workerd } }));

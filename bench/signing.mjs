/**
 * What one JWT signature costs, per algorithm, with WebCrypto through jose
 * (as the worker signs): RS256 (2048-bit), ES256 (P-256), EdDSA (Ed25519).
 * Also the verification cost, which an API gateway pays per request.
 * `node bench/signing.mjs [iterations]`; prints a table and JSON.
 */
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
console.log(JSON.stringify({ node: process.version, iterations, results }));

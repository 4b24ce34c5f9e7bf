// `npm run keys`: prints a private JWKS for SIGNING_KEYS, as one line of JSON (docs/keys.md).
//
//   npm run keys                          a new set: one RS256 key (ID tokens) and one ES256
//                                         key (access tokens)
//   npm run keys -- --rotate --alg A [FILE]
//                                         FILE's keys with a new key of A (RS256 or ES256) in
//                                         front, signing from now on; the older keys stay
//                                         published, and those of the other algorithm keep
//                                         signing. FILE is a JSON JWKS or a dotenv file with
//                                         SIGNING_KEYS (default .dev.vars)
//   npm run keys -- --rotate --alg A --in 24h
//                                         the same, the new key published at once but signing
//                                         only 24 hours later (also 90m, 7d; 0 is now)
//   npm run keys -- --prune [FILE]        FILE's keys without those the provider no longer
//                                         publishes (retired longer ago than tokens live)
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, parseEnv } from 'node:util';
import { ALGS, missingIdTokenKey, newKeySet, parseDelay, prune, rotate } from './keys.mjs';

const usage = 'usage: npm run keys -- [--rotate --alg RS256|ES256 [--in 0|90m|24h|7d] | --prune] [FILE]';

/** The JWKS in a JSON file, or in the SIGNING_KEYS of a dotenv file. */
function readKeySet(path) {
  const text = readFileSync(path, 'utf8');
  let jwks;
  try {
    jwks = JSON.parse(text);
  } catch {
    const signingKeys = parseEnv(text).SIGNING_KEYS;
    if (!signingKeys) throw new Error(`${path} is neither a JSON JWKS nor a dotenv file with SIGNING_KEYS`);
    jwks = JSON.parse(signingKeys);
  }
  if (!Array.isArray(jwks?.keys)) throw new Error(`${path}: the key set has no "keys" array`);
  return jwks;
}

const when = (seconds) => new Date(seconds * 1000).toISOString();

try {
  const { values, positionals } = parseArgs({
    options: { alg: { type: 'string' }, rotate: { type: 'boolean' }, prune: { type: 'boolean' }, in: { type: 'string' } },
    allowPositionals: true,
  });
  if (values.rotate && values.prune) throw new Error('--rotate and --prune are separate steps: prune later, once the old key has retired');
  if (values.in !== undefined && !values.rotate) throw new Error('--in goes with --rotate');
  if (values.alg !== undefined && !values.rotate) throw new Error('--alg goes with --rotate: a new set has a key of each algorithm');
  if (values.rotate && !ALGS.includes(values.alg)) throw new Error('--rotate needs --alg RS256 (ID tokens) or --alg ES256 (access tokens): each algorithm rotates on its own');
  if (positionals.length > (values.rotate || values.prune ? 1 : 0)) throw new Error(`unexpected ${positionals.join(' ')}`);
  const now = Math.floor(Date.now() / 1000);
  // `npm run` starts in the project root; a path is meant from where the command was typed.
  const file = positionals[0] ? resolve(process.env.INIT_CWD ?? '.', positionals[0]) : fileURLToPath(new URL('../.dev.vars', import.meta.url));
  let result;
  if (values.prune) {
    const current = readKeySet(file);
    result = prune(current, now);
    const kept = new Set(result.keys.map((key) => key.kid));
    for (const key of current.keys) if (!kept.has(key.kid)) console.error(`removed ${key.kid}: retired, no token it signed is still valid`);
  } else if (values.rotate) {
    const notBefore = now + (values.in === undefined ? 0 : parseDelay(values.in));
    result = await rotate(readKeySet(file), values.alg, notBefore);
    console.error(`added ${result.keys[0].kid}: published at once, signs from ${when(notBefore)}`);
  } else {
    result = await newKeySet();
  }
  // The provider refuses such a set at its first request; better to hear it now.
  const refusal = missingIdTokenKey(result);
  if (refusal) throw new Error(refusal);
  console.log(JSON.stringify(result));
} catch (error) {
  console.error(`${error instanceof Error ? error.message : error}\n${usage}`);
  process.exit(2);
}

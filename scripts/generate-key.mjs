// `npm run keys`: prints a private JWKS for SIGNING_KEYS, as one line of JSON (docs/keys.md).
//
//   npm run keys                          a new set with one RS256 key
//   npm run keys -- --alg ES256           the same with an ES256 key
//   npm run keys -- --rotate [FILE]       FILE's keys with a new key in front, signing from now
//                                         on; the old keys stay published. FILE is a JSON
//                                         JWKS or a dotenv file with SIGNING_KEYS (default
//                                         .dev.vars)
//   npm run keys -- --rotate --in 24h     the same, the new key published at once but signing
//                                         only 24 hours later (also 90m, 7d; 0 is now)
//   npm run keys -- --prune [FILE]        FILE's keys without those the provider no longer
//                                         publishes (retired longer ago than tokens live)
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, parseEnv } from 'node:util';
import { parseDelay, prune, rotate } from './keys.mjs';

const usage = 'usage: npm run keys -- [--alg RS256|ES256] [--rotate [--in 0|90m|24h|7d] | --prune] [FILE]';

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
    options: { alg: { type: 'string', default: 'RS256' }, rotate: { type: 'boolean' }, prune: { type: 'boolean' }, in: { type: 'string' } },
    allowPositionals: true,
  });
  if (values.rotate && values.prune) throw new Error('--rotate and --prune are separate steps: prune later, once the old key has retired');
  if (values.in !== undefined && !values.rotate) throw new Error('--in goes with --rotate');
  if (positionals.length > (values.rotate || values.prune ? 1 : 0)) throw new Error(`unexpected ${positionals.join(' ')}`);
  const now = Math.floor(Date.now() / 1000);
  // `npm run` starts in the project root; a path is meant from where the command was typed.
  const file = positionals[0] ? resolve(process.env.INIT_CWD ?? '.', positionals[0]) : fileURLToPath(new URL('../.dev.vars', import.meta.url));
  if (values.prune) {
    const current = readKeySet(file);
    const pruned = prune(current, now);
    const kept = new Set(pruned.keys.map((key) => key.kid));
    for (const key of current.keys) if (!kept.has(key.kid)) console.error(`removed ${key.kid}: retired, no token it signed is still valid`);
    console.log(JSON.stringify(pruned));
  } else {
    const notBefore = now + (values.in === undefined ? 0 : parseDelay(values.in));
    const rotated = await rotate(values.rotate ? readKeySet(file) : undefined, values.alg, notBefore);
    if (values.rotate) console.error(`added ${rotated.keys[0].kid}: published at once, signs from ${when(notBefore)}`);
    console.log(JSON.stringify(rotated));
  }
} catch (error) {
  console.error(`${error instanceof Error ? error.message : error}\n${usage}`);
  process.exit(2);
}

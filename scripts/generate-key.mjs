// `npm run keys`: prints a private JWKS for SIGNING_KEYS, as one line of JSON.
//
//   npm run keys                          a new set with one RS256 key
//   npm run keys -- --alg ES256           the same with an ES256 key
//   npm run keys -- --rotate [FILE]       FILE's keys with a new key in front (it signs from
//                                         then on; the old keys stay published). FILE is a
//                                         JSON JWKS or a dotenv file with SIGNING_KEYS
//                                         (default .dev.vars)
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, parseEnv } from 'node:util';
import { rotate } from './keys.mjs';

const usage = 'usage: npm run keys -- [--alg RS256|ES256] [--rotate [FILE]]';

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

try {
  // --rotate takes an optional file, which parseArgs cannot express: take it by hand.
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--rotate');
  let rotateFrom;
  if (at !== -1) {
    const next = argv[at + 1];
    const given = next !== undefined && !next.startsWith('--');
    argv.splice(at, given ? 2 : 1);
    // `npm run` starts in the project root; a path is meant from where the command was typed.
    rotateFrom = given
      ? resolve(process.env.INIT_CWD ?? '.', next)
      : fileURLToPath(new URL('../.dev.vars', import.meta.url));
  }
  const { values } = parseArgs({ args: argv, options: { alg: { type: 'string', default: 'RS256' } } });
  const current = rotateFrom === undefined ? undefined : readKeySet(rotateFrom);
  console.log(JSON.stringify(await rotate(current, values.alg)));
} catch (error) {
  console.error(`${error instanceof Error ? error.message : error}\n${usage}`);
  process.exit(2);
}

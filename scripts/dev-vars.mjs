// The local secrets file (`.dev.vars`, dotenv syntax) that `wrangler dev` reads.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { newKeySet } from './keys.mjs';

export const DEFAULT_REGISTRATION_TOKEN = 'dev-registration-token';
export const DEFAULT_ADMIN_TOKEN = 'dev-admin-token';

/** The variables of a dotenv file, or undefined when it does not exist. */
export function readDevVars(path) {
  return existsSync(path) ? parseEnv(readFileSync(path, 'utf8')) : undefined;
}

/** A fake WeChat app for the sandbox: an appid shaped like WeChat's and a random AppSecret. */
function sandboxApp(kind) {
  return { appid: `wx${randomBytes(8).toString('hex')}`, secret: randomBytes(16).toString('hex'), kind };
}

const generators = {
  SIGNING_KEYS: async () => JSON.stringify(await newKeySet()),
  REGISTRATION_TOKEN: async () => DEFAULT_REGISTRATION_TOKEN,
  ADMIN_TOKEN: async () => DEFAULT_ADMIN_TOKEN,
  PAIRWISE_SECRET: async () => randomBytes(32).toString('base64url'),
  // One app of each kind, so every login (mobile app, mini program, Official Account, Website App) works out of the box.
  WECHAT_APPS: async () => JSON.stringify(['app', 'miniprogram', 'officialaccount', 'website'].map((kind) => sandboxApp(kind))),
};

/**
 * Creates the file (mode 0600) or appends the variables it lacks. A variable
 * already there is never touched, so a developer's own values survive.
 * Returns the names it added and the resulting variables.
 */
export async function ensureDevVars(path) {
  const existing = readDevVars(path);
  const added = Object.keys(generators).filter((name) => existing?.[name] === undefined);
  // Single quotes keep the JSON's double quotes literal in dotenv syntax.
  const lines = [];
  for (const name of added) lines.push(`${name}='${await generators[name]()}'`);
  if (existing === undefined) {
    const header = '# Local secrets for `wrangler dev`, written by `npm start`. Never commit this file.\n';
    writeFileSync(path, `${header}${lines.join('\n')}\n`, { mode: 0o600 });
  } else if (lines.length > 0) {
    const text = readFileSync(path, 'utf8');
    const separator = text === '' || text.endsWith('\n') ? '' : '\n';
    appendFileSync(path, `${separator}${lines.join('\n')}\n`);
  }
  return { added, vars: readDevVars(path) };
}

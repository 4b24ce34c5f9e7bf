#!/usr/bin/env node
// Registers one example as a client of the bridge (dynamic client registration, RFC 7591)
// and writes the example's .env: the issuer, the client_id and client_secret, and a fresh
// session secret. Run it from the example's folder as `npm run register`.
//
//   node ../register.mjs <example> [--print]
//
// Environment (all optional):
//   ISSUER              the provider (default http://localhost:8787, as `npm start` serves it)
//   REGISTRATION_TOKEN  the initial access token (default dev-registration-token, as `npm start` prints it)
//   BASE_URL            where the example will run (default per example, e.g. http://localhost:3000)
//   ENV_FILE            the file to write (default .env in the current folder)
//
// --print writes nothing and prints the registration response instead.
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** What each example registers: its callback and sign-out return URLs, and the secret its sessions need. */
const EXAMPLES = {
  authjs: {
    port: 3000,
    redirect: '/auth/callback/bridge',
    postLogout: '/',
    grants: ['authorization_code'],
    secret: 'AUTH_SECRET',
  },
  'better-auth': {
    port: 3001,
    redirect: '/api/auth/callback/bridge',
    postLogout: '/',
    grants: ['authorization_code'],
    secret: 'BETTER_AUTH_SECRET',
  },
  passport: {
    port: 3002,
    redirect: '/login/callback',
    postLogout: '/',
    grants: ['authorization_code'],
    secret: 'SESSION_SECRET',
  },
  // The API's own client: its credentials authenticate introspection (RFC 7662), which answers only
  // about tokens issued to that client; `npm run token` gets such tokens with the device flow (RFC 8628).
  'resource-server': {
    port: 3003,
    grants: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
  },
};

const [name, ...flags] = process.argv.slice(2);
const example = EXAMPLES[name];
if (!example || flags.some((flag) => flag !== '--print')) {
  console.error(`usage: node register.mjs <${Object.keys(EXAMPLES).join('|')}> [--print]`);
  process.exit(2);
}

const issuer = (process.env.ISSUER || 'http://localhost:8787').replace(/\/$/, '');
const registrationToken = process.env.REGISTRATION_TOKEN || 'dev-registration-token';
const baseUrl = (process.env.BASE_URL || `http://localhost:${example.port}`).replace(/\/$/, '');

const discovery = await fetch(`${issuer}/.well-known/openid-configuration`).catch((error) => {
  console.error(`Cannot reach ${issuer} (${error.cause?.code ?? error.message}). Is the provider running (npm start)?`);
  process.exit(1);
});
if (!discovery.ok) {
  console.error(`${issuer}/.well-known/openid-configuration answered ${discovery.status}`);
  process.exit(1);
}
const { registration_endpoint: registrationEndpoint } = await discovery.json();

const metadata = {
  client_name: `${name} example`,
  grant_types: example.grants,
  token_endpoint_auth_method: 'client_secret_basic',
  ...(example.redirect && {
    redirect_uris: [`${baseUrl}${example.redirect}`],
    post_logout_redirect_uris: [`${baseUrl}${example.postLogout}`],
  }),
};
const response = await fetch(registrationEndpoint, {
  method: 'POST',
  headers: { authorization: `Bearer ${registrationToken}`, 'content-type': 'application/json' },
  body: JSON.stringify(metadata),
});
const client = await response.json();
if (response.status !== 201) {
  console.error(`Registration refused (${response.status}): ${client.error}: ${client.error_description ?? ''}`);
  process.exit(1);
}

if (flags.includes('--print')) {
  console.log(JSON.stringify(client, null, 2));
  process.exit(0);
}

const envFile = resolve(process.env.ENV_FILE || '.env');
const lines = [
  `# Written by register.mjs: client ${client.client_id} of ${issuer}.`,
  `# Keep REGISTRATION_ACCESS_TOKEN to read, change or delete the client (RFC 7592) at ${client.registration_client_uri}`,
  `ISSUER=${issuer}`,
  `CLIENT_ID=${client.client_id}`,
  `CLIENT_SECRET=${client.client_secret}`,
  `REGISTRATION_ACCESS_TOKEN=${client.registration_access_token}`,
  `BASE_URL=${baseUrl}`,
  `PORT=${new URL(baseUrl).port || (baseUrl.startsWith('https:') ? 443 : 80)}`,
  ...(example.secret ? [`${example.secret}=${randomBytes(32).toString('base64url')}`] : []),
];
const replaced = existsSync(envFile);
writeFileSync(envFile, `${lines.join('\n')}\n`, { mode: 0o600 });
console.log(`Registered client ${client.client_id} for ${baseUrl}; ${replaced ? 'replaced' : 'wrote'} ${envFile}.`);

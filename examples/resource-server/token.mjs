// Gets an access token for this client with the device flow (RFC 8628), to call the API with:
//
//   npm run token                         prints the access token (scope "openid profile")
//   npm run token -- --scope openid       another scope
//   npm run token -- --json               prints the whole token response
//
// It shows a link: open it, and approve the login there (with `npm start`, the page has the
// WeChat sandbox's form that stands in for the mini program).
import { parseArgs } from 'node:util';

try {
  process.loadEnvFile();
} catch {}

const { values } = parseArgs({ options: { scope: { type: 'string', default: 'openid profile' }, json: { type: 'boolean', default: false } } });
const { ISSUER, CLIENT_ID, CLIENT_SECRET } = process.env;
if (!ISSUER || !CLIENT_ID || !CLIENT_SECRET) {
  console.error('Set ISSUER, CLIENT_ID and CLIENT_SECRET (npm run register writes them to .env).');
  process.exit(1);
}

const discovery = await (await fetch(`${ISSUER}/.well-known/openid-configuration`)).json();
const credentials = Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64');

async function post(url, form) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Basic ${credentials}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  // A busy provider may answer 503 with no JSON: that is a retry, like authorization_pending.
  const body = await response.json().catch(() => ({ error: 'temporarily_unavailable' }));
  return { status: response.status, body };
}

const started = await post(discovery.device_authorization_endpoint, { scope: values.scope });
if (started.status !== 200) {
  console.error(`device authorization refused: ${started.body.error}`);
  process.exit(1);
}
const { device_code: deviceCode, user_code: userCode, verification_uri_complete: link, expires_in: expiresIn } = started.body;
let interval = started.body.interval ?? 5;
// On stderr, so that stdout is the token alone.
console.error(`Open ${link}\nand approve the login (user code ${userCode}).`);

for (const deadline = Date.now() + expiresIn * 1000; Date.now() < deadline; ) {
  await new Promise((resolve) => setTimeout(resolve, interval * 1000));
  const { status, body } = await post(discovery.token_endpoint, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode });
  if (status === 200) {
    console.log(values.json ? JSON.stringify(body) : body.access_token);
    process.exit(0);
  }
  if (body.error === 'slow_down') interval += 5;
  else if (body.error !== 'authorization_pending' && body.error !== 'temporarily_unavailable') {
    console.error(`no token: ${body.error}`);
    process.exit(1);
  }
}
console.error('The login expired.');
process.exit(1);

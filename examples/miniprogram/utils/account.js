// What the account page shows, from the bridge's answer to POST /wechat/account
// (docs/protocol.md "Leaving"): the applications the person approved. A pure function with
// no wx.* call: the page uses it, and the repository tests it.
const { SCOPE_WORDS, HTTPS } = require('./approval');

// China Standard Time, where the mini program's people read the date: UTC+8, no daylight saving.
const CST_OFFSET_MS = 8 * 3600 * 1000;

const pad = (n) => (n < 10 ? `0${n}` : `${n}`);

/** Epoch seconds as "YYYY-MM-DD HH:mm" in China Standard Time. */
function shanghaiTime(seconds) {
  const d = new Date(seconds * 1000 + CST_OFFSET_MS);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/** The page's data for the answer of POST /wechat/account: one entry per approved application. */
function accountView(answer) {
  const clients = (answer && answer.clients) || [];
  return {
    clients: clients.map((client) => {
      const site = typeof client.client_uri === 'string' ? HTTPS.exec(client.client_uri) : null;
      return {
        clientId: client.client_id,
        name: client.client_name || client.client_id,
        logo: typeof client.logo_uri === 'string' && HTTPS.test(client.logo_uri) ? client.logo_uri : '',
        site: site ? site[1].toLowerCase() : '',
        scopes: (client.scopes || []).map((scope) => SCOPE_WORDS[scope] || scope),
        lastLogin: typeof client.last_login_at === 'number' ? shanghaiTime(client.last_login_at) : '',
      };
    }),
    empty: clients.length === 0,
  };
}

module.exports = { accountView };

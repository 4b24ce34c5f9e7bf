/**
 * The login page's only script (plain browser JavaScript, run under the CSP
 * nonce). It reads everything from data attributes that the server rendered
 * and escaped, so the script itself is a constant:
 * - served as the answer to the authorization request, the page shows its own
 *   URL (`data-page-url`): a reload then does not start another login;
 * - polls `data-status-url` until the pending login is approved, denied or
 *   expired, backing off on errors and honouring Retry-After, and checking at
 *   once when the tab comes back (from WeChat, on a phone);
 * - then, for a browser login, goes to `data-continue-url`, which redirects to
 *   the client; for a device login it says to return to the device;
 * - checks at once on a `login:check` event (an add-on of the entry point
 *   sends it), and hides `[data-hide-when-done]` once the login is over.
 * Kept as a string, not a serialized function: bundlers (wrangler's keepNames)
 * rewrite function bodies.
 */
export const LOGIN_SCRIPT = `(() => {
  'use strict';
  const INTERVAL = 1500;
  const MAX_WAIT = 30000;
  const root = document.querySelector('[data-login-session]');
  const status = document.getElementById('status');
  const ways = document.getElementById('ways');
  const text = status.dataset;
  let timer = 0;
  let polling = false;
  let failures = 0;
  let finished = false;

  if (root.dataset.pageUrl && location.pathname !== root.dataset.pageUrl) history.replaceState(null, '', root.dataset.pageUrl);

  const say = (message, isError) => {
    status.textContent = message;
    status.classList.toggle('error', Boolean(isError));
  };

  const finish = (state) => {
    finished = true;
    clearTimeout(timer);
    root.dataset.state = state;
    if (root.dataset.mode === 'authorization' && state !== 'expired') {
      say(state === 'approved' ? text.redirecting : text.denied);
      location.href = root.dataset.continueUrl;
      return;
    }
    ways.hidden = true;
    document.querySelectorAll('[data-hide-when-done]').forEach((element) => { element.hidden = true; });
    say(state === 'approved' ? text.deviceApproved : text[state], state !== 'approved');
  };

  const retryAfter = (response) => {
    const value = response ? response.headers.get('Retry-After') : null;
    if (!value) return 0;
    const ms = /^\\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - Date.now();
    return ms > 0 ? Math.min(ms, MAX_WAIT * 2) : 0;
  };

  const schedule = (ms) => {
    clearTimeout(timer);
    if (!finished && !polling) timer = setTimeout(poll, ms);
  };

  const poll = async () => {
    polling = true;
    let response = null;
    try {
      response = await fetch(root.dataset.statusUrl, {
        headers: { Accept: 'application/json' },
        cache: 'no-store',
        credentials: 'same-origin',
      });
      if (response.status === 404 || response.status === 410) {
        finish('expired');
      } else if (response.ok) {
        const state = (await response.json()).status;
        if (state === 'approved' || state === 'denied' || state === 'expired') finish(state);
        else if (failures > 0) say(text.waiting);
        failures = 0;
      } else {
        failures += 1;
      }
    } catch {
      failures += 1;
    }
    polling = false;
    if (finished) return;
    if (failures > 0) say(text.retrying, true);
    const backoff = failures > 0 ? Math.min(INTERVAL * 2 ** failures, MAX_WAIT) : INTERVAL;
    schedule(Math.max(backoff, retryAfter(response)));
  };

  document.addEventListener('login:check', () => schedule(0));

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') schedule(0);
  });
  schedule(INTERVAL);
})();
`;

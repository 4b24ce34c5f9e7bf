/** RFC 8628 §3.3: the verification_uri. A user code leads to its pending login's page. */
import { Hono } from 'hono';
import { bridge, type AppEnv } from '../context';
import { loginPath } from '../paths';
import { getPendingLogin } from '../store/pending-logins';
import { DeviceCodePage } from '../ui/device-page';
import { pickLocale } from '../ui/i18n';
import { renderPage } from '../web/pages';
import { normalizeUserCode } from './user-codes';

export const deviceVerification = new Hono<AppEnv>().get('/', async (c) => {
  const context = bridge(c);
  const locale = pickLocale(c.req.query('ui_locales'), c.req.header('Accept-Language'));
  const typed = c.req.query('user_code');
  if (typed === undefined) return renderPage(c, (nonce) => DeviceCodePage({ locale, nonce }));
  const userCode = normalizeUserCode(typed);
  const login = userCode && (await getPendingLogin(context.env.KV, userCode, context.now));
  if (!login || login.authorization) return renderPage(c, (nonce) => DeviceCodePage({ locale, nonce, invalid: true }), 404);
  return c.redirect(loginPath(login.id), 303);
});

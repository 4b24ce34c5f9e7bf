/**
 * examples/passport: Express + Passport with openid-client's strategy
 * (`openid-client/passport`), the bridge as a generic OIDC provider, in headless Chromium
 * (support/web-app.ts): sign in, the session page, the provider's session, and sign-out
 * through the end_session_endpoint.
 */
import { describeWebApp } from './support/web-app.ts';

describeWebApp('passport', {
  signIn: (page) => page.locator('#sign-in').click(),
  scope: 'openid profile wechat',
  claims: true,
  localUsers: false,
});

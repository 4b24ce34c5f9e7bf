/**
 * examples/authjs: Auth.js (@auth/express) with the bridge as a generic OIDC provider,
 * in headless Chromium (support/web-app.ts): sign in, the session page, the provider's
 * session, and sign-out through the end_session_endpoint.
 */
import { describeWebApp } from './support/web-app.ts';

describeWebApp('authjs', {
  async signIn(page) {
    await page.locator('#sign-in').click();
    // Auth.js's own sign-in page: one button per provider.
    await page.getByRole('button', { name: 'Sign in with WeChat' }).click();
  },
  scope: 'openid profile wechat',
  claims: true,
  localUsers: false,
});

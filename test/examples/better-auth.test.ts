/**
 * examples/better-auth: better-auth's generic OAuth plugin with the provider's discovery
 * document, in headless Chromium (support/web-app.ts): sign in, a local user whose
 * account is linked to the provider's sub (the same user on every later sign-in), the
 * provider's session, and sign-out through the end_session_endpoint.
 */
import { describeWebApp } from './support/web-app.ts';

describeWebApp('better-auth', {
  signIn: (page) => page.locator('#sign-in').click(),
  scope: 'openid profile',
  claims: false,
  localUsers: true,
});

/** Relying parties of the end-to-end tests, registered the way openid-client registers (RFC 7591). */
import * as client from 'openid-client';
import type { Provider } from './provider.ts';

/**
 * A confidential web client (code flow, client_secret_basic) registered at the provider with its
 * registration token. The provider runs on loopback over plain HTTP, which openid-client allows
 * only when told.
 */
export function registerWebClient(provider: Provider, metadata: Partial<client.ClientMetadata>): Promise<client.Configuration> {
  return client.dynamicClientRegistration(
    new URL(provider.issuer),
    { response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic', ...metadata },
    client.ClientSecretBasic(),
    { execute: [client.allowInsecureRequests], initialAccessToken: provider.registrationToken },
  );
}

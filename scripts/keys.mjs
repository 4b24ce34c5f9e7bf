// Signing keys for the provider: a private JWKS, newest key first (docs/protocol.md §2).
import { exportJWK, generateKeyPair } from 'jose';

/** A new private JWK with `kid`, `alg` and `use`, ready to publish. */
export async function generateSigningKey(alg = 'RS256') {
  if (alg !== 'RS256' && alg !== 'ES256') throw new Error(`unsupported alg ${alg}: use RS256 or ES256`);
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '');
  const random = crypto.getRandomValues(new Uint8Array(4));
  const kid = `${stamp}-${alg.toLowerCase()}-${Buffer.from(random).toString('hex')}`;
  return { kid, alg, use: 'sig', ...jwk };
}

/** Puts a new key in front: it signs from now on, the older keys stay published. */
export async function rotate(jwks, alg) {
  return { keys: [await generateSigningKey(alg), ...(jwks?.keys ?? [])] };
}

/**
 * The authentication context an authorization request asks for: `acr_values`
 * (OpenID Connect Core §3.1.2.1, voluntary) and the `claims` parameter's
 * `id_token.acr` (§5.5, §5.5.1.1), whose `essential: true` makes it a
 * requirement. Other members of `claims` are understood and ignored (§5.5:
 * a claim that is not returned is not an error).
 */
import { invalidRequest } from '../errors';
import type { AcrRequest } from '../types';

const MAX_VALUES = 16;

type Json = null | boolean | number | string | Json[] | { [name: string]: Json };

const isObject = (value: Json | undefined): value is { [name: string]: Json } => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The acr request of `acr_values` and `claims`; invalid_request when `claims` is not the JSON §5.5 describes. */
export function acrRequest(acrValues: string | undefined, claims: string | undefined): AcrRequest | undefined {
  const requested = claims === undefined ? undefined : acrClaimRequest(claims);
  const preferred = [...(requested?.values ?? []), ...(acrValues?.split(' ').filter(Boolean) ?? [])];
  if (preferred.length > MAX_VALUES) throw invalidRequest('too many acr values');
  if (requested?.essential) return { essential: requested.values, preferred };
  return preferred.length > 0 ? { preferred } : undefined;
}

/** §5.5.1: `{"essential": bool, "value": string, "values": [string]}` or null, under `id_token.acr`. */
function acrClaimRequest(text: string): { essential: boolean; values: string[] } | undefined {
  let parsed: Json;
  try {
    parsed = JSON.parse(text) as Json;
  } catch {
    throw invalidRequest('claims is not JSON');
  }
  if (!isObject(parsed)) throw invalidRequest('claims must be a JSON object');
  for (const member of ['id_token', 'userinfo']) {
    const requests = parsed[member];
    if (requests === undefined) continue;
    if (!isObject(requests)) throw invalidRequest(`claims.${member} must be an object`);
    for (const request of Object.values(requests)) {
      if (request !== null && !isObject(request)) throw invalidRequest(`each claim in claims.${member} must be null or an object`);
    }
  }
  const acr = isObject(parsed.id_token) ? parsed.id_token.acr : undefined;
  if (!isObject(acr)) return undefined;
  const { essential, value, values } = acr;
  if (essential !== undefined && typeof essential !== 'boolean') throw invalidRequest('claims: essential must be true or false');
  if (value !== undefined && typeof value !== 'string') throw invalidRequest('claims: the acr value must be a string');
  if (values !== undefined && !(Array.isArray(values) && values.every((item) => typeof item === 'string'))) {
    throw invalidRequest('claims: the acr values must be strings');
  }
  const wanted = [...(value === undefined ? [] : [value]), ...((values as string[] | undefined) ?? [])];
  return { essential: essential === true, values: wanted };
}

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

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isStrings = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

/** The acr request of `acr_values` and `claims`; invalid_request when `claims` is not the JSON §5.5 describes. */
export function acrRequest(acrValues: string | undefined, claims: string | undefined): AcrRequest | undefined {
  const requested = claims === undefined ? undefined : acrClaimRequest(claims);
  const preferred = [...(requested?.values ?? []), ...(acrValues?.split(' ').filter(Boolean) ?? [])];
  if (preferred.length > MAX_VALUES) throw invalidRequest('too many acr values');
  if (requested?.essential) return { essential: requested.values, preferred };
  return preferred.length > 0 ? { preferred } : undefined;
}

/**
 * §5.5: a JSON object whose `id_token` and `userinfo` members are objects of
 * claim requests, each null or an object; §5.5.1: `acr`'s `essential` a
 * boolean, `value` a string, `values` strings.
 */
function acrClaimRequest(text: string): { essential: boolean; values: string[] } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const requests = isObject(parsed) ? [parsed.id_token, parsed.userinfo].filter((member) => member !== undefined) : [];
  const acr = isObject(parsed) && isObject(parsed.id_token) ? parsed.id_token.acr : undefined;
  const { essential, value, values } = isObject(acr) ? acr : {};
  const valid =
    isObject(parsed) &&
    requests.every((member) => isObject(member) && Object.values(member).every((request) => request === null || isObject(request))) &&
    ['boolean', 'undefined'].includes(typeof essential) &&
    ['string', 'undefined'].includes(typeof value) &&
    (values === undefined || isStrings(values));
  if (!valid) throw invalidRequest('claims is malformed');
  if (!isObject(acr)) return undefined;
  return { essential: essential === true, values: [...(value === undefined ? [] : [value as string]), ...((values as string[] | undefined) ?? [])] };
}

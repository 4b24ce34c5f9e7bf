/** The admin API's query strings, read strictly: a misspelt or repeated parameter would otherwise answer another question. */
import { invalidRequest } from '../errors';

/** The parameters of `search`, each at most once, none outside `allowed`, none empty. */
export function onlyParams(search: URLSearchParams, allowed: readonly string[]): Map<string, string> {
  const params = new Map<string, string>();
  for (const [name, value] of search) {
    if (!allowed.includes(name)) throw invalidRequest(`unknown parameter: this endpoint takes ${allowed.join(', ')}`);
    if (params.has(name)) throw invalidRequest(`${name} is given more than once`);
    if (value === '') throw invalidRequest(`${name} is empty`);
    params.set(name, value);
  }
  return params;
}

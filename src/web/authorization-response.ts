/** Sending the browser back to the client: RFC 6749 §4.1.2 / §4.1.2.1, with RFC 9207's `iss`. */
export function redirectWith(redirectUri: string, issuer: string, result: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(result)) if (value !== undefined) url.searchParams.set(name, value);
  url.searchParams.set('iss', issuer);
  return url.href;
}

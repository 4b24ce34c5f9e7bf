/**
 * Requests no ordinary client library sends, written byte for byte on a socket
 * to the provider as `npm start` serves it: whatever arrives, the answer is the
 * RFCs' (or the endpoint's own), never a 500.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Provider, startProvider } from './support/provider.ts';

/** Sends `request` and reads until the server closes the connection. */
function exchange(issuer: string, request: string): Promise<string> {
  const { hostname, port } = new URL(issuer);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname === 'localhost' ? '127.0.0.1' : hostname, port: Number(port) }, () => socket.end(request));
    let answer = '';
    socket.setEncoding('latin1');
    socket.setTimeout(30_000, () => socket.destroy(new Error('no answer within 30 s')));
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);

describe('raw HTTP', { timeout: 120_000 }, () => {
  let provider: Provider;
  beforeAll(async () => {
    provider = await startProvider();
  });
  afterAll(async () => {
    await provider?.stop();
  });

  it.each([
    ['a chunked body', 'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['an empty chunked body', 'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a Content-Length body', 'Content-Length: 5\r\n\r\nhello'],
  ])('answers a GET with %s as a GET: discovery, not a 500', async (_, rest) => {
    const host = new URL(provider.issuer).host;
    const answer = await exchange(provider.issuer, `GET /.well-known/openid-configuration HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n${rest}`);
    expect(statusOf(answer), answer.slice(0, 300)).toBe(200);
    expect(answer).toContain(`"issuer":"${provider.issuer}"`);
  });
});

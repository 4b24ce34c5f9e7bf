import { describe, expect, it } from 'vitest';
import { sectorIdentifier, subjectFor } from '../../src/identity/pairwise';
import type { ClientMetadata } from '../../src/types';

const SECRET = 'a-pairwise-secret-of-at-least-32-characters';
const pairwise = (clientId: string, redirect_uris: string[]) => ({ clientId, metadata: { subject_type: 'pairwise' as const, redirect_uris } });

describe('OpenID Connect Core §8.1: the sector of a client', () => {
  it.each([
    ['one https host', ['https://rp.example/cb'], 'host:rp.example'],
    ['one https host, several paths and a loopback redirect', ['https://rp.example/a', 'https://rp.example/b?x=1', 'http://127.0.0.1/cb'], 'host:rp.example'],
    ['the port is part of the host', ['https://rp.example:8443/cb'], 'host:rp.example:8443'],
    ['no redirect URI (a device, a token exchange)', [], 'client:c1'],
    ['only loopback and private-use redirects (a native app)', ['http://127.0.0.1/cb', 'com.example.app:/cb'], 'client:c1'],
    ['several https hosts (refused at registration for pairwise clients)', ['https://a.example/cb', 'https://b.example/cb'], 'client:c1'],
  ])('%s', (_, uris, sector) => {
    expect(sectorIdentifier('c1', { redirect_uris: uris })).toBe(sector);
  });
});

describe('OpenID Connect Core §8: the sub a client sees', () => {
  it('a public client, or one registered before subject types, sees the user id', async () => {
    const metadata: Pick<ClientMetadata, 'redirect_uris' | 'subject_type'> = { redirect_uris: ['https://rp.example/cb'] };
    expect(await subjectFor(SECRET, { clientId: 'c1', metadata }, 'user-1')).toBe('user-1');
    expect(await subjectFor(SECRET, { clientId: 'c1', metadata: { ...metadata, subject_type: 'public' } }, 'user-1')).toBe('user-1');
  });

  it('a pairwise client sees an opaque, stable identifier, shared by its sector only', async () => {
    const sub = await subjectFor(SECRET, pairwise('c1', ['https://rp.example/cb']), 'user-1');
    expect(sub).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sub).not.toContain('user-1');
    // Stable: the same inputs, the same sub.
    expect(await subjectFor(SECRET, pairwise('c1', ['https://rp.example/cb']), 'user-1')).toBe(sub);
    // Another client on the same host is the same sector.
    expect(await subjectFor(SECRET, pairwise('c2', ['https://rp.example/other']), 'user-1')).toBe(sub);
    // Another host, another user, another secret, another sub.
    const others = await Promise.all([
      subjectFor(SECRET, pairwise('c1', ['https://other.example/cb']), 'user-1'),
      subjectFor(SECRET, pairwise('c1', ['https://rp.example/cb']), 'user-2'),
      subjectFor(`${SECRET}!`, pairwise('c1', ['https://rp.example/cb']), 'user-1'),
    ]);
    expect(new Set([sub, ...others]).size).toBe(4);
  });

  it('a pairwise client without an https redirect URI is a sector of its own', async () => {
    const [one, two] = await Promise.all([subjectFor(SECRET, pairwise('c1', []), 'user-1'), subjectFor(SECRET, pairwise('c2', []), 'user-1')]);
    expect(one).not.toBe(two);
  });
});

/**
 * What a browser's login session may do without asking the person again
 * (docs/security.md, "Sessions"), as a pure function. A session comes from
 * one approval in WeChat, for one client and the scopes it showed; it
 * answers silently only a request that approval (or a later one in the
 * same browser) covered. Anything more goes back to the mini program, where
 * the person sees which application asks and for what.
 */
import type { Session } from '../store/sessions';
import { acrOf, meetsAcr } from '../tokens/acr';
import type { AcrRequest, Scope } from '../types';

export interface SilentRequest {
  clientId: string;
  scopes: readonly Scope[];
  prompt: ReadonlySet<string>;
  maxAge?: number;
  acr?: AcrRequest;
}

/** OpenID Connect Core §3.1.2.6: why a request with prompt=none could not be answered silently. */
export type SessionAnswer = { silent: true } | { silent: false; error: 'login_required' | 'consent_required' };

export function sessionAnswer(session: Session | undefined, request: SilentRequest, now: number): SessionAnswer {
  if (!session) return { silent: false, error: 'login_required' };
  // §3.1.2.1: login, consent and select_account each ask the person; the mini program is where they are asked.
  if (request.prompt.has('login') || request.prompt.has('select_account')) return { silent: false, error: 'login_required' };
  if (request.maxAge !== undefined && now - session.authTime > request.maxAge) return { silent: false, error: 'login_required' };
  // §5.5.1.1: a session whose door does not give the essential acr cannot answer; a new login through one that does may.
  if (!meetsAcr(request.acr, acrOf(session.amr.split(' ')))) return { silent: false, error: 'login_required' };
  if (request.prompt.has('consent') || !covers(session.consents[request.clientId], request.scopes)) {
    return { silent: false, error: 'consent_required' };
  }
  return { silent: true };
}

/** The consents of a session that a new approval in the same browser, for `clientId`, leaves. */
export function withConsent(previous: Session | undefined, userId: string, clientId: string, scopes: readonly Scope[]) {
  // Another person's approvals stay theirs: their session simply ends.
  const kept = previous && previous.userId === userId ? previous.consents : {};
  const granted = new Set([...(kept[clientId]?.split(' ') ?? []), ...scopes]);
  return { ...kept, [clientId]: [...granted].join(' ') };
}

const covers = (approved: string | undefined, scopes: readonly Scope[]) => {
  if (approved === undefined) return false;
  const granted = approved.split(' ');
  return scopes.every((scope) => granted.includes(scope));
};

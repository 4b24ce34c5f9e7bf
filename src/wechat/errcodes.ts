import { invalidGrant, type OAuthError, serverError, temporarilyUnavailable } from '../errors';

/**
 * What went wrong on one WeChat call, before it becomes an OAuth error.
 * Kept apart from the HTTP code so the policy below is plain functions.
 */
export type Failure =
  /** WeChat answered with a non-zero `errcode`. */
  | { type: 'errcode'; errcode: number; errmsg: string }
  /** No answer: timeout, network error, HTTP 5xx or 429. */
  | { type: 'unreachable'; detail: string }
  /** An answer we cannot read: not JSON, or missing the fields the API documents. */
  | { type: 'malformed'; detail: string }
  /** Any other HTTP status: our request is wrong, not WeChat. */
  | { type: 'http'; status: number };

export class WeChatFailure extends Error {
  constructor(
    /** The API path, e.g. `sns/jscode2session`; never the URL, whose query holds the secret and the code. */
    readonly api: string,
    readonly failure: Failure,
    /** Whether the call spent a login or phone code (see `WeChatRequest.spendsCode`). */
    readonly spendsCode: boolean,
  ) {
    super(`WeChat ${api}: ${describe(failure)}`);
    this.name = 'WeChatFailure';
  }
}

function describe(failure: Failure): string {
  switch (failure.type) {
    case 'errcode':
      return `errcode ${failure.errcode} ${failure.errmsg}`;
    case 'unreachable':
    case 'malformed':
      return `${failure.type}: ${failure.detail}`;
    case 'http':
      return `HTTP ${failure.status}`;
  }
}

/** The refusals of a code exchange that are the code's (or the user's) fault, not ours. */
const CODE_REFUSED: ReadonlyMap<number, string> = new Map([
  [40029, 'the WeChat code is invalid'],
  [40163, 'the WeChat code was already used'],
  [42003, 'the WeChat code has expired'],
  [40226, 'WeChat refused this user (high risk)'],
]);

/** -1 system busy, 45009 daily quota, 45011 per-minute quota: WeChat may say yes later. */
const BUSY = new Set([-1, 45009, 45011]);

/** 40001 / 40014 invalid and 42001 expired access token: refresh it and retry once. */
const ACCESS_TOKEN_REFUSED = new Set([40001, 40014, 42001]);

export function isAccessTokenRefused(error: unknown): error is WeChatFailure {
  return error instanceof WeChatFailure && error.failure.type === 'errcode' && ACCESS_TOKEN_REFUSED.has(error.failure.errcode);
}

/** Worth one more try of an idempotent read: -1 busy, or WeChat did not answer. */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof WeChatFailure)) return false;
  const { failure } = error;
  return failure.type === 'unreachable' || (failure.type === 'errcode' && failure.errcode === -1);
}

/** The bridge's configuration or WeChat's answer is at fault: a server_error, told plainly. */
const UNUSABLE = 'the bridge could not complete its request to WeChat';

/**
 * The OAuth error a relying party sees: what it means to the client, in
 * plain words. The API path and the errcode describe the bridge's dealings
 * with WeChat, not the client's request: they go to the log (the
 * WeChatFailure's message, src/wechat/client.ts), never to the client.
 */
export function toOAuthError({ failure, spendsCode }: WeChatFailure): OAuthError {
  switch (failure.type) {
    case 'unreachable':
    case 'malformed':
      return temporarilyUnavailable('WeChat is unavailable; try again');
    case 'http':
      return serverError(UNUSABLE);
    case 'errcode': {
      const refused = spendsCode ? CODE_REFUSED.get(failure.errcode) : undefined;
      if (refused) return invalidGrant(refused);
      if (BUSY.has(failure.errcode)) return temporarilyUnavailable('WeChat is busy; try again');
      // 40013 appid, 40125 / 40001 secret, 40164 IP whitelist, 48001 unauthorized, 41xxx and
      // anything unknown: the bridge's configuration or code is wrong, not the client's request.
      return serverError(UNUSABLE);
    }
  }
}

import { expect } from 'vitest';
import { OAuthError } from '../../src/errors';

/** The OAuthError `run` throws; fails the test when it throws nothing, or something else. */
export function thrownBy(run: () => unknown): OAuthError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    return error as OAuthError;
  }
  throw new Error('expected an OAuthError, nothing was thrown');
}

/**
 * Issuing from something that works once (an authorization code, a device
 * code): the grant is written in the same transaction as the thing's
 * single-use row, so concurrent redemptions cannot both commit; a later
 * one revokes what the first was issued (RFC 6749 §4.1.2).
 */
import { invalidGrant } from '../errors';
import { isUniqueViolation } from '../store/db';
import { revokeGrant } from '../store/grants';
import { claimStatement, grantOfUse } from '../store/single-use';
import type { Client } from '../types';
import { issueForNewGrant, type Authentication, type IssueContext, type TokenResponse } from './issue';

export async function issueOnce(context: IssueContext, client: Client, auth: Authentication, key: string, what: string): Promise<TokenResponse> {
  try {
    return await issueForNewGrant(context, client, auth, (grantId) => [claimStatement(context.db, key, grantId, context.now)]);
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const grantId = await grantOfUse(context.db, key);
    if (grantId) await revokeGrant(context.db, grantId, context.now);
    throw invalidGrant(`the ${what} was already used: the tokens issued with it are revoked`);
  }
}

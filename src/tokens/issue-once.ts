/**
 * Issuing from something that works once (an authorization code, a device
 * code): the grant is written in the same transaction as the thing's
 * single-use row, so concurrent redemptions cannot both commit; a later
 * one revokes what the first was issued (RFC 6749 §4.1.2).
 */
import { invalidGrant } from '../errors';
import { isForeignKeyViolation, isUniqueViolation } from '../store/db';
import { revokeGrant } from '../store/grants';
import { grantOfUse } from '../store/single-use';
import type { IssueContext } from './issue';

/**
 * Why a batch with a single-use claim failed, as the token endpoint says it:
 * the user is gone, or the thing was used before, in which case what that
 * first use was issued is revoked now. Anything else is not the client's doing.
 */
export async function refuseFailedClaim(context: Pick<IssueContext, 'db' | 'now'>, error: unknown, key: string, what: string): Promise<never> {
  // The person was deleted after the code was issued: nobody is left to issue to.
  if (isForeignKeyViolation(error)) throw invalidGrant(`the ${what} was issued to a user who no longer exists`);
  if (!isUniqueViolation(error)) throw error;
  const grantId = await grantOfUse(context.db, key);
  if (grantId) await revokeGrant(context.db, grantId, context.now);
  throw invalidGrant(`the ${what} was already used: the tokens issued with it are revoked`);
}

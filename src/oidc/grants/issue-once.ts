/**
 * Issuing from something that works once (an authorization code, a device
 * code): the grant is written in the same transaction as the thing's
 * single-use row, so concurrent redemptions cannot both commit; a later
 * one revokes what the first was issued (RFC 6749 §4.1.2).
 */
import type { Bridge } from '../../context';
import type { Client } from '../../store/clients';
import { isUniqueViolation } from '../../store/db';
import { revokeGrant } from '../../store/grants';
import { claimStatement, grantOfUse } from '../../store/single-use';
import { issueForNewGrant, type Authentication, type TokenResponse } from '../../tokens/issue';
import { invalidGrant } from '../errors';

export async function issueOnce(bridge: Bridge, client: Client, auth: Authentication, key: string, what: string): Promise<TokenResponse> {
  try {
    return await issueForNewGrant(bridge, client, auth, (grantId) => [claimStatement(bridge.db, key, grantId, bridge.now)]);
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const grantId = await grantOfUse(bridge.db, key);
    if (grantId) await revokeGrant(bridge.db, grantId, bridge.now);
    throw invalidGrant(`the ${what} was already used: the tokens issued with it are revoked`);
  }
}

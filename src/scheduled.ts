/**
 * What runs on the Cron Triggers of wrangler.toml `[triggers]`: the purge
 * (src/store/purge.ts), as of the time the run was scheduled for, and one
 * log line of counts (never an id nor a secret).
 */
import { getConfig, type Env } from './config';
import { database } from './store/db';
import { purge } from './store/purge';

export async function scheduled(controller: ScheduledController, env: Env): Promise<void> {
  const report = await purge(database(env.DB), getConfig(env).ttl, Math.floor(controller.scheduledTime / 1000));
  console.log(`purge ${JSON.stringify(report)}`);
}

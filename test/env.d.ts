import type { D1Migration } from 'cloudflare:test';
import type { Env as BridgeEnv } from '../src/config';

declare global {
  namespace Cloudflare {
    interface Env extends BridgeEnv {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}

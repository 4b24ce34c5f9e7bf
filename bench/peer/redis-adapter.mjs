// node-oidc-provider's storage adapter on Redis, shaped the way the library's documented
// Redis adapter example is (ioredis, one key per model instance with the library's TTL,
// consumable models kept as hashes so `consume` marks them in place, a list per grant of
// the keys issued under it for revokeByGrantId, and uid/userCode index keys). The peer
// uses it when REDIS_URL is set (bench/peer/server.mjs).
import Redis from 'ioredis';

/** Models whose instances carry a grantId: revoking the grant deletes them all. */
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
/** Models the library marks as used (one-time codes, rotating refresh tokens). */
const CONSUMABLE = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

const grantKey = (grantId) => `grant:${grantId}`;
const uidKey = (uid) => `uid:${uid}`;
const userCodeKey = (userCode) => `userCode:${userCode}`;

/** @param {string} url redis://127.0.0.1:<port> */
export function redisAdapter(url) {
  const client = new Redis(url, { keyPrefix: 'oidc:', lazyConnect: false, enableAutoPipelining: false });

  return class RedisAdapter {
    constructor(name) {
      this.name = name;
    }

    key(id) {
      return `${this.name}:${id}`;
    }

    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      const consumable = CONSUMABLE.has(this.name);
      const multi = client.multi();
      if (consumable) multi.hset(key, { payload: JSON.stringify(payload) });
      else multi.set(key, JSON.stringify(payload));
      if (expiresIn) multi.expire(key, expiresIn);
      if (GRANTABLE.has(this.name) && payload.grantId) {
        const list = grantKey(payload.grantId);
        multi.rpush(list, key);
        // The list lives as long as its longest-lived member (one more round trip, as in the example).
        const ttl = await client.ttl(list);
        if (expiresIn > ttl) multi.expire(list, expiresIn);
      }
      if (payload.userCode) multi.set(userCodeKey(payload.userCode), id, 'EX', expiresIn);
      if (payload.uid) multi.set(uidKey(payload.uid), id, 'EX', expiresIn);
      await multi.exec();
    }

    async find(id) {
      if (!id) return undefined;
      if (CONSUMABLE.has(this.name)) {
        const hash = await client.hgetall(this.key(id));
        if (!hash || !hash.payload) return undefined;
        const { payload, ...rest } = hash;
        return { ...rest, ...JSON.parse(payload), ...(rest.consumed ? { consumed: Number(rest.consumed) } : {}) };
      }
      const text = await client.get(this.key(id));
      return text ? JSON.parse(text) : undefined;
    }

    async findByUid(uid) {
      return this.find(await client.get(uidKey(uid)));
    }

    async findByUserCode(userCode) {
      return this.find(await client.get(userCodeKey(userCode)));
    }

    async destroy(id) {
      await client.del(this.key(id));
    }

    async revokeByGrantId(grantId) {
      const keys = await client.lrange(grantKey(grantId), 0, -1);
      const multi = client.multi();
      for (const key of keys) multi.del(key.replace(/^oidc:/, ''));
      multi.del(grantKey(grantId));
      await multi.exec();
    }

    async consume(id) {
      await client.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
    }

    static async quit() {
      await client.quit();
    }
  };
}

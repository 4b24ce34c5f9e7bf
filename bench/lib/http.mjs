// A small HTTP/1.1 client for the load: node:http with a keep-alive agent (one socket
// per concurrent worker), manual redirects and a per-browser cookie jar. Both servers
// are driven through exactly this code, so whatever it costs is the same on both sides.
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';

export class Http {
  /**
   * @param {string} origin the issuer, e.g. http://localhost:8787 (sent as Host)
   * @param {number} sockets keep-alive sockets to keep (the concurrency)
   * @param {number} timeoutMs per-request timeout
   * @param {{port?: number, headers?: Record<string, string>}} [options] `headers`: sent with every request
   */
  constructor(origin, sockets = 1, timeoutMs = 15_000, { port, headers = {} } = {}) {
    const url = new URL(origin);
    this.origin = origin.replace(/\/$/, '');
    this.host = url.host;
    // `port`: connect elsewhere than the origin's port (the Host header stays the origin's).
    this.port = port ?? Number(url.port || 80);
    this.headers = headers;
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, scheduling: 'lifo' });
    this.timeoutMs = timeoutMs;
    /** Every status seen, for the 5xx count. */
    this.statuses = new Map();
  }

  /**
   * @param {string} method
   * @param {string} path absolute path or URL on this origin
   * @param {{headers?: Record<string,string>, body?: string|Buffer, jar?: Jar}} [options]
   * @returns {Promise<{status: number, headers: import('node:http').IncomingHttpHeaders, body: string, json(): any}>}
   */
  request(method, path, { headers = {}, body, jar } = {}) {
    if (path.startsWith('http')) {
      const url = new URL(path);
      path = `${url.pathname}${url.search}`;
    }
    const allHeaders = { Host: this.host, ...this.headers, ...headers };
    if (jar) {
      const cookie = jar.header(path);
      if (cookie) allHeaders.Cookie = cookie;
    }
    if (body !== undefined) allHeaders['Content-Length'] = String(Buffer.byteLength(body));
    return new Promise((resolve, reject) => {
      // 127.0.0.1, not "localhost": no resolver and no IPv6-first surprises; the issuer is the Host.
      const req = httpRequest(
        { host: '127.0.0.1', port: this.port, method, path, headers: allHeaders, agent: this.agent, timeout: this.timeoutMs },
        (res) => {
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            this.statuses.set(res.statusCode, (this.statuses.get(res.statusCode) ?? 0) + 1);
            if (jar) jar.store(res.headers['set-cookie'] ?? [], path);
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: text,
              json: () => JSON.parse(text),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timeout after ${this.timeoutMs} ms: ${method} ${path}`)));
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  get(path, options) {
    return this.request('GET', path, options);
  }

  postForm(path, params, options = {}) {
    return this.request('POST', path, {
      ...options,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...options.headers },
      body: new URLSearchParams(params).toString(),
    });
  }

  postJson(path, value, options = {}) {
    return this.request('POST', path, {
      ...options,
      headers: { 'Content-Type': 'application/json', ...options.headers },
      body: JSON.stringify(value),
    });
  }

  fiveHundreds() {
    let count = 0;
    for (const [status, n] of this.statuses) if (status >= 500) count += n;
    return count;
  }

  close() {
    this.agent.destroy();
  }
}

/**
 * A browser's cookies for one origin. By default it sends every cookie it holds, as the
 * project's test browser (test/support/browser.ts) does; with `paths: true` it honours
 * the Path attribute (RFC 6265 §5.1.4) as a real browser would.
 */
export class Jar {
  constructor({ paths = false } = {}) {
    this.paths = paths;
    /** name -> {value, path} */
    this.cookies = new Map();
  }

  store(lines, requestPath) {
    for (const line of lines) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = defaultPath(requestPath);
      let expired = value === '';
      for (const attribute of attributes) {
        const [key, ...rest] = attribute.trim().split('=');
        const v = rest.join('=');
        if (/^path$/i.test(key) && v.startsWith('/')) path = v;
        if (/^max-age$/i.test(key) && Number(v) <= 0) expired = true;
        if (/^expires$/i.test(key) && Date.parse(v) < Date.now()) expired = true;
      }
      const key = this.paths ? `${name};${path}` : name;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
    }
  }

  header(requestPath) {
    const path = requestPath.split('?')[0];
    const parts = [];
    for (const { name, value, path: cookiePath } of this.cookies.values()) {
      if (this.paths && !pathMatches(path, cookiePath)) continue;
      parts.push(`${name}=${value}`);
    }
    return parts.join('; ');
  }
}

function defaultPath(requestPath) {
  const path = requestPath.split('?')[0];
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

function pathMatches(requestPath, cookiePath) {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

export const b64url = (buffer) => Buffer.from(buffer).toString('base64url');

/** RFC 7636 S256. */
export function pkce() {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  return { verifier, challenge };
}

export const basicAuth = (clientId, secret) =>
  `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** The payload of a JWT, not verified. */
export function jwtClaims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What is known of the browser or device waiting on a login, shown to the
 * person in the mini program before they approve (docs/protocol.md §5.3), so
 * that they approve only what they started. Read from the request that
 * started the login: its User-Agent, and Cloudflare's idea of where it came
 * from (absent in local development).
 */

export interface WaitingDevice {
  browser?: string;
  os?: string;
  region?: string;
}

/** First match wins: WeChat and Edge say "Chrome" and "Safari" too. */
const BROWSERS: [RegExp, string][] = [
  [/MicroMessenger/i, 'WeChat'],
  [/Edg\//, 'Edge'],
  [/OPR\/|Opera/, 'Opera'],
  [/Firefox\//, 'Firefox'],
  [/Chrome\/|Chromium\/|CriOS\//, 'Chrome'],
  [/Safari\//, 'Safari'],
  [/^curl\//, 'curl'],
  [/oidc-agent/i, 'oidc-agent'],
];

const SYSTEMS: [RegExp, string][] = [
  [/HarmonyOS/i, 'HarmonyOS'],
  [/Android/, 'Android'],
  [/iPhone|iPad|iPod/, 'iOS'],
  [/Windows/, 'Windows'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/CrOS/, 'ChromeOS'],
  [/Linux/, 'Linux'],
];

/** `cf` is Cloudflare's request metadata (IncomingRequestCfProperties), when there is any. */
export function describeWaitingDevice(userAgent: string | undefined, cf: { country?: unknown; region?: unknown; city?: unknown } | undefined): WaitingDevice {
  const ua = (userAgent ?? '').slice(0, 512);
  const place = [cf?.city, cf?.region, cf?.country].filter((part): part is string => typeof part === 'string' && part !== '');
  return {
    browser: BROWSERS.find(([pattern]) => pattern.test(ua))?.[1],
    os: SYSTEMS.find(([pattern]) => pattern.test(ua))?.[1],
    region: place.length > 0 ? place.join(', ') : undefined,
  };
}

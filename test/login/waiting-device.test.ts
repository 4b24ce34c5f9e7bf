import { describe, expect, it } from 'vitest';
import { describeWaitingDevice } from '../../src/login/waiting-device';

describe('what is known of the waiting browser or device (docs/protocol.md §5.3)', () => {
  it.each([
    ['Chrome on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36', { browser: 'Chrome', os: 'Windows' }],
    ['Edge on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36 Edg/156.0', { browser: 'Edge', os: 'Windows' }],
    ['Safari on macOS', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15', { browser: 'Safari', os: 'macOS' }],
    ['Firefox on Linux', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', { browser: 'Firefox', os: 'Linux' }],
    ["WeChat's browser on an iPhone", 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47', { browser: 'WeChat', os: 'iOS' }],
    ['Chrome on Android', 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36', { browser: 'Chrome', os: 'Android' }],
    ['curl', 'curl/8.5.0', { browser: 'curl', os: undefined }],
    ['nothing', undefined, { browser: undefined, os: undefined }],
  ])('%s', (_, userAgent, expected) => {
    expect(describeWaitingDevice(userAgent, undefined)).toEqual({ ...expected, region: undefined });
  });

  it("names the place Cloudflare knows, city first, and nothing it doesn't", () => {
    expect(describeWaitingDevice(undefined, { city: 'Shenzhen', region: 'Guangdong', country: 'CN' }).region).toBe('Shenzhen, Guangdong, CN');
    expect(describeWaitingDevice(undefined, { country: 'CN' }).region).toBe('CN');
    expect(describeWaitingDevice(undefined, { country: 42, city: '' }).region).toBeUndefined();
  });
});

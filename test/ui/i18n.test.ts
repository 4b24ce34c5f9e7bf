import { describe, expect, it } from 'vitest';
import { pickLocale, t } from '../../src/ui/i18n';

describe('pickLocale: ui_locales (OIDC Core §3.1.2.1), then Accept-Language (RFC 9110 §12.5.4)', () => {
  it('takes the first supported ui_locales tag, over Accept-Language', () => {
    expect(pickLocale('en-US zh-CN', 'zh-CN,zh;q=0.9')).toBe('en');
    expect(pickLocale('zh-CN en', 'en-US')).toBe('zh-CN');
    expect(pickLocale('fr-CA  de en-GB', 'zh')).toBe('en');
  });

  it('falls through ui_locales without a supported tag to Accept-Language', () => {
    expect(pickLocale('fr de', 'en-GB,en;q=0.8')).toBe('en');
    expect(pickLocale('', 'zh-TW')).toBe('zh-CN');
  });

  it('reads every Chinese variant as zh-CN and every English one as en', () => {
    for (const tag of ['zh', 'zh-CN', 'zh-cn', 'zh-Hans', 'zh-Hans-CN', 'zh-TW', 'zh-Hant-HK', 'ZH-SG']) {
      expect(pickLocale(tag, undefined), tag).toBe('zh-CN');
      expect(pickLocale(undefined, tag), tag).toBe('zh-CN');
    }
    for (const tag of ['en', 'en-US', 'en-GB', 'EN-au']) {
      expect(pickLocale(tag, undefined), tag).toBe('en');
      expect(pickLocale(undefined, tag), tag).toBe('en');
    }
  });

  it('orders Accept-Language by q-value, keeping the header order on ties', () => {
    expect(pickLocale(undefined, 'zh;q=0.5, en;q=0.8')).toBe('en');
    expect(pickLocale(undefined, 'en;q=0.5, zh-CN')).toBe('zh-CN');
    expect(pickLocale(undefined, 'fr, en;q=0.7, zh;q=0.7')).toBe('en');
    expect(pickLocale(undefined, 'fr, zh;q=0.7, en;q=0.7')).toBe('zh-CN');
    expect(pickLocale(undefined, 'de-DE,de;q=0.9,en-US;q=0.8,zh-CN;q=0.7')).toBe('en');
  });

  it('skips refused (q=0) and malformed entries', () => {
    expect(pickLocale(undefined, 'zh;q=0, en;q=0.1')).toBe('en');
    expect(pickLocale(undefined, 'en;q=0.000, zh;q=0.3')).toBe('zh-CN');
    expect(pickLocale(undefined, 'en;q=2, zh;q=0.3')).toBe('zh-CN');
    expect(pickLocale(undefined, 'en;q=abc, <script>, zh;q=0.3')).toBe('zh-CN');
  });

  it('falls back to zh-CN when nothing is stated, and to en when only unsupported languages are', () => {
    expect(pickLocale(undefined, undefined)).toBe('zh-CN');
    expect(pickLocale('', '')).toBe('zh-CN');
    expect(pickLocale(undefined, '*')).toBe('zh-CN');
    expect(pickLocale(undefined, 'fr-FR, de;q=0.5')).toBe('en');
    expect(pickLocale('ja', undefined)).toBe('en');
    expect(pickLocale(undefined, 'en;q=0')).toBe('zh-CN');
  });
});

describe('t', () => {
  it('has every string in both languages', () => {
    const en = t('en');
    const zh = t('zh-CN');
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    expect(en.signInTo('Acme')).toBe('Sign in to Acme');
    expect(zh.signInTo('Acme')).toBe('登录 Acme');
  });
});

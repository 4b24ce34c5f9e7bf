// What the approval screen shows, from the bridge's answer to GET /wechat/handoff/<login>
// (docs/protocol.md §5.3). A pure function with no wx.* call: the page uses it, and the
// repository renders the page's screenshot and tests it through this same function.

// What each scope gives the application (docs/protocol.md §7), in the words the person reads.
const SCOPE_WORDS = {
  openid: '你的登录身份',
  profile: '你的微信昵称和头像',
  phone: '你的手机号',
  wechat: '你的微信账号标识（openid、unionid）',
  offline_access: '持续访问（你离开后仍保持登录）',
};

// The bridge sends logo_uri and client_uri as the client registered them. Only https is
// shown: no logo over plain http, and the site as its host alone, as text to read rather
// than a link that would leave the mini program.
const HTTPS = /^https:\/\/([A-Za-z0-9.-]+(?::[0-9]+)?)(?:[/?#]|$)/;

/**
 * The page's data for one pending login. `handoff` is the JSON answer of
 * GET /wechat/handoff/<login>; `login` is the id the page was opened with, which for a
 * device login is the user code the device shows.
 */
function approvalView(handoff, login) {
  const device = handoff.device || {};
  const scopes = handoff.scopes || [];
  const isDevice = handoff.kind === 'device';
  const logo = typeof handoff.logo_uri === 'string' && HTTPS.test(handoff.logo_uri) ? handoff.logo_uri : '';
  const site = typeof handoff.client_uri === 'string' ? HTTPS.exec(handoff.client_uri) : null;
  return {
    appName: handoff.client_name || handoff.client_id,
    logo,
    site: site ? site[1].toLowerCase() : '',
    scopes: scopes.map((scope) => SCOPE_WORDS[scope] || scope),
    // getPhoneNumber is offered only to an application that asked for the number.
    askPhone: scopes.indexOf('phone') !== -1,
    waiting: isDevice ? '设备' : '浏览器',
    device: [device.browser, device.os].filter(Boolean).join(' · ') || '未知设备',
    // Where Cloudflare places the request that started the login: a city at best, often none.
    region: device.region || '',
    userCode: isDevice ? login : '',
    confirmText: isDevice
      ? '设备上显示的代码与上面的一致，是我本人刚刚发起的登录'
      : '这是我本人刚刚在上面的浏览器中发起的登录',
  };
}

module.exports = { approvalView, SCOPE_WORDS, HTTPS };

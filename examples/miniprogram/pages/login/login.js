// Shows what is waiting (GET /wechat/handoff/<login>), then approves or denies that one
// pending login of the bridge (POST /wechat/handoff), docs/protocol.md §5.3.
// The person approves only what they can see: the application, what it asks for, and the
// browser or device that waits (and, for a device, the code it shows).
const { BRIDGE_URL, APP_NAME } = require('../../config');

// The login id: at most 32 of [A-Za-z0-9_-] (it must fit a mini program code's scene).
const LOGIN_ID = /^[A-Za-z0-9_-]{1,32}$/;
// The scene of "opened from an app" (WXLaunchMiniProgram); only then may launchApp return to it.
const SCENE_FROM_APP = 1069;

const SCOPE_WORDS = {
  openid: '你的微信身份',
  profile: '昵称和头像',
  phone: '手机号',
  wechat: '微信账号标识（openid、unionid）',
  offline_access: '在你离开后继续保持登录',
};

const MESSAGES = {
  400: '微信登录失败，请重试。',
  404: '登录请求不存在或已过期，请回到原来的页面重新开始。',
  409: '这个登录请求已经处理过了。',
};

Page({
  data: {
    appName: APP_NAME,
    login: '',
    // loading | ready | busy | approved | denied | invalid
    state: 'loading',
    // What waits, as the bridge describes it: the person confirms this before approving.
    kind: '',
    scopes: [],
    device: '',
    error: '',
    fromApp: false,
  },

  onLoad(options) {
    // Scanned mini program code (wxa/getwxacodeunlimit): the id is the URL-encoded `scene`.
    // URL Scheme (wxa/generatescheme) or an app's WXLaunchMiniProgram path: `?login=<id or user_code>`.
    const login = options.scene ? decodeURIComponent(options.scene) : options.login || '';
    const enter = wx.getEnterOptionsSync ? wx.getEnterOptionsSync() : wx.getLaunchOptionsSync();
    this.setData({ login, fromApp: enter.scene === SCENE_FROM_APP, state: LOGIN_ID.test(login) ? 'loading' : 'invalid' });
    if (LOGIN_ID.test(login)) this.describe();
  },

  // GET /wechat/handoff/<login>: no credentials, nothing secret, nothing about the person.
  describe() {
    wx.request({
      url: `${BRIDGE_URL}/wechat/handoff/${this.data.login}`,
      success: (res) => {
        const body = res.data || {};
        if (res.statusCode !== 200) {
          this.setData({ state: 'invalid', error: MESSAGES[res.statusCode] || body.error_description || `HTTP ${res.statusCode}` });
          return;
        }
        const device = body.device || {};
        this.setData({
          state: 'ready',
          appName: body.client_name,
          kind: body.kind,
          scopes: (body.scopes || []).map((scope) => SCOPE_WORDS[scope] || scope),
          device: [device.browser, device.os, device.region].filter(Boolean).join(' · ') || '未知设备',
        });
      },
      fail: (err) => this.setData({ state: 'invalid', error: `网络错误：${err.errMsg}` }),
    });
  },

  approve() {
    this.handoff({});
  },

  // <button open-type="getPhoneNumber">: e.detail.code is a one-time code for the bridge
  // to read the verified number with (wxa/business/getuserphonenumber).
  approveWithPhone(e) {
    if (!e.detail.code) {
      this.setData({ error: '未获得手机号授权，可以直接点“同意”登录。' });
      return;
    }
    this.handoff({ phone_code: e.detail.code });
  },

  deny() {
    this.handoff({ deny: true });
  },

  handoff(extra) {
    if (this.data.state !== 'ready') return;
    this.setData({ state: 'busy', error: '' });
    // A wx.login code lives 5 minutes and is single use: get a fresh one for each attempt.
    wx.login({
      success: ({ code }) => {
        wx.request({
          url: `${BRIDGE_URL}/wechat/handoff`,
          method: 'POST',
          header: { 'content-type': 'application/json' },
          data: Object.assign(
            { login: this.data.login, code, appid: wx.getAccountInfoSync().miniProgram.appId },
            extra,
          ),
          success: (res) => {
            const body = res.data || {};
            if (res.statusCode === 200) {
              this.setData({ state: extra.deny ? 'denied' : 'approved', appName: body.client_name || APP_NAME });
            } else {
              this.fail(MESSAGES[res.statusCode] || body.error_description || body.error || `HTTP ${res.statusCode}`);
            }
          },
          fail: (err) => this.fail(`网络错误：${err.errMsg}`),
        });
      },
      fail: (err) => this.fail(`wx.login 失败：${err.errMsg}`),
    });
  },

  fail(message) {
    this.setData({ state: 'ready', error: message });
  },

  onLaunchAppError(e) {
    this.setData({ error: `无法返回应用：${e.detail.errMsg}` });
  },
});

// Approves (or denies) one pending login of the bridge: POST /wechat/handoff (docs/protocol.md §5.3).
const { BRIDGE_URL, APP_NAME } = require('../../config');

// The login id: at most 32 of [A-Za-z0-9_-] (it must fit a mini program code's scene).
const LOGIN_ID = /^[A-Za-z0-9_-]{1,32}$/;
// The scene of "opened from an app" (WXLaunchMiniProgram); only then may launchApp return to it.
const SCENE_FROM_APP = 1069;

const MESSAGES = {
  400: '微信登录失败，请重试。',
  404: '登录请求不存在或已过期，请回到原来的页面重新开始。',
  409: '这个登录请求已经处理过了。',
};

Page({
  data: {
    appName: APP_NAME,
    login: '',
    // ready | busy | approved | denied | invalid
    state: 'ready',
    error: '',
    fromApp: false,
  },

  onLoad(options) {
    // Scanned mini program code (wxa/getwxacodeunlimit): the id is the URL-encoded `scene`.
    // URL Scheme (wxa/generatescheme) or an app's WXLaunchMiniProgram path: `?login=<id or user_code>`.
    const login = options.scene ? decodeURIComponent(options.scene) : options.login || '';
    const enter = wx.getEnterOptionsSync ? wx.getEnterOptionsSync() : wx.getLaunchOptionsSync();
    this.setData({
      login,
      fromApp: enter.scene === SCENE_FROM_APP,
      state: LOGIN_ID.test(login) ? 'ready' : 'invalid',
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

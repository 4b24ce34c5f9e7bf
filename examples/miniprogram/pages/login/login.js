// Shows what is waiting (GET /wechat/handoff/<login>), then approves or denies that one
// pending login of the bridge (POST /wechat/handoff), docs/protocol.md §5.3.
// The person approves only what they can see and have confirmed: the application, what it
// asks for, and the browser or device that waits (and, for a device, the code it shows).
const { BRIDGE_URL, APP_NAME } = require('../../config');
const { approvalView } = require('../../utils/approval');

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
    // loading | ready | busy | approved | denied | invalid
    state: 'loading',
    // What waits, as approvalView() describes the bridge's answer.
    logo: '',
    site: '',
    scopes: [],
    askPhone: false,
    waiting: '',
    device: '',
    region: '',
    userCode: '',
    confirmText: '',
    // Approving needs the person's explicit tick that they recognise what is shown.
    confirmed: false,
    error: '',
    fromApp: false,
  },

  onLoad(options) {
    // Scanned mini program code (wxa/getwxacodeunlimit): the id is the URL-encoded `scene`.
    // URL Scheme (wxa/generatescheme) or an app's WXLaunchMiniProgram path: `?login=<id or user_code>`.
    const login = options.scene ? decodeURIComponent(options.scene) : options.login || '';
    const enter = wx.getEnterOptionsSync ? wx.getEnterOptionsSync() : wx.getLaunchOptionsSync();
    const valid = LOGIN_ID.test(login);
    this.setData({ login, fromApp: enter.scene === SCENE_FROM_APP, state: valid ? 'loading' : 'invalid' });
    if (valid) this.describe();
  },

  // GET /wechat/handoff/<login>: no credentials, nothing secret, nothing about the person.
  describe() {
    wx.request({
      url: `${BRIDGE_URL}/wechat/handoff/${this.data.login}`,
      success: (res) => {
        const body = res.data || {};
        if (res.statusCode === 200) this.setData(Object.assign({ state: 'ready' }, approvalView(body, this.data.login)));
        else this.setData({ state: 'invalid', error: MESSAGES[res.statusCode] || body.error_description || `HTTP ${res.statusCode}` });
      },
      fail: (err) => this.setData({ state: 'invalid', error: `网络错误：${err.errMsg}` }),
    });
  },

  // The client's logo is its own https URL: if it does not load, show the page without it.
  onLogoError() {
    this.setData({ logo: '' });
  },

  // <checkbox-group bindchange>: e.detail.value lists the ticked checkboxes' values.
  onConfirm(e) {
    this.setData({ confirmed: e.detail.value.indexOf('confirmed') !== -1 });
  },

  approve() {
    this.handoff({});
  },

  // <button open-type="getPhoneNumber">: e.detail.code is a one-time code for the bridge
  // to read the verified number with (wxa/business/getuserphonenumber).
  approveWithPhone(e) {
    if (!e.detail.code) {
      this.setData({ error: '未获得手机号授权，可以直接点“同意登录”。' });
      return;
    }
    this.handoff({ phone_code: e.detail.code });
  },

  // Refusing needs no confirmation: a login the person does not recognise is best denied.
  deny() {
    this.handoff({ deny: true });
  },

  handoff(extra) {
    if (this.data.state !== 'ready' || (!extra.deny && !this.data.confirmed)) return;
    this.setData({ state: 'busy', error: '' });
    // Approving and denying both prove the person with a wx.login code (docs/protocol.md §5.3).
    // A wx.login code lives 5 minutes and is single use: get a fresh one for each attempt.
    wx.login({
      success: ({ code }) => this.post(Object.assign({ code, appid: wx.getAccountInfoSync().miniProgram.appId }, extra)),
      fail: (err) => this.fail(`wx.login 失败：${err.errMsg}`),
    });
  },

  // POST /wechat/handoff
  post(fields) {
    wx.request({
      url: `${BRIDGE_URL}/wechat/handoff`,
      method: 'POST',
      header: { 'content-type': 'application/json' },
      data: Object.assign({ login: this.data.login }, fields),
      success: (res) => {
        const body = res.data || {};
        if (res.statusCode === 200) {
          this.setData({ state: fields.deny ? 'denied' : 'approved', appName: body.client_name || this.data.appName });
        } else if (res.statusCode === 404 || res.statusCode === 409) {
          // Gone or already answered: trying again cannot help.
          this.setData({ state: 'invalid', error: MESSAGES[res.statusCode] });
        } else {
          this.fail(MESSAGES[res.statusCode] || body.error_description || body.error || `HTTP ${res.statusCode}`);
        }
      },
      fail: (err) => this.fail(`网络错误：${err.errMsg}`),
    });
  },

  fail(message) {
    this.setData({ state: 'ready', error: message });
  },

  onLaunchAppError(e) {
    this.setData({ error: `无法返回应用：${e.detail.errMsg}` });
  },
});

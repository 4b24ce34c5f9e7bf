// The person's account (docs/protocol.md "Leaving"): the applications they approved
// (POST /wechat/account), withdrawing one (POST /wechat/account/revoke), and deleting the
// account (POST /wechat/account/delete). Each call proves the person with a fresh wx.login
// code; withdrawing and deleting happen only after the person confirms in a dialog.
const { BRIDGE_URL } = require('../../config');
const { accountView } = require('../../utils/account');

const MESSAGES = {
  400: '微信登录失败，请重试。',
  404: '你在这里还没有账号。',
  429: '操作太频繁，请稍后再试。',
};

Page({
  data: {
    // loading | ready | busy | none | deleted | error
    state: 'loading',
    clients: [],
    empty: true,
    error: '',
  },

  onShow() {
    this.load();
  },

  // One wx.login code per call: the bridge exchanges it with WeChat to know who asks.
  call(path, body, done) {
    const appid = wx.getAccountInfoSync().miniProgram.appId;
    wx.login({
      success: ({ code }) =>
        wx.request({
          url: `${BRIDGE_URL}/wechat/account${path}`,
          method: 'POST',
          data: Object.assign({ code, appid }, body),
          success: (res) => {
            if (res.statusCode === 200) done(res.data || {});
            else if (res.statusCode === 404 && path === '') this.setData({ state: 'none' });
            else this.setData({ state: 'error', error: MESSAGES[res.statusCode] || (res.data && res.data.error_description) || `HTTP ${res.statusCode}` });
          },
          fail: (err) => this.setData({ state: 'error', error: `网络错误：${err.errMsg}` }),
        }),
      fail: (err) => this.setData({ state: 'error', error: `微信登录失败：${err.errMsg}` }),
    });
  },

  load() {
    this.setData({ state: 'loading', error: '' });
    this.call('', {}, (answer) => this.setData(Object.assign({ state: 'ready' }, accountView(answer))));
  },

  // <button data-client-id data-name bindtap="revoke">
  revoke(e) {
    const { clientId, name } = e.currentTarget.dataset;
    wx.showModal({
      title: '取消授权',
      content: `「${name}」将不能再以你的身份访问，已登录的地方会退出。`,
      confirmText: '取消授权',
      confirmColor: '#d4380d',
      success: ({ confirm }) => {
        if (!confirm) return;
        this.setData({ state: 'busy' });
        this.call('/revoke', { client_id: clientId }, () => this.load());
      },
    });
  },

  deleteAccount() {
    wx.showModal({
      title: '注销账号',
      content: '注销后，你的账号、手机号和所有授权将被删除，所有应用中的登录立即失效，且无法恢复。再次登录将是一个新账号。',
      confirmText: '确认注销',
      confirmColor: '#d4380d',
      success: ({ confirm }) => {
        if (!confirm) return;
        this.setData({ state: 'busy' });
        this.call('/delete', {}, () => this.setData({ state: 'deleted', clients: [], empty: true }));
      },
    });
  },
});

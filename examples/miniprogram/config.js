// The bridge this mini program approves logins for: its issuer URL, no trailing slash.
// Add it to the mini program's "request legal domains" (request 合法域名) in the admin console.
// For local development (`npm start` on the bridge), use http://<your computer's LAN IP>:8787
// and tick "do not verify legal domains" (不校验合法域名) in WeChat DevTools.
module.exports = {
  BRIDGE_URL: 'https://id.example.com',
  // Shown as "登录 <APP_NAME>？"; the bridge does not tell the mini program which client is asking.
  APP_NAME: '示例应用',
};

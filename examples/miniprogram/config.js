// The bridge this mini program approves logins for: its issuer URL, no trailing slash.
// Add it to the mini program's "request legal domains" (request 合法域名) in the admin console.
// For local development (`npm start` on the bridge), use http://<your computer's LAN IP>:8787
// and tick "do not verify legal domains" (不校验合法域名) in WeChat DevTools.
module.exports = {
  BRIDGE_URL: 'https://id.example.com',
  // Shown until the bridge has said which application is asking (GET /wechat/handoff/<login>).
  APP_NAME: '示例应用',
};

// The whole app is one page, pages/login/login; see README.md.
App({});

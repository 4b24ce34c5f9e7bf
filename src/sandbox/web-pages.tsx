/**
 * The sandbox's stand-ins for WeChat's two web authorization pages
 * (docs/protocol.md §6): an Official Account's `connect/oauth2/authorize`
 * (inside WeChat's browser) and a Website App's `connect/qrconnect` (the QR
 * login on a desktop). Each checks its query as WeChat does, then lets the
 * developer be the person: approving mints a code of that kind and goes back
 * to redirect_uri with `code` and `state`, cancelling with `state` alone. The
 * development entry mounts them at SANDBOX_PATH, under the pages' headers,
 * which set the CSP nonce they render with.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import { type Env, getConfig, isLoopbackHost, type WeChatApp } from '../config';
import { type Locale, pickLocale } from '../ui/i18n';
import { Layout } from '../ui/layout';
import { MessagePage } from '../ui/message-page';
import { parseMintRequest, SANDBOX_PATH } from './routes';
import { mintCode, type SnsScope, snsScope } from './wechat-api';

type WebKind = 'officialaccount' | 'website';
type WebApp = WeChatApp & { kind: WebKind };

const isWebApp = (app: WeChatApp): app is WebApp => app.kind === 'officialaccount' || app.kind === 'website';

type PagesContext = Context<{ Bindings: Env }>;

/** What each page checks before showing anything, in WeChat's order; then what the form answers. */
type Problem = 'appid' | 'kind' | 'redirect_uri' | 'response_type' | 'scope' | 'state' | 'answer';

const STRINGS = {
  en: {
    title: { officialaccount: 'Official Account authorization', website: 'Log in with WeChat (QR code)' },
    hint: 'WeChat sandbox, development only: stands in for WeChat’s page. Choose who the person is, then approve or cancel.',
    person: 'The WeChat user',
    openid: 'openid (optional: empty is a new person)',
    unionid: 'unionid (optional)',
    nickname: 'Nickname (optional)',
    approve: 'Approve',
    cancel: 'Cancel',
    errorTitle: 'WeChat sandbox: bad request',
    leaving: 'Back to the application…',
    problems: {
      appid: 'appid is missing or not a configured WeChat app.',
      kind: 'This appid is of another kind of app: connect/oauth2/authorize takes an Official Account’s, connect/qrconnect a Website App’s.',
      redirect_uri: 'redirect_uri is missing, or not on the issuer’s origin (the domain configured for the app).',
      response_type: 'response_type must be code.',
      scope: 'scope is missing or not one this app may ask for: snsapi_base or snsapi_userinfo for an Official Account, snsapi_login for a Website App.',
      state: 'state must be at most 128 letters and digits.',
      answer: 'The form’s answer must be approve or cancel.',
    },
  },
  'zh-CN': {
    title: { officialaccount: '公众号网页授权', website: '微信扫码登录' },
    hint: '微信沙盒，仅供开发使用：代替微信的页面。选择用户，然后同意或取消。',
    person: '微信用户',
    openid: 'openid（可选，留空即新用户）',
    unionid: 'unionid（可选）',
    nickname: '昵称（可选）',
    approve: '同意',
    cancel: '取消',
    errorTitle: '微信沙盒：请求参数错误',
    leaving: '正在返回应用…',
    problems: {
      appid: 'appid 为空或不是已配置的微信应用。',
      kind: '此 appid 属于其他类型的应用：connect/oauth2/authorize 需要公众号的 appid，connect/qrconnect 需要网站应用的 appid。',
      redirect_uri: 'redirect_uri 为空，或不在签发者的域名下（即应用配置的授权回调域名）。',
      response_type: 'response_type 必须为 code。',
      scope: 'scope 为空或此应用无此权限：公众号为 snsapi_base 或 snsapi_userinfo，网站应用为 snsapi_login。',
      state: 'state 最多 128 个字母或数字。',
      answer: '表单的回答必须为同意或取消。',
    },
  },
} satisfies Record<Locale, unknown>;

interface Authorization {
  app: WebApp;
  redirectUri: string;
  scope: SnsScope;
  state: string;
}

/** WeChat takes a state of up to 128 bytes of [a-zA-Z0-9], and gives it back as it came. */
const STATE = /^[A-Za-z0-9]{0,128}$/;

/** The person this browser approved as, remembered per Official Account for a year, as WeChat remembers who used an account. */
const PERSON_MAX_AGE = 365 * 24 * 3600;

export const sandboxPages = new Hono<{ Bindings: Env }>();

// Minting identities is for a developer's own machine, as with the sandbox's other routes.
sandboxPages.use('*', async (c, next) => {
  if (!isLoopbackHost(new URL(c.req.url).hostname)) return c.notFound();
  await next();
});

sandboxPages.get('/connect/oauth2/authorize', (c) => authorize(c, 'officialaccount'));
sandboxPages.get('/connect/qrconnect', (c) => authorize(c, 'website'));

/**
 * The answer comes only from the pages' own form: hono's csrf, called inside the
 * one handler (the pages' mounting puts its headers in front of each handler of a
 * route, and a `use` would run before them, with no nonce for its error page).
 */
const sameSiteForm = csrf();

sandboxPages.post('/connect/answer', async (c) => {
  await sameSiteForm(c, async () => {});
  const form = await c.req.parseBody();
  const field = (name: string) => {
    const value = form[name];
    return typeof value === 'string' ? value : undefined;
  };
  const checked = check(c.env, undefined, {
    appid: field('appid'),
    redirect_uri: field('redirect_uri'),
    scope: field('scope'),
    state: field('state'),
  });
  if (typeof checked === 'string') return problemPage(c, STRINGS[locale(c)].problems[checked]);
  const given = (name: string) => field(name)?.trim() || undefined;
  switch (field('answer')) {
    case 'approve':
      return approve(c, checked, { openid: given('openid'), unionid: given('unionid'), nickname: given('nickname') }, leaveAfterForm);
    case 'cancel':
      return leaveAfterForm(c, returnTo(checked, undefined));
    default:
      return problemPage(c, STRINGS[locale(c)].problems.answer);
  }
});

async function authorize(c: PagesContext, kind: WebKind) {
  const checked = check(c.env, kind, c.req.query());
  if (typeof checked === 'string') return problemPage(c, STRINGS[locale(c)].problems[checked]);
  const known = kind === 'officialaccount' ? knownPerson(c, checked.app.appid) : undefined;
  // WeChat asks nothing of a person who has used the account before when the scope is snsapi_base.
  if (known && checked.scope === 'snsapi_base') return approve(c, checked, known);
  const nonce = pageNonce(c);
  return c.html(await (await AuthorizePage({ locale: locale(c), nonce, authorization: checked, known })).toString());
}

/**
 * Mints the code (a new random openid when none is given) and goes back with
 * it; an Official Account remembers the person for a later silent pass.
 */
async function approve(
  c: PagesContext,
  authorization: Authorization,
  person: Partial<Person> & { nickname?: string },
  leave: (c: PagesContext, url: string) => Response | Promise<Response> = (context, url) => context.redirect(url),
) {
  const { app, scope } = authorization;
  const code = parseMintRequest({ kind: app.kind, appid: app.appid, scope, ...person }, getConfig(c.env).wechatApps);
  if (typeof code === 'string') return problemPage(c, code);
  if (app.kind === 'officialaccount') {
    const remembered = code.unionid ? `${code.openid}.${code.unionid}` : code.openid;
    setCookie(c, personCookie(app.appid), remembered, {
      path: SANDBOX_PATH,
      httpOnly: true,
      sameSite: 'Lax',
      secure: new URL(c.req.url).protocol === 'https:',
      maxAge: PERSON_MAX_AGE,
    });
  }
  return leave(c, returnTo(authorization, await mintCode(c.env.KV, code)));
}

/**
 * Back to redirect_uri after the page's form, by a page that moves on by itself,
 * as WeChat's own page (another site) does: a redirect answering the form would
 * carry the whole way to the client under this page's CSP form-action.
 */
async function leaveAfterForm(c: PagesContext, url: string) {
  const current = locale(c);
  const leaving = STRINGS[current].leaving;
  const page = Layout({
    locale: current,
    title: leaving,
    nonce: pageNonce(c),
    children: (
      <main data-testid="sandbox-wechat-leaving">
        <p>
          <a href={url}>{leaving}</a>
        </p>
      </main>
    ),
  });
  return c.html(await (await page).toString(), 200, { Refresh: `0; url=${url}` });
}

/**
 * The page's parameters, checked as WeChat checks them: the page's own kind
 * of app (for the form's answer, that of whichever page sent it), a scope
 * that kind may ask for, a redirect_uri on the configured domain (here the
 * issuer's origin) and a state WeChat can carry back.
 */
function check(env: Env, kind: WebKind | undefined, query: Record<string, string | undefined>): Authorization | Problem {
  const app = getConfig(env).wechatApps.find((candidate) => candidate.appid === query.appid);
  if (!app) return 'appid';
  if (!isWebApp(app) || (kind !== undefined && app.kind !== kind)) return 'kind';
  const redirectUri = query.redirect_uri;
  if (!redirectUri || !sameOrigin(redirectUri, getConfig(env).issuer)) return 'redirect_uri';
  // The form does not carry response_type: its page checked it.
  if (kind && query.response_type !== 'code') return 'response_type';
  const scope = snsScope(app.kind, query.scope);
  if (!scope) return 'scope';
  const state = query.state ?? '';
  if (!STATE.test(state)) return 'state';
  return { app, redirectUri, scope, state };
}

function sameOrigin(url: string, issuer: string): boolean {
  try {
    return new URL(url).origin === new URL(issuer).origin;
  } catch {
    return false;
  }
}

/** redirect_uri with what WeChat appends to its query: the code when there is one, and the state. */
function returnTo({ redirectUri, state }: Authorization, code: string | undefined): string {
  const url = new URL(redirectUri);
  const added = new URLSearchParams(code === undefined ? { state } : { code, state }).toString();
  url.search = url.search ? `${url.search}&${added}` : added;
  return url.href;
}

interface Person {
  openid: string;
  unionid?: string;
}

const personCookie = (appid: string) => `sandbox_wechat_person_${appid}`;

/** The person this browser approved as before for `appid` (parseMintRequest checks the ids before any use). */
function knownPerson(c: PagesContext, appid: string): Person | undefined {
  const [openid, unionid] = (getCookie(c, personCookie(appid)) ?? '').split('.');
  return openid ? { openid, unionid: unionid || undefined } : undefined;
}

const locale = (c: PagesContext) => pickLocale(undefined, c.req.header('Accept-Language'));

/** The mounting app's pages headers set the nonce before the handler runs; a page without one would be a mounting mistake. */
function pageNonce(c: PagesContext): string {
  const nonce = c.get('secureHeadersNonce');
  if (!nonce) throw new Error('the sandbox pages must be served under the pages’ headers');
  return nonce;
}

/** WeChat shows an error page for a bad request and never redirects: redirect_uri may be the bad part. */
async function problemPage(c: PagesContext, message: string) {
  const current = locale(c);
  const page = MessagePage({ locale: current, title: STRINGS[current].errorTitle, message, status: 'error', nonce: pageNonce(c) });
  return c.html(await (await page).toString(), 400);
}

interface AuthorizePageProps {
  locale: Locale;
  nonce: string;
  authorization: Authorization;
  /** Prefills the form: the person a returning browser approved as. */
  known?: Person;
}

function AuthorizePage({ locale, nonce, authorization, known }: AuthorizePageProps) {
  const s = STRINGS[locale];
  const { app, redirectUri, scope, state } = authorization;
  const hidden = { appid: app.appid, redirect_uri: redirectUri, scope, state };
  return (
    <Layout locale={locale} title={s.title[app.kind]} nonce={nonce}>
      <main data-testid="sandbox-wechat-page" data-kind={app.kind}>
        <h1>{s.title[app.kind]}</h1>
        <p class="muted">{s.hint}</p>
        <p>
          appid <code data-testid="sandbox-wechat-appid">{app.appid}</code>
          <br />
          scope <code data-testid="sandbox-wechat-scope">{scope}</code>
        </p>
        <form method="post" action={`${SANDBOX_PATH}/connect/answer`}>
          {Object.entries(hidden).map(([name, value]) => (
            <input type="hidden" name={name} value={value} />
          ))}
          <fieldset>
            <legend>{s.person}</legend>
            <label for="sandbox-wechat-openid">{s.openid}</label>
            <input id="sandbox-wechat-openid" name="openid" value={known?.openid} autocomplete="off" spellcheck={false} />
            <label for="sandbox-wechat-unionid">{s.unionid}</label>
            <input id="sandbox-wechat-unionid" name="unionid" value={known?.unionid} autocomplete="off" spellcheck={false} />
            <label for="sandbox-wechat-nickname">{s.nickname}</label>
            <input id="sandbox-wechat-nickname" name="nickname" autocomplete="off" />
          </fieldset>
          <div class="actions">
            <button type="submit" class="button primary" name="answer" value="approve" data-sandbox-approve>
              {s.approve}
            </button>
            <button type="submit" class="button" name="answer" value="cancel" data-sandbox-cancel>
              {s.cancel}
            </button>
          </div>
        </form>
      </main>
    </Layout>
  );
}

/**
 * A mini program page as HTML, from its own WXML and WXSS, for a screenshot in headless
 * Chromium. Knows the few components the example uses (view, text, button, image,
 * checkbox, checkbox-group, label, block) with wx:if / wx:elif / wx:else, wx:for and
 * {{ }} bindings, and refuses anything else rather than guess. Components become `wx-*`
 * elements, as in the mini program's own web renderer, so WXSS tag selectors still
 * apply; `rpx` becomes px at a 375 px wide screen (750 rpx = 375 px). The components'
 * default looks are an approximation of the base library's (style v2).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Data } from './screenshots-page.ts';

type Node = { text: string } | { tag: string; attributes: Map<string, string>; children: Node[] };

/** The width the page is laid out for: 750 rpx. */
export const SCREEN_WIDTH = 375;

const COMPONENTS = ['view', 'text', 'button', 'image', 'checkbox-group', 'checkbox', 'label', 'block'];
/** Attributes that change only behaviour, not looks; events (bind…, catch…) too. */
const BEHAVIOUR = /^(?:(?:capture-)?(?:bind|catch)|mut-bind)|^(?:open-type|app-parameter|form-type|value|lazy-load|show-menu-by-longpress|user-select)$/;
const LOOKS: Record<string, string[]> = {
  button: ['type', 'size', 'plain', 'disabled', 'loading'],
  image: ['src', 'mode'],
  checkbox: ['checked', 'disabled'],
};
const IMAGE_MODES: Record<string, string> = { scaleToFill: 'fill', aspectFit: 'contain', aspectFill: 'cover' };

const TOKEN = /<!--[\s\S]*?-->|<\/([a-z-]+)\s*>|<([a-z-]+)((?:\s+[a-z][a-z0-9:-]*(?:="[^"]*")?)*)\s*(\/?)>|([^<]+)/y;
const ATTRIBUTE = /([a-z][a-z0-9:-]*)(?:="([^"]*)")?/g;

/** WXML to a tree; an unknown component or a malformed tag is an error. */
export function parseWxml(source: string): Node[] {
  const root: Node[] = [];
  const open: { tag: string; children: Node[] }[] = [{ tag: '', children: root }];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(source);
    if (!match) throw new Error(`WXML: cannot read from offset ${at}: ${source.slice(at, at + 40)}`);
    const [, closing, tag, attributeText = '', selfClosing, text] = match;
    const current = open.at(-1)!;
    if (text !== undefined) current.children.push({ text });
    else if (closing !== undefined) {
      if (current.tag !== closing) throw new Error(`WXML: </${closing}> closes <${current.tag}>`);
      open.pop();
    } else if (tag !== undefined) {
      if (!COMPONENTS.includes(tag)) throw new Error(`WXML: <${tag}> is not a component this renderer knows`);
      const attributes = new Map([...attributeText.matchAll(ATTRIBUTE)].map(([, name, value = '']) => [name!, value]));
      const element = { tag, attributes, children: [] };
      current.children.push(element);
      if (!selfClosing) open.push(element);
    }
  }
  if (open.length > 1) throw new Error(`WXML: <${open.at(-1)!.tag}> is never closed`);
  return root;
}

/** A WXML expression, with the page's data (and wx:for's item and index) as its names. */
function evaluate(expression: string, scope: Data): unknown {
  const names = Object.keys(scope);
  return new Function(...names, `"use strict"; return (${expression});`)(...names.map((name) => scope[name]));
}

const asText = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

/** An attribute or text with bindings: a lone `{{x}}` keeps x's value; anything else is a string. */
function bind(value: string, scope: Data): unknown {
  const lone = /^\{\{([^]*?)\}\}$/.exec(value);
  if (lone && !lone[1]!.includes('{{')) return evaluate(lone[1]!, scope);
  return value.replace(/\{\{([^]*?)\}\}/g, (_, expression: string) => asText(evaluate(expression, scope)));
}

const escape = (text: string): string => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const rpx = (css: string): string => css.replace(/(-?\d*\.?\d+)rpx/g, (_, n: string) => `${(Number(n) * SCREEN_WIDTH) / 750}px`);

function renderNodes(nodes: Node[], scope: Data): string {
  let html = '';
  // Whether the current wx:if chain has shown one of its branches (undefined: no chain open).
  let chainTaken: boolean | undefined;
  for (const node of nodes) {
    if ('text' in node) {
      if (node.text.trim() !== '') chainTaken = undefined;
      html += escape(asText(bind(node.text, scope)));
      continue;
    }
    const { attributes } = node;
    const condition = (name: string, within = scope) => Boolean(bind(attributes.get(name)!, within));
    if (attributes.has('wx:for')) {
      if (attributes.has('wx:elif') || attributes.has('wx:else')) throw new Error('WXML: wx:for with wx:elif or wx:else');
      chainTaken = undefined;
      const items = bind(attributes.get('wx:for')!, scope);
      if (!Array.isArray(items)) throw new Error(`WXML: wx:for of ${attributes.get('wx:for')} is not an array`);
      items.forEach((item: unknown, index) => {
        const itemScope = { ...scope, [attributes.get('wx:for-item') ?? 'item']: item, [attributes.get('wx:for-index') ?? 'index']: index };
        if (!attributes.has('wx:if') || condition('wx:if', itemScope)) html += renderElement(node, itemScope);
      });
      continue;
    }
    let show = true;
    if (attributes.has('wx:if')) show = chainTaken = condition('wx:if');
    else if (attributes.has('wx:elif') || attributes.has('wx:else')) {
      if (chainTaken === undefined) throw new Error(`WXML: <${node.tag}> has wx:elif or wx:else without a wx:if before it`);
      show = !chainTaken && (attributes.has('wx:else') || condition('wx:elif'));
      chainTaken = attributes.has('wx:else') ? undefined : chainTaken || show;
    } else chainTaken = undefined;
    if (show) html += renderElement(node, scope);
  }
  return html;
}

function renderElement(node: Extract<Node, { tag: string }>, scope: Data): string {
  const children = renderNodes(node.children, scope);
  if (node.tag === 'block') return children;
  let attributes = '';
  for (const [name, raw] of node.attributes) {
    if (name.startsWith('wx:') || BEHAVIOUR.test(name)) continue;
    const value = bind(raw, scope);
    if (name === 'class' || name === 'id') attributes += ` ${name}="${escape(asText(value))}"`;
    // Custom data (e.currentTarget.dataset in a handler) shows nothing, but is kept for the page to read.
    else if (name.startsWith('data-')) attributes += ` ${name}="${escape(asText(value))}"`;
    else if (name === 'style') attributes += ` style="${escape(rpx(asText(value)))}"`;
    else if (name === 'hidden') attributes += value ? ' hidden' : '';
    else if (!(LOOKS[node.tag] ?? []).includes(name)) throw new Error(`WXML: <${node.tag} ${name}> is not an attribute this renderer knows`);
    // A boolean property is on when its value is truthy, as in the runtime ("{{false}}" is off).
    else if (['plain', 'disabled', 'loading', 'checked'].includes(name)) attributes += value ? ` ${name}` : '';
    else if (name === 'src' || name === 'mode') continue;
    else attributes += ` ${name}="${escape(asText(value))}"`;
  }
  const tag = `wx-${node.tag}`;
  if (node.tag === 'image') {
    const mode = asText(bind(node.attributes.get('mode') ?? 'scaleToFill', scope));
    if (!IMAGE_MODES[mode]) throw new Error(`WXML: <image mode="${mode}"> is not a mode this renderer knows`);
    const src = escape(asText(bind(node.attributes.get('src') ?? '', scope)));
    return `<${tag}${attributes}><img src="${src}" alt="" style="object-fit: ${IMAGE_MODES[mode]}"></${tag}>`;
  }
  if (node.tag === 'checkbox') return `<${tag}${attributes}><span class="wx-checkbox-input"></span>${children}</${tag}>`;
  return `<${tag}${attributes}>${children}</${tag}>`;
}

/** WXML with the page's data, as HTML. */
export function renderWxml(source: string, data: Data): string {
  return renderNodes(parseWxml(source), data);
}

/** WXSS as CSS: rpx to px, and component selectors (`button`, `page`) to their `wx-*` elements. */
export function wxssToCss(source: string): string {
  const tags = ['page', ...COMPONENTS].sort((a, b) => b.length - a.length).join('|');
  const selector = new RegExp(`(^|[\\s,>+~(])(${tags})(?=$|[\\s,.:#[>+~{)])`, 'g');
  return rpx(source.replace(/\/\*[\s\S]*?\*\//g, '')).replace(/(^|})([^{}]+)\{/g, (_, end: string, selectors: string) => `${end}${selectors.replace(selector, '$1wx-$2')}{`);
}

/** The base library's look of the components (style v2), approximately. */
const BASE_CSS = `
html, body { margin: 0; }
body { font-family: -apple-system, "PingFang SC", "Noto Sans CJK SC", "Noto Sans", sans-serif; font-size: 16px; color: #000; background: #fff; }
wx-page { display: block; min-height: calc(100vh - 44px); }
wx-view, wx-checkbox-group { display: block; }
wx-text, wx-label { display: inline; }
wx-image { display: inline-block; width: 320px; height: 240px; overflow: hidden; }
wx-image > img { display: block; width: 100%; height: 100%; }
wx-button { position: relative; display: block; box-sizing: border-box; width: 184px; margin-left: auto; margin-right: auto;
  padding: 8px 24px; font-size: 17px; font-weight: 700; line-height: 1.41176471; text-align: center; border-radius: 8px;
  color: #06ae56; background-color: #f2f2f2; }
wx-button[type=primary] { color: #fff; background-color: #07c160; }
wx-button[type=warn] { color: #fa5151; }
wx-button[disabled] { color: rgba(0, 0, 0, 0.18); background-color: rgba(0, 0, 0, 0.05); }
wx-button[loading]::before { content: ''; display: inline-block; width: 14px; height: 14px; margin-right: 6px; vertical-align: -2px;
  border: 2px solid currentColor; border-right-color: transparent; border-radius: 50%; }
wx-checkbox { display: inline-block; flex: none; }
wx-checkbox .wx-checkbox-input { position: relative; display: inline-block; box-sizing: border-box; width: 22px; height: 22px;
  vertical-align: middle; border: 1px solid #d1d1d1; border-radius: 3px; background: #fff; }
wx-checkbox[checked] .wx-checkbox-input::after { content: ''; position: absolute; left: 7px; top: 2px; width: 5px; height: 11px;
  border: solid #07c160; border-width: 0 2px 2px 0; transform: rotate(45deg); }
wx-checkbox[disabled] .wx-checkbox-input { background: #e1e1e1; }
.wx-navigation-bar { position: relative; height: 44px; display: flex; align-items: center; justify-content: center;
  font-size: 17px; font-weight: 600; }
.wx-capsule { position: absolute; right: 7px; top: 6px; box-sizing: border-box; width: 87px; height: 32px; border-radius: 16px;
  border: 1px solid rgba(0, 0, 0, 0.12); background: rgba(255, 255, 255, 0.6); display: flex; align-items: center; }
.wx-capsule i { flex: 1; display: flex; justify-content: center; }
.wx-capsule i + i { border-left: 1px solid rgba(0, 0, 0, 0.12); height: 18px; align-items: center; }
.wx-capsule .more::before { content: ''; width: 4px; height: 4px; border-radius: 50%; background: currentColor;
  box-shadow: -7px 0 currentColor, 7px 0 currentColor; }
.wx-capsule .close::before { content: ''; width: 12px; height: 12px; border-radius: 50%; border: 2px solid currentColor;
  background: radial-gradient(currentColor 0 3px, transparent 3.5px); }
`;

/** The window settings of app.json (`window`) and of the page's own JSON that the renderer uses. */
interface Window {
  navigationBarTitleText?: string;
  navigationBarBackgroundColor?: string;
  navigationBarTextStyle?: 'black' | 'white';
}

/**
 * The whole screen of `page` (e.g. `pages/login/login`) with `data`: the navigation bar
 * as app.json and the page's JSON set it, then the page's WXML styled by its WXSS.
 */
export function renderPage(root: string, page: string, data: Data): string {
  const read = (file: string) => readFileSync(join(root, file), 'utf8');
  const window: Window = { ...(JSON.parse(read('app.json')) as { window?: Window }).window, ...(JSON.parse(read(`${page}.json`)) as Window) };
  const color = window.navigationBarTextStyle === 'white' ? '#fff' : '#000';
  const bar =
    `<div class="wx-navigation-bar" style="background: ${escape(window.navigationBarBackgroundColor ?? '#000')}; color: ${color}">` +
    `${escape(window.navigationBarTitleText ?? '')}<span class="wx-capsule"><i class="more"></i><i class="close"></i></span></div>`;
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=${SCREEN_WIDTH}">
<style>${BASE_CSS}</style>
<style>${wxssToCss(read(`${page}.wxss`))}</style>
</head><body>${bar}<wx-page>${renderWxml(read(`${page}.wxml`), data)}</wx-page></body></html>
`;
}

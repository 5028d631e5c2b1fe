// Email HTML → HTML that is safe to show in the webmail's message frame: an allowlist on
// sanitize-html drops everything active, every URL is re-checked here, and CSS goes
// through postcss and is written out from the parsed tree, so the browser sees exactly
// what was checked. The frame's CSP and sandbox (web/message-frame.ts) are the second
// line; this is the first. The URL rules: docs/design.md §3 ("Showing a message").
import { Tokenizer, type TokenizerCallbacks } from 'htmlparser2';
import postcss, { type AtRule, type ChildNode, type Declaration, type Rule } from 'postcss';
import sanitizeHtml from 'sanitize-html';
import { trimControlsAndSpaces } from '../../core/text.ts';

export interface SanitizeOptions {
  /** Remote (http/https) images may load; everything else stays blocked regardless. */
  allowRemote: boolean;
  /** URL under which the webmail serves the part with this Content-ID. */
  cidUrl(contentId: string): string;
}

export interface SanitizedHtml {
  html: string;
  /** Some remote content was removed because remote loading is not allowed. */
  remoteContentBlocked: boolean;
}

const ALLOWED_TAGS = [
  'a',
  'abbr',
  'address',
  'article',
  'aside',
  'b',
  'bdi',
  'bdo',
  'big',
  'blockquote',
  'br',
  'caption',
  'center',
  'cite',
  'code',
  'col',
  'colgroup',
  'dd',
  'del',
  'details',
  'dfn',
  'div',
  'dl',
  'dt',
  'em',
  'figcaption',
  'figure',
  'font',
  'footer',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'header',
  'hr',
  'i',
  'img',
  'ins',
  'kbd',
  'li',
  'main',
  'mark',
  'nav',
  'ol',
  'p',
  'pre',
  'q',
  's',
  'samp',
  'section',
  'small',
  'span',
  'strike',
  'strong',
  'style',
  'sub',
  'summary',
  'sup',
  'table',
  'tbody',
  'td',
  'tfoot',
  'th',
  'thead',
  'time',
  'tr',
  'tt',
  'u',
  'ul',
  'var',
  'wbr',
];

// Layout attributes of old-school email HTML; nothing here can run or load anything
// except `background`, which the transform below rewrites or removes.
const LAYOUT = ['align', 'valign', 'width', 'height', 'bgcolor', 'background'];
const ALLOWED_ATTRIBUTES: Record<string, string[]> = {
  '*': ['style', 'class', 'id', 'dir', 'lang', 'title', 'align'],
  a: ['href', 'name', 'target', 'rel'],
  img: ['src', 'alt', 'width', 'height', 'border', 'hspace', 'vspace', 'align', 'valign'],
  table: [...LAYOUT, 'border', 'cellpadding', 'cellspacing', 'summary', 'frame', 'rules'],
  td: [...LAYOUT, 'colspan', 'rowspan', 'nowrap', 'headers', 'scope', 'abbr', 'axis'],
  th: [...LAYOUT, 'colspan', 'rowspan', 'nowrap', 'headers', 'scope', 'abbr', 'axis'],
  tr: LAYOUT,
  tbody: LAYOUT,
  thead: LAYOUT,
  tfoot: LAYOUT,
  col: ['span', 'width', 'valign', 'align', 'bgcolor'],
  colgroup: ['span', 'width', 'valign', 'align', 'bgcolor'],
  div: ['bgcolor', 'width', 'height', 'valign'],
  p: ['valign'],
  font: ['color', 'face', 'size'],
  hr: ['size', 'noshade', 'width', 'color'],
  ol: ['start', 'type', 'reversed'],
  ul: ['type'],
  li: ['value', 'type'],
  time: ['datetime'],
  details: ['open'],
  caption: ['valign'],
};

// Elements whose content is not text to show when the element itself is dropped.
const NON_TEXT_TAGS = [
  'script',
  'textarea',
  'option',
  'xmp',
  'noscript',
  'title',
  'template',
  'noembed',
  'noframes',
  'iframe',
  'object',
  'embed',
  'applet',
  'select',
  'svg',
  'math',
  'plaintext',
  'frameset',
];

const LINK_PROTOCOLS = new Set(['http:', 'https:', 'mailto:', 'tel:']);
const RASTER_DATA_IMAGE = /^data:image\/(?:png|jpe?g|gif|webp|bmp|avif|x-icon|vnd\.microsoft\.icon)(?:;[a-z0-9=._+-]*)*,/i;

/** Properties whose url() is an image worth loading when remote content is allowed. */
const IMAGE_PROPERTIES = new Set(['background', 'background-image', 'list-style', 'list-style-image']);
const DENIED_PROPERTIES = new Set(['behavior', '-ms-behavior', '-moz-binding', 'binding', '-webkit-binding']);
// CSS functions that compute values; any other function (image-set(), image(),
// cross-fade(), element(), src(), attr(), var(), env(), expression(), ...) can
// load, reference or hide something, and takes its declaration with it.
const ALLOWED_FUNCTIONS = new Set([
  'rgb',
  'rgba',
  'hsl',
  'hsla',
  'hwb',
  'lab',
  'lch',
  'oklab',
  'oklch',
  'color',
  'color-mix',
  'calc',
  'min',
  'max',
  'clamp',
  'minmax',
  'repeat',
  'fit-content',
  'linear-gradient',
  'radial-gradient',
  'conic-gradient',
  'repeating-linear-gradient',
  'repeating-radial-gradient',
  'repeating-conic-gradient',
  '-webkit-linear-gradient',
  '-webkit-radial-gradient',
  '-moz-linear-gradient',
  '-moz-radial-gradient',
  '-o-linear-gradient',
  '-webkit-gradient',
  'from',
  'to',
  'color-stop',
  'matrix',
  'matrix3d',
  'translate',
  'translatex',
  'translatey',
  'translatez',
  'translate3d',
  'scale',
  'scalex',
  'scaley',
  'scalez',
  'scale3d',
  'rotate',
  'rotatex',
  'rotatey',
  'rotatez',
  'rotate3d',
  'skew',
  'skewx',
  'skewy',
  'perspective',
  'cubic-bezier',
  'steps',
  'blur',
  'brightness',
  'contrast',
  'drop-shadow',
  'grayscale',
  'hue-rotate',
  'invert',
  'opacity',
  'saturate',
  'sepia',
  'rect',
  'inset',
  'circle',
  'ellipse',
  'polygon',
  'counter',
  'counters',
]);
const ALLOWED_AT_RULES = new Set(['media', 'supports', 'keyframes', '-webkit-keyframes', '-moz-keyframes']);
const MAX_CSS_DEPTH = 16;

/** Per-call state: what was blocked, and caches for the many repeated style attributes. */
interface Context {
  options: SanitizeOptions;
  remoteBlocked: boolean;
  styleCache: Map<string, string>;
}

export function sanitizeEmailHtml(html: string, options: SanitizeOptions): SanitizedHtml {
  const context: Context = { options, remoteBlocked: false, styleCache: new Map() };
  const sanitized = sanitizeHtml(html, {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: ALLOWED_ATTRIBUTES,
    // The URLs are rewritten by transformTag; sanitize-html's scheme check stays as a second layer.
    allowedSchemes: ['http', 'https', 'data'],
    allowedSchemesByTag: { a: ['http', 'https', 'mailto', 'tel'] },
    allowedSchemesAppliedToAttributes: ['href', 'src', 'cite', 'background', 'poster', 'srcset', 'action', 'formaction'],
    allowProtocolRelative: false,
    nonTextTags: NON_TEXT_TAGS,
    disallowedTagsMode: 'discard',
    // Our transform checks style attributes with a CSS parser of its own (with url() rewriting).
    parseStyleAttributes: false,
    // <style> is allowed because email layouts depend on it; its CSS is replaced below.
    allowVulnerableTags: true,
    transformTags: {
      '*': (tagName, attribs) => transformTag(tagName, attribs, context),
    },
    parser: { Tokenizer: DepthLimitedTokenizer } as unknown as sanitizeHtml.IOptions['parser'],
  });
  return { html: sanitizeStyleElements(sanitized, context), remoteContentBlocked: context.remoteBlocked };
}

// ---- nesting depth -------------------------------------------------------

/**
 * htmlparser2 keeps its open elements in an array it unshift()s on every start tag
 * and searches on every end tag, so parsing costs depth × tags: 100,000 nested
 * elements take seconds to minutes. Chromium stops nesting at 512 anyway (deeper
 * elements become siblings), so start tags that would go deeper are dropped here,
 * between htmlparser2's tokenizer and its parser; their text stays.
 */
export const MAX_ELEMENT_DEPTH = 512;

const VOID_ELEMENTS = new Set([
  'area',
  'base',
  'basefont',
  'br',
  'col',
  'command',
  'embed',
  'frame',
  'hr',
  'img',
  'input',
  'isindex',
  'keygen',
  'link',
  'meta',
  'param',
  'source',
  'track',
  'wbr',
]);

/** The parts of htmlparser2's Parser (10.x) the depth limit reads. */
interface ParserInternals extends TokenizerCallbacks {
  stack: string[];
  getSlice(start: number, end: number): string;
}

/** Handed to htmlparser2's Parser as its Tokenizer class: the real tokenizer with filtered callbacks. */
function DepthLimitedTokenizer(options: { xmlMode?: boolean; decodeEntities?: boolean }, parser: ParserInternals): Tokenizer {
  if (!Array.isArray(parser.stack) || typeof parser.getSlice !== 'function') {
    throw new Error('htmlparser2 Parser no longer has stack/getSlice: the nesting limit cannot be applied');
  }
  let dropping = false;
  const callbacks: TokenizerCallbacks = {
    onattribdata: (start, end) => {
      if (!dropping) parser.onattribdata(start, end);
    },
    onattribentity: (codepoint) => {
      if (!dropping) parser.onattribentity(codepoint);
    },
    onattribend: (quote, end) => {
      if (!dropping) parser.onattribend(quote, end);
    },
    onattribname: (start, end) => {
      if (!dropping) parser.onattribname(start, end);
    },
    oncdata: (start, end, offset) => parser.oncdata(start, end, offset),
    onclosetag: (start, end) => parser.onclosetag(start, end),
    oncomment: (start, end, offset) => parser.oncomment(start, end, offset),
    ondeclaration: (start, end) => parser.ondeclaration(start, end),
    onend: () => parser.onend(),
    onopentagend: (end) => {
      if (dropping) dropping = false;
      else parser.onopentagend(end);
    },
    onopentagname: (start, end) => {
      if (parser.stack.length >= MAX_ELEMENT_DEPTH && !VOID_ELEMENTS.has(parser.getSlice(start, end).toLowerCase())) {
        dropping = true;
        return;
      }
      parser.onopentagname(start, end);
    },
    onprocessinginstruction: (start, end) => parser.onprocessinginstruction(start, end),
    onselfclosingtag: (end) => {
      if (dropping) dropping = false;
      else parser.onselfclosingtag(end);
    },
    ontext: (start, end) => parser.ontext(start, end),
    ontextentity: (codepoint, end) => parser.ontextentity(codepoint, end),
  };
  return new Tokenizer(options, callbacks);
}

// ---- elements and attributes ---------------------------------------------

const ALLOWED_TAG_SET = new Set(ALLOWED_TAGS);
// Set (or dropped) by transformTag itself, never copied as they came.
const REWRITTEN_ATTRIBUTES = new Set(['style', 'href', 'src', 'srcset', 'background', 'target', 'rel']);

function transformTag(tagName: string, attribs: sanitizeHtml.Attributes, context: Context): sanitizeHtml.Tag {
  // Dropped anyway: not worth checking. <style> keeps no attribute, so that
  // sanitizeStyleElements finds every one of them as a bare `<style>`.
  if (tagName === 'style' || (tagName !== 'body' && !ALLOWED_TAG_SET.has(tagName))) return { tagName, attribs: {} };
  let name = tagName;
  const result: sanitizeHtml.Attributes = {};
  for (const [key, value] of Object.entries(attribs)) {
    if (!REWRITTEN_ATTRIBUTES.has(key)) result[key] = value;
  }
  // The email's <body> becomes a <div>; its old colour attributes would be lost with it.
  let style = attribs.style ?? '';
  if (name === 'body') {
    name = 'div';
    delete result.bgcolor;
    const extra: string[] = [];
    if (attribs.bgcolor && /^#?[a-z0-9]{1,20}$/i.test(attribs.bgcolor)) extra.push(`background-color:${attribs.bgcolor}`);
    if (attribs.text && /^#?[a-z0-9]{1,20}$/i.test(attribs.text)) extra.push(`color:${attribs.text}`);
    if (extra.length > 0) style = `${extra.join(';')};${style}`;
  }
  if (style.trim() !== '') {
    const cleaned = sanitizeStyleAttribute(style, context);
    if (cleaned !== '') result.style = cleaned;
  }
  if (attribs.background !== undefined) {
    const url = imageUrl(attribs.background, context);
    if (url !== null) result.background = url;
  }
  if (name === 'img') {
    if (attribs.src !== undefined) {
      const url = imageUrl(attribs.src, context);
      if (url !== null) result.src = url;
    }
    // Candidates of srcset are never kept (src is enough); a remote one still counts as blocked.
    if (attribs.srcset !== undefined && !context.options.allowRemote && /(?:^|[\s,])(?:https?:)?\/\//i.test(attribs.srcset)) {
      context.remoteBlocked = true;
    }
  }
  if (name === 'a') {
    const href = attribs.href === undefined ? null : linkUrl(attribs.href);
    if (href !== null) result.href = href;
    result.target = '_blank';
    result.rel = 'noopener noreferrer nofollow';
  }
  return { tagName: name, attribs: result };
}

/** What a browser makes of an attribute URL before parsing it: no surrounding C0/space, no tab or newline. */
function cleanUrl(value: string): string {
  return trimControlsAndSpaces(value).replace(/[\t\n\r]/g, '');
}

function linkUrl(value: string): string | null {
  const cleaned = cleanUrl(value);
  const parsed = URL.canParse(cleaned) ? new URL(cleaned) : null;
  return parsed !== null && LINK_PROTOCOLS.has(parsed.protocol) ? parsed.href : null;
}

/**
 * The URL to keep for something that loads by itself, or null to drop it: cid: →
 * the webmail's URL for that part; raster data: images as they are; http(s) only
 * when remote content is allowed; anything else (relative URLs included, which
 * would load from the webmail itself) never.
 */
function imageUrl(value: string, context: Context): string | null {
  const cleaned = cleanUrl(value);
  if (/^cid:/i.test(cleaned)) {
    const id = cleaned.slice(4);
    if (id === '') return null;
    let decoded = id;
    try {
      decoded = decodeURIComponent(id);
    } catch {
      // A malformed escape: the Content-ID is looked up as written.
    }
    return context.options.cidUrl(decoded);
  }
  if (/^data:/i.test(cleaned)) return RASTER_DATA_IMAGE.test(cleaned) ? cleaned : null;
  const absolute = /^[\\/]{2}/.test(cleaned) ? `https:${cleaned}` : cleaned;
  const parsed = URL.canParse(absolute) ? new URL(absolute) : null;
  if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) return null;
  if (!context.options.allowRemote) {
    context.remoteBlocked = true;
    return null;
  }
  return parsed.href;
}

// ---- CSS -----------------------------------------------------------------

function sanitizeStyleAttribute(value: string, context: Context): string {
  const cached = context.styleCache.get(value);
  if (cached !== undefined) return cached;
  let cleaned = '';
  try {
    // The same wrapping sanitize-html uses; a `}` in the value only adds rules we ignore.
    const root = postcss.parse(`*{${value}}`);
    const rule = root.first;
    if (rule?.type === 'rule') {
      cleaned = rule.nodes
        .filter((node): node is Declaration => node.type === 'decl')
        .map((decl) => sanitizeDeclaration(decl, context))
        .filter((decl): decl is string => decl !== null)
        .join(';');
    }
  } catch {
    cleaned = '';
  }
  context.styleCache.set(value, cleaned);
  return cleaned;
}

/**
 * <style> elements in sanitize-html's output: their text is raw CSS (sanitize-html
 * passes it through), replaced here by the checked CSS. In that output a literal
 * `<style>` can only be an element (text and attribute values are escaped, and
 * style elements keep no attributes) and its raw text ends at the first `</style`.
 */
function sanitizeStyleElements(html: string, context: Context): string {
  if (!html.includes('<style')) return html;
  // An unclosed element (sanitize-html closes them all today) takes the rest as CSS.
  return html.replace(/<style>([\s\S]*?)(?:<\/style>|$)/g, (_match, css: string) => {
    const cleaned = sanitizeCss(css, context);
    return cleaned === '' ? '' : `<style>${cleaned}</style>`;
  });
}

/** A stylesheet on its own (what a <style> element of a message keeps). */
export function sanitizeStylesheet(css: string, options: SanitizeOptions): { css: string; remoteContentBlocked: boolean } {
  const context: Context = { options, remoteBlocked: false, styleCache: new Map() };
  return { css: sanitizeCss(css, context), remoteContentBlocked: context.remoteBlocked };
}

function sanitizeCss(css: string, context: Context): string {
  let root: postcss.Root;
  try {
    root = postcss.parse(css);
  } catch {
    // CSS postcss cannot read is dropped whole rather than guessed at.
    return '';
  }
  // `<` can only matter as the start of `</style`: escaped wherever it is (strings, selectors).
  return serializeNodes(root.nodes, context, 0).replace(/</g, '\\3c ');
}

/** Writes the accepted part of the tree; comments and unknown at-rules are left out. */
function serializeNodes(nodes: ChildNode[], context: Context, depth: number): string {
  if (depth > MAX_CSS_DEPTH) return '';
  let out = '';
  for (const node of nodes) {
    if (node.type === 'decl') {
      const decl = sanitizeDeclaration(node, context);
      if (decl !== null) out += `${decl};`;
    } else if (node.type === 'rule') {
      out += serializeRule(node, context, depth);
    } else if (node.type === 'atrule') {
      out += serializeAtRule(node, context, depth);
    }
  }
  return out;
}

function serializeRule(rule: Rule, context: Context, depth: number): string {
  const selector = rule.selector.replace(/\s+/g, ' ').trim();
  if (selector === '' || /[{};@]/.test(selector)) return '';
  const body = serializeNodes(rule.nodes, context, depth + 1);
  return body === '' ? '' : `${selector}{${body}}`;
}

function serializeAtRule(atRule: AtRule, context: Context, depth: number): string {
  const name = atRule.name.toLowerCase();
  if (!ALLOWED_AT_RULES.has(name) || atRule.nodes === undefined) return '';
  const params = atRule.params.replace(/\s+/g, ' ').trim();
  // Conditions and keyframe names never need escapes, strings or functions that load.
  if (/[\\{};@"']|url\s*\(|\/\*/i.test(params)) return '';
  const body = serializeNodes(atRule.nodes, context, depth + 1);
  return body === '' ? '' : `@${name} ${params}{${body}}`;
}

/** `prop:value[ !important]` with url() rewritten, or null to drop the declaration. */
function sanitizeDeclaration(decl: Declaration, context: Context): string | null {
  const prop = decl.prop.toLowerCase();
  if (!/^-?[a-z][a-z0-9-]*$/.test(prop) || DENIED_PROPERTIES.has(prop)) return null;
  let value = decl.value.replace(/\s+/g, ' ').trim();
  if (value === '') return null;
  // Escapes can spell any function name (`u\72l(`), comments can hide them from a
  // textual check: values with either are not worth the risk.
  if (/[\\<]|\/\*|expression|javascript:|vbscript:|@import/i.test(value)) return null;
  for (const match of value.matchAll(/([a-z_-][a-z0-9_-]*)\(/gi)) {
    const name = (match[1] ?? '').toLowerCase();
    if (name !== 'url' && !ALLOWED_FUNCTIONS.has(name)) return null;
  }
  if (/url\(/i.test(value)) {
    const rewritten = rewriteCssUrls(value, prop, context);
    if (rewritten === null) return null;
    value = rewritten;
  }
  return `${prop}:${value}${decl.important ? ' !important' : ''}`;
}

const CSS_URL = /url\(\s*(?:"([^"]*)"|'([^']*)'|([^\s"'()]*))\s*\)/gi;

/**
 * Every url() in a value replaced by an allowed URL or `none` (which keeps the rest
 * of a shorthand such as `background: #fff url(...)` working); null when a url()
 * has a form the pattern does not cover.
 */
function rewriteCssUrls(value: string, prop: string, context: Context): string | null {
  const total = value.match(/url\(/gi)?.length ?? 0;
  let seen = 0;
  const rewritten = value.replace(CSS_URL, (_match, doubleQuoted?: string, singleQuoted?: string, bare?: string) => {
    seen++;
    const raw = doubleQuoted ?? singleQuoted ?? bare ?? '';
    const isImage = IMAGE_PROPERTIES.has(prop);
    const cleaned = cleanUrl(raw);
    const remote = /^(?:https?:)?[\\/]{2}/i.test(cleaned);
    if (remote && !isImage) {
      if (!context.options.allowRemote) context.remoteBlocked = true;
      return 'none';
    }
    const url = imageUrl(raw, context);
    return url === null ? 'none' : `url("${cssUrlText(url)}")`;
  });
  return seen === total ? rewritten : null;
}

/** A URL inside url("..."): nothing that could end the string or the declaration. */
function cssUrlText(url: string): string {
  return url.replace(/["'()\\\s<>]/g, (char) => `%${char.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}

// ---- plain text ----------------------------------------------------------

const BLOCK_END =
  /<\/(?:p|div|h[1-6]|li|tr|table|blockquote|pre|ul|ol|dl|dt|dd|section|article|header|footer|address|figure|figcaption|caption|details|summary|center)>|<br \/>|<hr \/>/g;

/**
 * Readable text of HTML this module produced, for replies and the text view of an
 * HTML-only message. Only valid on sanitizeEmailHtml output: there tags never hold
 * a raw `>` and text holds no entities but &amp; &lt; &gt;.
 */
export function sanitizedHtmlToText(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/g, '')
    .replace(BLOCK_END, '\n')
    .replace(/<\/t[dh]>/g, '\t')
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\u00a0/g, ' ')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

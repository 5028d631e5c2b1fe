// The email HTML sanitizer, one category at a time: active content, URL schemes,
// links, remote content (blocked and allowed), cid: rewriting, CSS in style
// attributes and <style> blocks, nesting depth and speed. The browser tests
// (test/system/scenarios/browser, test/corpus) show the same output is inert in Chromium.
import { describe, expect, it } from 'vitest';
import {
  MAX_ELEMENT_DEPTH,
  type SanitizeOptions,
  sanitizedHtmlToText,
  sanitizeEmailHtml,
  sanitizeStylesheet,
} from '../../../../../lambdas/adapters/mime/html-sanitizer.ts';

const blocked: SanitizeOptions = { allowRemote: false, cidUrl: (cid) => `/m/7/cid/${encodeURIComponent(cid)}` };
const allowed: SanitizeOptions = { ...blocked, allowRemote: true };

function clean(html: string, options = blocked): string {
  return sanitizeEmailHtml(html, options).html;
}

/** Deepest element nesting of sanitizer output (its tags are well-formed). */
function depthOf(html: string): number {
  let depth = 0;
  let deepest = 0;
  for (const match of html.matchAll(/<(\/?)([a-z0-9]+)[^>]*?(\/?)>/g)) {
    if (match[1] === '/') depth--;
    else if (match[3] !== '/') deepest = Math.max(deepest, ++depth);
  }
  return deepest;
}

describe('sanitizeEmailHtml: active content', () => {
  it.each([
    ['script', '<p>a</p><script>alert(1)</script><p>b</p>', '<p>a</p><p>b</p>'],
    [
      'event handlers',
      '<p onclick="alert(1)" onmouseover=alert(2)>a</p><img src="cid:x" onerror="alert(3)">',
      '<p>a</p><img src="/m/7/cid/x" />',
    ],
    [
      'forms and inputs',
      '<form action="https://evil.example/"><input name="q" value="v"><textarea>t</textarea><select><option>o</option></select><button formaction="x">b</button></form>',
      'b',
    ],
    [
      'iframes, objects, embeds, applets',
      '<iframe src="https://evil.example/"></iframe><object data="x.swf"><param name="a"></object><embed src="x.swf"><applet code="x"></applet>',
      '',
    ],
    [
      'svg and math with script',
      '<svg onload="alert(1)"><script>alert(2)</script><a xlink:href="javascript:alert(3)"><text>svg text</text></a></svg><math><maction actiontype="statusline">m</maction></math>',
      '',
    ],
    [
      'meta, base, link, title',
      '<meta http-equiv="refresh" content="0;url=https://evil.example/"><base href="https://evil.example/"><link rel="stylesheet" href="https://evil.example/x.css"><title>t</title><p>p</p>',
      '<p>p</p>',
    ],
    [
      'noscript, template, xmp, plaintext',
      '<noscript><img src=x onerror=alert(1)></noscript><template><script>alert(1)</script></template><xmp><script>alert(1)</script></xmp>',
      '',
    ],
    [
      'comments and conditional comments',
      '<!--[if IE]><script>alert(1)</script><![endif]--><p>a</p><!-- <img src=x onerror=alert(1)> -->',
      '<p>a</p>',
    ],
    [
      'style expressions and bindings',
      '<div style="width:expression(alert(1));behavior:url(x.htc);-moz-binding:url(x.xml#x);color:red">a</div>',
      '<div style="color:red">a</div>',
    ],
  ])('removes %s', (_name, input, expected) => {
    // Act
    const output = clean(input);

    // Assess
    expect(output).toBe(expected);
  });

  it('escapes text and attribute values so nothing becomes markup again', () => {
    // Prepare: markup-looking text from entities, and quotes in an attribute.
    const input =
      '<p title="a&quot; onmouseover=&quot;alert(1)">&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#60;img src=x onerror=alert(1)&#62;</p>';

    // Act
    const output = clean(input);

    // Assess
    expect(output).toBe(
      '<p title="a&quot; onmouseover=&quot;alert(1)">&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;</p>',
    );
  });
});

describe('sanitizeEmailHtml: URL schemes and links', () => {
  it.each([
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    ' \u0001javascript:alert(1)',
    'java\tscript:alert(1)',
    'java&#x09;script:alert(1)',
    '&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)',
    'vbscript:msgbox(1)',
    'data:text/html,<script>alert(1)</script>',
    'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
    'file:///etc/passwd',
    '/relative/path',
    '#fragment',
  ])('drops the link target %j but keeps the text', (href) => {
    // Act
    const output = clean(`<a href="${href}">text</a>`);

    // Assess
    expect(output).toBe('<a target="_blank" rel="noopener noreferrer nofollow">text</a>');
  });

  it('keeps http(s), mailto and tel links, opening in a new tab without opener, referrer or endorsement', () => {
    // Act
    const output = clean(
      '<a href="HTTPS://Example.com/a b?x=1&amp;y=2" target="_self" rel="opener">w</a><a href="mailto:max@corp.test?subject=Hi">m</a><a href="tel:+4930123">t</a>',
    );

    // Assess
    expect(output).toBe(
      '<a href="https://example.com/a%20b?x=1&amp;y=2" target="_blank" rel="noopener noreferrer nofollow">w</a>' +
        '<a href="mailto:max@corp.test?subject=Hi" target="_blank" rel="noopener noreferrer nofollow">m</a>' +
        '<a href="tel:+4930123" target="_blank" rel="noopener noreferrer nofollow">t</a>',
    );
  });

  it('keeps raster data: images and drops SVG and other data: images', () => {
    // Act
    const output = clean(
      '<img alt="png" src="data:image/png;base64,iVBORw0KGgo="><img alt="jpeg" src="DATA:image/jpeg;base64,/9j/4AAQ">' +
        '<img alt="svg" src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"><img alt="html" src="data:text/html,x">',
    );

    // Assess
    expect(output).toBe(
      '<img alt="png" src="data:image/png;base64,iVBORw0KGgo=" /><img alt="jpeg" src="DATA:image/jpeg;base64,/9j/4AAQ" /><img alt="svg" /><img alt="html" />',
    );
  });
});

describe('sanitizeEmailHtml: remote content', () => {
  it.each([
    ['img src', '<img src="https://tracker.example/open.gif" alt="a">'],
    ['protocol-relative img src', '<img src="//tracker.example/open.gif" alt="a">'],
    ['entity-encoded img src', '<img src="&#104;ttp://tracker.example/open.gif" alt="a">'],
    ['img srcset', '<img srcset="https://tracker.example/a.png 1x, https://tracker.example/b.png 2x" alt="a">'],
    [
      'background attribute',
      '<table background="http://tracker.example/bg.png"><tr><td background="https://tracker.example/td.png">a</td></tr></table>',
    ],
    ['body background', '<body background="https://tracker.example/body.png">a</body>'],
    ['style attribute url()', '<div style="background-image: url(\'https://tracker.example/bg.png\')">a</div>'],
    ['style attribute shorthand', '<div style="background:#fff url(https://tracker.example/bg.png) no-repeat">a</div>'],
    ['style block url()', '<style>.a{background:url("https://tracker.example/bg.png")}</style><p class="a">a</p>'],
    ['style block list image', '<style>li{list-style:url(//tracker.example/dot.png) disc}</style><ul><li>a</li></ul>'],
    ['cursor url()', '<p style="cursor:url(https://tracker.example/c.cur),auto">a</p>'],
  ])('blocks %s and reports it', (_name, input) => {
    // Act
    const result = sanitizeEmailHtml(input, blocked);

    // Assess
    expect(result.html).not.toContain('tracker.example');
    expect(result.remoteContentBlocked).toBe(true);
  });

  it('never loads from the webmail itself through relative URLs, and does not count them as remote', () => {
    // Act
    const result = sanitizeEmailHtml(
      '<img src="/logout" alt="a"><img src="delete?id=1" alt="b"><div style="background:url(/api/x)">c</div><table background="../x.png"><tr><td>d</td></tr></table>',
      blocked,
    );

    // Assess
    expect(result.html).toBe('<img alt="a" /><img alt="b" /><div style="background:none">c</div><table><tr><td>d</td></tr></table>');
    expect(result.remoteContentBlocked).toBe(false);
  });

  it('reports nothing blocked for a message without remote content', () => {
    // Act
    const result = sanitizeEmailHtml('<p style="color:red">plain</p><img src="cid:a" alt="x">', blocked);

    // Assess
    expect(result.remoteContentBlocked).toBe(false);
  });

  it('lets http(s) images load when allowed, and still nothing else', () => {
    // Act
    const result = sanitizeEmailHtml(
      '<img src="//img.example/a.png" alt="a"><table background="http://img.example/bg.png"><tr><td style="background:url(https://img.example/td.png)">x</td></tr></table>' +
        '<style>@import url(https://img.example/x.css);@font-face{font-family:f;src:url(https://img.example/f.woff)}.b{background-image:url(https://img.example/b.png)}</style>' +
        '<p style="cursor:url(https://img.example/c.cur),auto">c</p><img srcset="https://img.example/s.png 2x" alt="s"><script src="https://img.example/x.js"></script>',
      allowed,
    );

    // Assess
    expect(result.remoteContentBlocked).toBe(false);
    expect(result.html).toBe(
      '<img alt="a" src="https://img.example/a.png" /><table background="http://img.example/bg.png"><tr><td style="background:url(&quot;https://img.example/td.png&quot;)">x</td></tr></table>' +
        '<style>.b{background-image:url("https://img.example/b.png");}</style>' +
        '<p style="cursor:none,auto">c</p><img alt="s" />',
    );
  });
});

describe('sanitizeEmailHtml: cid: parts', () => {
  it('rewrites cid: in img src, background attributes, style attributes and style blocks', () => {
    // Act
    const output = clean(
      '<img src="cid:logo@sender.example" alt="l"><td background="CID:bg%40sender.example">x</td>' +
        '<div style="background:url(cid:a%20b@x)">y</div><style>.h{background-image:url(\'cid:hero@x\')}</style><img src="cid:" alt="empty">',
    );

    // Assess: percent-decoded Content-IDs, handed to cidUrl (which encodes them again).
    expect(output).toBe(
      '<img alt="l" src="/m/7/cid/logo%40sender.example" /><td background="/m/7/cid/bg%40sender.example">x</td><div style="background:url(&quot;/m/7/cid/a%20b%40x&quot;)">y</div>' +
        '<style>.h{background-image:url("/m/7/cid/hero%40x");}</style><img alt="empty" />',
    );
  });
});

describe('sanitizeEmailHtml: CSS', () => {
  it('keeps ordinary email CSS, media queries and !important', () => {
    // Act
    const output = clean(
      '<style>body { color: #222 } @media (max-width: 600px) { .col { width: 100% !important; display: block } } .btn:hover > a { text-decoration: underline }</style>',
    );

    // Assess
    expect(output).toBe(
      '<style>body{color:#222;}@media (max-width: 600px){.col{width:100% !important;display:block;}}.btn:hover > a{text-decoration:underline;}</style>',
    );
  });

  it.each([
    ['@import', '@import url(https://evil.example/x.css); @import "x.css";'],
    ['@font-face', '@font-face { font-family: x; src: url(x.woff) }'],
    ['@charset and @namespace', '@charset "utf-7"; @namespace svg url(http://www.w3.org/2000/svg);'],
    ['expression()', 'p { width: expression(alert(1)) }'],
    ['behavior and -moz-binding', 'p { behavior: url(x.htc); -moz-binding: url(x.xml#x) }'],
    ['escaped url(', 'p { background: \\75 rl(https://evil.example/x.png) }'],
    ['escaped expression', 'p { width: e\\78 pression(alert(1)) }'],
    ['comments inside values', 'p { background: u/**/rl(https://evil.example/x.png) }'],
    ['image-set()', 'p { background-image: image-set("https://evil.example/x.png" 1x) }'],
    ['var(), attr() and custom properties', 'p { --x: url(https://evil.example/x.png); background: var(--x); content: attr(title) }'],
    ['javascript: in url()', 'p { background: url(javascript:alert(1)) }'],
    ['unparseable CSS', 'p { color: red'],
  ])('drops %s', (_name, css) => {
    // Act
    const result = sanitizeStylesheet(css, blocked);

    // Assess
    expect(result.css).toBe('');
  });

  it('cannot be broken out of: a `<` in CSS is escaped, and style elements keep no attributes', () => {
    // Act
    const output = clean(
      '<style media="x" onload="alert(1)">p::after { content: "</style><img src=x onerror=alert(1)>" }</style><style>a{color:red}</style>',
    );

    // Assess: the first element ends at its `</style` (as in a browser); its CSS is then broken and dropped.
    expect(output).toContain('<style>a{color:red;}</style>');
    expect(output).not.toContain('onerror=alert(1)>');
    expect(output).not.toContain('onload');
    const css = sanitizeStylesheet('p::after { content: "<\\/style>" } q::before { content: "</style>" }', blocked).css;
    expect(css).not.toContain('<');
  });

  it('filters style attributes declaration by declaration', () => {
    // Act
    const output = clean(
      '<p style="color: red; position: fixed; background: url(javascript:alert(1)); font-family: \'Segoe UI\', Arial; margin: 0 auto !important">a</p><p style="}">b</p>',
    );

    // Assess: a declaration that mentions javascript: goes whole.
    expect(output).toBe('<p style="color:red;position:fixed;font-family:\'Segoe UI\', Arial;margin:0 auto !important">a</p><p>b</p>');
  });
});

describe('sanitizeEmailHtml: structure and cost', () => {
  it('turns the body into a div that keeps its colours', () => {
    // Act
    const output = clean(
      '<html><head><title>t</title></head><body bgcolor="#000000" text="#ffffff" onload="alert(1)"><p>a</p></body></html>',
    );

    // Assess
    expect(output).toBe('<div style="background-color:#000000;color:#ffffff"><p>a</p></div>');
  });

  it('flattens nesting beyond the browser limit quickly, keeping the text', () => {
    // Prepare: 100,000 nested elements (htmlparser2 alone needs seconds for this).
    const input = `${'<div><span>'.repeat(50_000)}deep text`;

    // Act
    const started = performance.now();
    const output = clean(input);
    const milliseconds = performance.now() - started;

    // Assess
    expect(milliseconds).toBeLessThan(1_000);
    expect(depthOf(output)).toBeLessThanOrEqual(MAX_ELEMENT_DEPTH);
    expect(output).toContain('deep text');
  });

  it('copes with stray end tags under a deep stack and deeply nested CSS quickly', () => {
    // Prepare
    const strays = `${'<b>'.repeat(600)}${'</x>'.repeat(300_000)}`;
    const css = `<style>${'@media screen{'.repeat(5_000)}p{color:red}${'}'.repeat(5_000)}</style>`;

    // Act
    const started = performance.now();
    clean(strays);
    const output = clean(css);
    const milliseconds = performance.now() - started;

    // Assess
    expect(milliseconds).toBeLessThan(1_500);
    expect(output).toBe('');
  });

  it('derives readable text from sanitized HTML', () => {
    // Prepare
    const html = clean(
      '<style>p{color:red}</style><h1>Title</h1><p>One &amp; two &lt;three&gt;</p><table><tr><td>a</td><td>b</td></tr></table><p>x<br>y</p>',
    );

    // Act
    const text = sanitizedHtmlToText(html);

    // Assess
    expect(text).toBe('Title\nOne & two <three>\na\tb\n\nx\ny');
  });
});

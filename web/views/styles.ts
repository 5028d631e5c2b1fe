// The webmail's one stylesheet, served from /static under a content hash (so it can be
// cached for a year). Kept in code rather than a file so the Lambda bundle carries it.
// System fonts only; no external fonts or CDNs. Colours meet WCAG AA contrast.
import { createHash } from 'node:crypto';

export const STYLESHEET = `
:root{--fg:#1a1a1a;--muted:#4a4a4a;--bg:#fff;--panel:#f3f4f6;--line:#c4c7cc;--accent:#0b57d0;--accent-fg:#fff;--danger:#b3261e;--focus:#b3261e;color-scheme:light}
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
a:hover{text-decoration-thickness:2px}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip-link{position:absolute;left:.5rem;top:-3rem;padding:.5rem 1rem;background:var(--bg);color:var(--fg);border:2px solid var(--focus);z-index:10}
.skip-link:focus{top:.5rem}
.visually-hidden{position:absolute!important;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.site-header{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem 1rem;padding:.75rem 1rem;border-bottom:1px solid var(--line);background:var(--panel)}
.site-header .brand{font-weight:700;color:var(--fg);text-decoration:none}
.site-header .brand small{font-weight:400;color:var(--muted);margin-left:.5rem}
.site-header nav ul{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;margin:0;padding:0}
.account{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem}
.account form{margin:0}
main{max-width:72rem;margin:0 auto;padding:1rem}
main:focus{outline:none}
.narrow{max-width:40rem}
h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
.site-footer{max-width:72rem;margin:2rem auto 0;padding:1rem;color:var(--muted);font-size:.875rem;border-top:1px solid var(--line)}
.button,button{display:inline-block;min-height:2.75rem;padding:.5rem 1rem;font:inherit;line-height:1.75rem;color:var(--accent-fg);background:var(--accent);border:2px solid var(--accent);border-radius:4px;text-decoration:none;cursor:pointer}
.button.secondary,button.secondary{color:var(--accent);background:var(--bg)}
.button.danger,button.danger{background:var(--danger);border-color:var(--danger)}
.button:hover,button:hover{filter:brightness(.92)}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input,select,textarea{width:100%;max-width:40rem;min-height:2.75rem;padding:.5rem;font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--muted);border-radius:4px}
input[type=checkbox],input[type=radio]{width:auto;min-height:0}
textarea{min-height:12rem}
table{width:100%;border-collapse:collapse}
th,td{padding:.5rem;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}
.notice{padding:.75rem 1rem;margin:1rem 0;border-left:4px solid var(--accent);background:var(--panel)}
.notice.warning{border-left-color:var(--danger)}
.admin-message{white-space:pre-wrap}
.status-normal{border-left-color:#1e7d32}
@media (max-width:40rem){main{padding:.75rem}.site-header{padding:.5rem .75rem}th,td{padding:.4rem .25rem}}
.site-header nav a{display:inline-block;min-height:2.75rem;padding:.6rem .25rem}
.site-header nav a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}
.mailbox-line{color:var(--muted);margin:-.5rem 0 1rem}
.search{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem;margin:0 0 1rem}
.search label{flex:0 0 100%;margin:0}
.search input{flex:1 1 14rem;width:auto}
.search-clear{display:inline-block;min-height:2.75rem;padding:.6rem 0}
.message-list{list-style:none;margin:0;padding:0;border-top:1px solid var(--line)}
.message-list li{border-bottom:1px solid var(--line)}
.message-list a{display:grid;grid-template-columns:minmax(8rem,16rem) minmax(0,1fr) auto;gap:.1rem 1rem;align-items:baseline;min-height:2.75rem;padding:.6rem .5rem;color:var(--fg);text-decoration:none}
.message-list a:hover{background:var(--panel)}
.message-list a:hover .subject{text-decoration:underline}
.message-list .from,.message-list .subject,.message-list .snippet{min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.message-list .date{color:var(--muted);font-size:.875rem;white-space:nowrap}
.message-list .snippet{grid-column:2/4;color:var(--muted);font-size:.875rem}
.message-list .unread .from,.message-list .unread .subject{font-weight:700}
.message-list .unread .from::before{content:"";display:inline-block;width:.6rem;height:.6rem;margin-right:.4rem;border-radius:50%;background:var(--accent)}
.badge{display:inline-block;margin-left:.5rem;padding:0 .35rem;border:1px solid var(--muted);border-radius:3px;font-size:.75rem;font-weight:400;color:var(--muted);vertical-align:.1em}
.badge.warning{border-color:var(--danger);color:var(--danger)}
.empty{padding:1rem 0;color:var(--muted)}
.pager ul{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;list-style:none;margin:1rem 0;padding:0}
.pager a{display:inline-block;min-height:2.75rem;padding:.6rem 0}
.back a{display:inline-block;min-height:2.75rem;padding:.6rem 0}
.message h1{overflow-wrap:anywhere}
.message-headers{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.25rem 1rem;margin:0 0 1rem}
.message-headers dt{font-weight:600;color:var(--muted)}
.message-headers dd{margin:0;overflow-wrap:anywhere}
.toolbar{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem;margin:1rem 0 .25rem}
.toolbar form{margin:0}
.toolbar .button{text-align:center}
.hint{color:var(--muted);font-size:.875rem;margin:.25rem 0}
.message-frame{display:block;width:100%;margin:1rem 0;border:1px solid var(--line);border-radius:4px;background:#fff}
.message-frame:not(.fitted){height:70vh;min-height:20rem}
.message-frame.fitted{min-height:3rem;max-height:70vh}
.console{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:0 2rem}
.console dt{font-weight:600;margin-top:.5rem}
.console dd{margin:0;overflow-wrap:anywhere}
.console #console-audit{grid-column:1/-1}
.console table{width:100%;border-collapse:collapse}
.console th,.console td{text-align:left;vertical-align:top;padding:.25rem .5rem .25rem 0;border-bottom:1px solid var(--line)}
.attachments ul{list-style:none;margin:0;padding:0}
.attachments li{padding:.25rem 0;border-bottom:1px solid var(--line);overflow-wrap:anywhere}
.attachments a{display:inline-block;min-height:2.75rem;padding:.6rem 0}
.compose{max-width:40rem}
.compose fieldset{margin:1rem 0;padding:.5rem 1rem;border:1px solid var(--line);border-radius:4px}
.compose legend{font-weight:600;padding:0 .25rem}
.from-line .label{font-weight:600;margin-right:.5rem}
label.checkbox{display:flex;align-items:center;gap:.75rem;min-height:2.75rem;margin:0;font-weight:400;overflow-wrap:anywhere}
label.checkbox input{width:1.25rem;height:1.25rem;flex:none}
input[type=file]{padding:.4rem}
.field-error{color:var(--danger);font-weight:600;margin:.25rem 0}
[aria-invalid=true]{border:2px solid var(--danger)}
.error-summary{margin:1rem 0;padding:.75rem 1rem;border:3px solid var(--danger);border-radius:4px}
.error-summary h2{margin-top:0}
.error-summary a{color:var(--danger);font-weight:600}
.actions{display:flex;flex-wrap:wrap;align-items:center;gap:1rem;margin:1.5rem 0}
.actions a{display:inline-block;min-height:2.75rem;padding:.6rem 0}
@media (max-width:43.75rem){
.message-list a{grid-template-columns:minmax(0,1fr) auto}
.message-list .subject,.message-list .snippet{grid-column:1/3}
.message-headers{grid-template-columns:minmax(0,1fr)}
.message-headers dd{margin-bottom:.5rem}
.toolbar>a,.toolbar>form,.toolbar button{flex:1 1 auto}
.toolbar button{width:100%}
.message-frame:not(.fitted){height:65vh}
.search button{flex:1 1 auto}
}
@media (prefers-reduced-motion:reduce){*{transition:none!important;animation:none!important}}
`.trim();

export const STYLESHEET_HASH = createHash('sha256').update(STYLESHEET).digest('hex').slice(0, 12);
export const STYLESHEET_PATH = `/static/shadowmail.${STYLESHEET_HASH}.css`;

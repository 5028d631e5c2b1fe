// The pages' only scripts, each allowed by its hash in that page's CSP (never
// 'unsafe-inline'). They improve a page and are never needed: without them the same
// forms work and the server (or S3's policy) enforces the same rule.
import { createHash } from 'node:crypto';

/**
 * The upload page: refuses a file larger than the form takes before a byte is sent,
 * with the message (from the form's data attributes, so it is translated) in the page's
 * role="alert" region; the upload form's policy at S3 enforces the same limit anyway.
 */
export const UPLOAD_SIZE_CHECK = `(function () {
  var form = document.getElementById('upload-form');
  var input = document.getElementById('file');
  var alert = document.getElementById('upload-alert');
  if (!form || !input || !alert) return;
  var max = Number(form.getAttribute('data-max-bytes'));
  function megabytes(bytes) {
    return new Intl.NumberFormat(document.documentElement.lang || 'en', { maximumFractionDigits: 1 }).format(bytes / 1000000) + ' MB';
  }
  function check(event) {
    var file = input.files && input.files[0];
    if (file && file.size > max) {
      if (event) event.preventDefault();
      alert.textContent = form.getAttribute('data-too-large').replace('{name}', file.name).replace('{size}', megabytes(file.size));
      alert.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      return;
    }
    alert.hidden = true;
    alert.textContent = '';
    input.removeAttribute('aria-invalid');
  }
  input.addEventListener('change', function () { check(null); });
  form.addEventListener('submit', check);
})();`;

/**
 * The admin console's first page: reloads itself (to the URL that carries the backlog for
 * the trend) after the seconds its refresh note names, unless the admin stopped it (then
 * the note has no URL). A script rather than a meta refresh, which assistive technology
 * reports as a timed refresh; without script the page carries the meta refresh in <noscript>.
 */
export const CONSOLE_RELOAD = `(function () {
  var note = document.getElementById('refresh-note');
  if (!note) return;
  var url = note.getAttribute('data-refresh-url');
  var seconds = Number(note.getAttribute('data-refresh-seconds'));
  if (!url || url.charAt(0) !== '/' || url.charAt(1) === '/' || !(seconds > 0)) return;
  setTimeout(function () { window.location.replace(url); }, seconds * 1000);
})();`;

/** The CSP source of a script: 'sha256-<base64>' without the quotes. */
export function scriptHash(script: string): string {
  return `sha256-${createHash('sha256').update(script, 'utf8').digest('base64')}`;
}

// The upload page of a saved draft: one file, posted by the browser straight to the
// store (S3 in AWS) with the presigned form's fields, the file last as S3 requires.
// A script allowed by its hash checks the size first and says so in role="alert";
// without it, the form's policy refuses the file at S3 and the draft is kept anyway.
import { raw } from 'hono/html';
import type { UploadForm } from '../../../lambdas/ports/draft-store.ts';
import type { Translate } from '../../i18n/index.ts';
import { UPLOAD_SIZE_CHECK } from '../scripts.ts';
import { formatSize } from './common.tsx';

export interface AttachViewProps {
  t: Translate;
  lang: string;
  form: UploadForm;
  maxBytes: number;
  backHref: string;
}

export function AttachView(props: AttachViewProps) {
  const { t } = props;
  const max = formatSize(t, props.maxBytes, props.lang);
  return (
    <>
      <h1>{t('attach.title')}</h1>
      <div class="error-summary" id="upload-alert" role="alert" hidden></div>
      <p>{t('attach.intro', { size: max })}</p>
      <form
        id="upload-form"
        method="post"
        action={props.form.url}
        enctype="multipart/form-data"
        data-max-bytes={String(props.maxBytes)}
        data-too-large={t('attach.tooLarge', { name: '{name}', size: '{size}', max })}
      >
        {props.form.fields.map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        <label for="file">{t('attach.file')}</label>
        <input id="file" name="file" type="file" required aria-describedby="file-hint" />
        <p class="hint" id="file-hint">
          {t('attach.noScriptHint')}
        </p>
        <div class="actions">
          <button type="submit">{t('attach.upload')}</button>
          <a href={props.backHref}>{t('attach.back')}</a>
        </div>
      </form>
      <script>{raw(UPLOAD_SIZE_CHECK)}</script>
    </>
  );
}

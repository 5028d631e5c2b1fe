// The ingest bundle as deployed (built by the stack's MailFunction): it carries the ingest
// path and not the other functions' code — each message waits for its cold start — nor the
// package parts MailFunction's BUNDLE_ALIASES replace, it parses mail as the unbundled
// parser does, and its stack traces still name our TypeScript (source maps on, as in CloudWatch).
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbMessageIndex } from '../../../../lambdas/adapters/aws/dynamodb-message-index.ts';
import { createMessageTable } from '../../../../lambdas/adapters/aws/message-table.ts';
import { S3RawMailStore } from '../../../../lambdas/adapters/aws/s3-raw-mail-store.ts';
import { MailparserMimeParser } from '../../../../lambdas/adapters/mime/mailparser-mime-parser.ts';
import { LEFT_OUT } from '../../../../lambdas/bundle/left-out.ts';
import { ENV } from '../../../../lambdas/contract/environment.ts';
import { buildReceiptNotification, wrapInSnsEnvelope } from '../../../../lambdas/handlers/ses-receipt-event.ts';
import { startFakeAws } from '../../../support/cli-deployed-aws-fakes.ts';
import { startDynalite } from '../../../support/dynamodb-servers.ts';
import { buildFunctionBundle, bundledPackages, bundleSources, invokeBundle, sqsRecord, tail } from '../../../support/lambda-bundle.ts';
import { expectNoWebmailNorCommonJsSdk, expectSourceMappedStack, expectZodMiniOnly } from '../../../support/pipeline-bundle-checks.ts';
import { startS3rver } from '../../../support/s3rver.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
const CDK_CONTEXT = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

let work: string;
let bundle: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shadowmail-ingest-bundle-'));
  bundle = await buildFunctionBundle('lambdas/entry/ingest.ts', CDK_CONTEXT, work);
}, 120_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the ingest bundle', () => {
  it('holds the ingest path: the MIME parser and the clients it calls, nothing of the webmail, the relay or other clients', async () => {
    // Act
    const sources = await bundleSources(bundle);

    // Assess
    const packages = bundledPackages(sources);
    for (const needed of ['mailparser', 'zod', '@aws-sdk/client-dynamodb', '@aws-sdk/client-s3', '@aws-sdk/client-sqs']) {
      expect(packages).toContain(needed);
    }
    expectNoWebmailNorCommonJsSdk(sources);
    expect([...packages].filter((name) => ['nodemailer', '@aws-sdk/client-ses', '@aws-sdk/client-secrets-manager'].includes(name))).toEqual(
      [],
    );
    expect(sources.filter((source) => /^lambdas\/adapters\/(smtp|oidc)\//.test(source))).toEqual([]);
    expectZodMiniOnly(sources);
    // BUNDLE_ALIASES: mailparser's display helpers, he's tables, the credential chain past the environment
    const leftOut = [
      'html-to-text',
      'htmlparser2',
      'entities',
      'linkify-it',
      'tlds',
      'he',
      '@aws-sdk/credential-provider-ini',
      '@aws-sdk/nested-clients',
    ];
    expect([...packages].filter((name) => leftOut.includes(name))).toEqual([]);
    expect(sources.filter((source) => source.startsWith('lambdas/bundle/')).sort()).toEqual(
      ['credential-provider-node', 'he', 'html-to-text', 'iconv-lite', 'left-out', 'linkify-it', 'tlds'].map(
        (name) => `lambdas/bundle/${name}.ts`,
      ),
    );
  });

  it('indexes mail as the unbundled parser summarizes it — HTML, links, attached messages, CJK charsets — and never reaches a stand-in', async () => {
    // Prepare: the table in dynalite, the messages in s3rver, the forward queue behind the SQS fake
    const messages = corpusLikeMessages();
    const [dynalite, aws, s3rver] = await Promise.all([startDynalite(), startFakeAws(), startS3rver(['raw-mail'])]);
    const dynamo = makeDynamoDbClient(dynalite.endpoint);
    try {
      await createMessageTable(dynamo, 'shadowmail-table');
      const rawStore = new S3RawMailStore(s3rver.client);
      const forwardQueue = `${aws.endpoint}/123456789012/shadowmail-forward`;
      aws.addQueue(forwardQueue);
      const records = [];
      for (const [i, [name, raw]] of messages.entries()) {
        const id = `msg-${String(i).padStart(4, '0')}`;
        await rawStore.put({ bucket: 'raw-mail', key: `raw/${id}` }, raw);
        const notification = buildReceiptNotification({
          sesMessageId: id,
          receivedAt: new Date(),
          envelopeFrom: 'partner@example.org',
          envelopeRecipients: ['alice@corp.test'],
          bucket: 'raw-mail',
          key: `raw/${id}`,
          headers: [],
          commonHeaders: {},
        });
        records.push({ id, name, raw, record: sqsRecord(id, wrapInSnsEnvelope(notification, `sns-${id}`)) });
      }
      const variables = {
        [ENV.tableName]: 'shadowmail-table',
        [ENV.forwardQueueUrl]: forwardQueue,
        [ENV.sourceQueueUrl]: `${aws.endpoint}/123456789012/shadowmail-consumed`,
        AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
        AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${s3rver.port}`,
        AWS_ENDPOINT_URL_SQS: aws.endpoint,
        // s3rver checks signatures made with its own key; dynalite and the fake take any.
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        POWERTOOLS_METRICS_DISABLED: 'true',
      };

      // Act
      const outcome = await invokeBundle(
        bundle,
        variables,
        { Records: records.map((r) => r.record) },
        { workDir: work, timeoutMs: 60_000 },
      );

      // Assess: every message indexed with the summary the real packages give, and no stand-in was called
      expect(outcome.result, tail(outcome.stderr + outcome.stdout)).toEqual({ batchItemFailures: [] });
      expect(outcome.stdout + outcome.stderr).not.toContain(LEFT_OUT);
      const index = new DynamoDbMessageIndex({ client: dynamo, tableName: 'shadowmail-table' });
      const parser = new MailparserMimeParser();
      for (const { id, name, raw } of records) {
        const indexed = await index.getMessage(id, new Date());
        // A message the parser refuses is indexed from SES's headers, with the parser's reason.
        const expected = await parser.summarize(Readable.from([raw])).catch((error: unknown) => error as Error);
        if (expected instanceof Error) expect(indexed?.summary.parseError, name).toBe(expected.message);
        else expect(indexed?.summary, name).toEqual(expected);
      }
      const subjects = new Map(
        await Promise.all(records.map(async ({ id, name }) => [name, (await index.getMessage(id, new Date()))?.summary.subject] as const)),
      );
      expect(subjects.get('gbk')).toBe('季度数字，你好');
      expect(subjects.get('gb18030')).toBe('€ 与 𠀀 季度');
      expect(subjects.get('big5')).toBe('季度數字');
      expect(subjects.get('iso-2022-jp')).toBe('こんにちは');
      const snippets = await Promise.all(records.map(async ({ id }) => (await index.getMessage(id, new Date()))?.summary.snippet));
      expect(snippets[messages.findIndex(([name]) => name === 'gbk')]).toContain('你好，世界');
      expect(snippets[messages.findIndex(([name]) => name === 'gb18030')]).toContain('欧元 € 和 𠀀');
    } finally {
      dynamo.destroy();
      await Promise.all([dynalite.stop(), aws.close(), s3rver.close()]);
    }
  });

  it('names the original .ts file and line in the stack of an error thrown inside it', async () => {
    await expectSourceMappedStack(bundle, { Records: [] }, work);
  });
});

const b64Word = (charset: string, text: string) => `=?${charset}?B?${iconv.encode(text, charset).toString('base64')}?=`;

function message(headers: string[], body: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${headers.join('\r\n')}\r\n\r\n`, 'latin1'), typeof body === 'string' ? Buffer.from(body) : body]);
}

/**
 * test/fixtures/mime and messages of the kinds the stand-ins sit beside: text and HTML with
 * links (linkify-it, html-to-text), an attached message in a message with HTML (mailparser's
 * header table, he), addresses with specials and non-ASCII names (he), GBK, GB18030 and Big5
 * bodies and encoded words (iconv-lite's double-byte codecs), ISO-2022-JP (encoding-japanese).
 */
function corpusLikeMessages(): [string, Buffer][] {
  const fixtures = join(ROOT, 'test/fixtures/mime');
  const files = readdirSync(fixtures)
    .filter((file) => file.endsWith('.eml'))
    .sort()
    .map((file): [string, Buffer] => [file, readFileSync(join(fixtures, file))]);
  const common = ['To: "Alice <& Co>" <alice@corp.test>', 'Date: Fri, 20 Nov 2026 10:00:00 +0000', 'MIME-Version: 1.0'];
  const alternative = message(
    [
      'From: =?UTF-8?Q?Ren=C3=A9_=F0=9F=98=80?= <rene@partner.test>',
      ...common,
      'Subject: Links <b>&</b> more',
      'Content-Type: multipart/alternative; boundary="alt"',
    ],
    [
      '--alt',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'See https://example.com/a?b=c&d and www.example.org, mail bob@example.net or @handle.',
      '--alt',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>See <a href="https://example.com/a?b=c&amp;d">the link</a> &amp; www.example.org</p>',
      '--alt--',
      '',
    ].join('\r\n'),
  );
  const htmlWithAttachedMessage = message(
    ['From: Partner <partner@example.org>', ...common, 'Subject: Fwd: numbers', 'Content-Type: multipart/mixed; boundary="mix"'],
    [
      '--mix',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<html><body><p>The forwarded mail is attached: https://example.com/x</p></body></html>',
      '--mix',
      'Content-Type: message/rfc822',
      '',
      'From: "O\'Brien, Seán" <sean@old.example>',
      'To: Bob <bob@corp.test>',
      `Subject: =?UTF-8?B?${Buffer.from('Zahlen <Q3> & "Übersicht" 😀').toString('base64')}?=`,
      'Date: Thu, 19 Nov 2026 09:00:00 +0000',
      'Content-Type: multipart/alternative; boundary="inner"',
      '',
      '--inner',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Inner text with http://inner.example/link',
      '--inner',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>Inner <b>HTML</b></p>',
      '--inner--',
      '--mix--',
      '',
    ].join('\r\n'),
  );
  const htmlOnly = message(
    ['From: News <news@partner.test>', ...common, 'Subject: HTML only', 'Content-Type: text/html; charset=utf-8'],
    '<html><head><style>p{color:red}</style></head><body><p>Hello &amp; welcome, visit https://example.com &mdash; now</p></body></html>\r\n',
  );
  const gbk = message(
    [
      `From: ${b64Word('GB2312', '张伟')} <zhang@partner.cn>`,
      ...common,
      `Subject: ${b64Word('GB2312', '季度数字，你好')}`,
      'Content-Type: text/plain; charset=gb2312',
      'Content-Transfer-Encoding: base64',
    ],
    `${iconv.encode('你好，世界。季度数字见附件。'.repeat(40), 'gbk').toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n`,
  );
  const gb18030Body = iconv.encode('欧元 € 和 𠀀 字符。'.repeat(30), 'gb18030');
  const gb18030 = message(
    [
      'From: Li <li@partner.cn>',
      ...common,
      `Subject: ${b64Word('GB18030', '€ 与 𠀀 季度')}`,
      'Content-Type: text/plain; charset=gb18030',
      'Content-Transfer-Encoding: 8bit',
    ],
    Buffer.concat([gb18030Body, Buffer.from('\r\n')]),
  );
  const big5 = message(
    ['From: Chen <chen@partner.tw>', ...common, `Subject: ${b64Word('Big5', '季度數字')}`, 'Content-Type: text/html; charset=big5'],
    Buffer.concat([iconv.encode('<p>你好，世界。季度數字。</p>', 'big5'), Buffer.from('\r\n')]),
  );
  // ISO-2022-JP: こんにちは, in the subject and the body
  const jis = '\x1b$B$3$s$K$A$O\x1b(B';
  const iso2022jp = message(
    [
      'From: Tanaka <tanaka@partner.jp>',
      ...common,
      `Subject: =?ISO-2022-JP?B?${Buffer.from(jis, 'latin1').toString('base64')}?=`,
      'Content-Type: text/plain; charset=iso-2022-jp',
    ],
    Buffer.from(`${jis}\r\n`, 'latin1'),
  );
  return [
    ...files,
    ['alternative', alternative],
    ['html-with-attached-message', htmlWithAttachedMessage],
    ['html-only', htmlOnly],
    ['gbk', gbk],
    ['gb18030', gb18030],
    ['big5', big5],
    ['iso-2022-jp', iso2022jp],
  ];
}

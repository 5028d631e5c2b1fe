// The CDK app: `npx cdk synth` / `npx cdk deploy --all` (see cdk.json). The
// configuration comes from the context key `shadowmail` or from
// `-c shadowmail.config=path.json`; a wrong one stops here with its key named.
import { App } from 'aws-cdk-lib';
import { loadConfig, ShadowmailConfigError } from '../lib/config.ts';
import { buildShadowmail } from '../lib/shadowmail-app.ts';

const app = new App();
try {
  buildShadowmail(app, loadConfig(app.node));
} catch (error) {
  if (!(error instanceof ShadowmailConfigError)) throw error;
  process.stderr.write(`shadowmail config: ${error.message}\n`);
  process.exit(1);
}
app.synth();

// zod's mini API for the schemas on the Lambda functions' path: the classic `z` namespace
// keeps ~450 KB of zod in a bundle (every locale), compiled at each cold start
// (bench/README.md, Lambda bundles); the mini API's functions tree-shake as long as the
// namespace is only read (`import * as z from './zod-mini.ts'`, never passed on whole).
// zod/mini loads no locale, so its messages would all read "Invalid input": the English
// ones, the classic API's, are set here, once for every schema.
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';

// zod's mini API for the schemas on the Lambda functions' path: the classic `z` namespace
// keeps ~450 KB of zod in a bundle (every locale), compiled at each cold start
// (bench/README.md, Lambda bundles); the mini API's functions tree-shake. zod/mini
// loads no locale, so its messages would all read "Invalid input": the English ones,
// the classic API's, are set here, once for every schema.
import { en } from 'zod/locales';
import * as z from 'zod/mini';

z.config(en());

export { z };

import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  if (process.env.RECORD_IMPORTS) appendFileSync(process.env.RECORD_IMPORTS, `${specifier}\n`);
  return next(specifier, context);
}

// Preloaded with --import: records every module specifier the program resolves into $RECORD_IMPORTS.
import { register } from 'node:module';

register('./record-imports-hooks.mjs', import.meta.url);

/** `--busy-timeout`: how long the tools that open a live SQLite database wait for another connection's lock. */
import { Option } from '@commander-js/extra-typings';
import { durationArg } from '../cli/values.js';

/** Long enough for an application's write transactions; a snapshot is one read transaction. */
const DEFAULT_BUSY_TIMEOUT_MS = 30_000;

export function busyTimeoutOption(what: string) {
  return new Option('--busy-timeout <duration>', what).argParser(durationArg('--busy-timeout')).default(DEFAULT_BUSY_TIMEOUT_MS, '30s');
}

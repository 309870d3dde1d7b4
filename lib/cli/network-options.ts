/** `--retry-budget`: how long every network call of a run keeps retrying transient failures. */
import { Option, type Command, type OptionValues } from '@commander-js/extra-typings';
import { DEFAULT_BACKOFF, type BackoffPolicy } from '../network/backoff.js';
import { formatDuration } from './format.js';
import { durationArg } from './values.js';

/** The flag, for every binary that talks to a server or a remote location. */
export function addNetworkOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(program: Command<A, O, G>) {
  return program.addOption(
    new Option('--retry-budget <duration>', `how long network calls keep retrying transient failures (default ${formatDuration(DEFAULT_BACKOFF.budgetMs)})`).argParser(durationArg('--retry-budget')),
  );
}

/** The backoff of a run: the shared policy, its total time bounded by --retry-budget when given. */
export function retryPolicy(budgetMs: number | undefined): BackoffPolicy {
  return { ...DEFAULT_BACKOFF, budgetMs: budgetMs ?? DEFAULT_BACKOFF.budgetMs };
}

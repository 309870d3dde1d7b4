/** A worker thread checking its share of a restored tree against the content index (see tree-check.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { IntegrityError } from '../cli/errors.js';
import { checkShare, type CheckShare } from './tree-check.js';

try {
  parentPort!.postMessage({ result: checkShare(workerData as CheckShare) });
} catch (error) {
  parentPort!.postMessage({ error: (error as Error).message, integrity: error instanceof IntegrityError });
}

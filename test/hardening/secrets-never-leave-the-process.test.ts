/**
 * A password or token never leaves the process — not in an error line, a warning, a stack trace, a ping body
 * or a report — whichever way it arrived: URL userinfo (with a raw '@' or a space in it), a URL's query,
 * a conninfo string, the password variables, or the contents of their _FILEs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/fixtures.js';
import { startCapture, type CaptureServer } from '../support/http-capture.js';
import { runBin } from '../support/run-bin.js';

const SECRET = 'Hunter2-Sup3rSecret';
/** Every fragment an imperfect redaction could leave behind. */
const FRAGMENTS = [SECRET, 'Sup3rSecret', 'Hunter2', 'p@ss', 'ss@w0rd', 'w0rd', 'pa ss'];

// Connection strings that carry the secret in each way, all pointing at a closed port or malformed on purpose.
const URLS = [
  `postgres://u@127.0.0.1:1/db?password=${SECRET}`,
  `postgres://u@127.0.0.1:bad/db?password=${SECRET}`, // not a valid URL: the message must not echo it
  `postgres://u:${SECRET}p@ss@w0rd@127.0.0.1:bad/db`, // a raw '@' in the password
  `postgres://u:pa ss ${SECRET}@127.0.0.1:1/db`, // a raw space
  `host=127.0.0.1 port=1 user=u password=${SECRET}`,
  `host=127.0.0.1 port=1 user=u password='${SECRET} w0rd`, // an unterminated quote
];

let hc: CaptureServer;
let backups: string;
beforeAll(async () => {
  hc = await startCapture();
  backups = tempDir('secret-backups');
});
afterAll(async () => {
  await hc.close();
});

function expectClean(...texts: string[]) {
  for (const text of texts) for (const fragment of FRAGMENTS) expect(text).not.toContain(fragment);
}

const FAST = ['--retry-budget', '0s', '--verbose'];

describe('secrets in connection strings', () => {
  it.each(URLS)('never in any tool\'s output: %s', async (url) => {
    const runs = await Promise.all([
      runBin('pg-backup', ['--to', backups, '--dbname', url, ...FAST]),
      runBin('pg-backup', ['--to', backups, ...FAST], { env: { DATABASE_URL: url } }),
      runBin('restore-backup', ['--from', backups, '--to-db', url, ...FAST]),
      runBin('snapshot-dry-run', ['--from', backups, '--target', url, ...FAST]),
      runBin('restore-drill', ['--from', backups, '--dbname', url, ...FAST]),
    ]);
    for (const run of runs) {
      expect(run.exitCode).not.toBe(0);
      expectClean(run.stdout, run.stderr);
    }
  });

  it('never in a healthchecks ping body or the passed-through stderr of a wrapped command', async () => {
    const dir = tempDir('secret-files');
    writeFileSync(join(dir, 'pgpass'), `${SECRET}-from-file\n`);
    writeFileSync(join(dir, 'redispass'), 'redis-Secret-From-File\n');
    const script = [
      `echo "pg-backup: cannot connect: postgres://u:${SECRET}p@ss@w0rd@db.internal:5432/app" >&2`,
      `echo "libpq: host=db password=${SECRET}-conninfo user=u" >&2`,
      `echo "from the file: $(cat ${dir}/pgpass) and $(cat ${dir}/redispass)" >&2`,
      'exit 1',
    ].join('; ');
    hc.requests.length = 0;
    const result = await runBin('heartbeat', ['run', '--type', 'postgres', '--healthchecks', `${hc.url}/ping/x`, '--', 'sh', '-c', script], {
      env: { PGPASSWORD_FILE: join(dir, 'pgpass'), REDIS_PASSWORD_FILE: join(dir, 'redispass') },
    });
    expect(result.exitCode).toBe(1);
    const body = hc.requests.at(-1)!.body;
    for (const text of [body, result.stderr]) {
      expectClean(text);
      expect(text).not.toContain('-conninfo');
      expect(text).not.toContain('redis-Secret-From-File');
    }
    expect(body).toContain('postgres://u:***@db.internal:5432/app'); // the host is no secret; all of the password is
  });

  it('never in a ping body built from piped lines', async () => {
    hc.requests.length = 0;
    const result = await runBin('heartbeat', ['--type', 'postgres', '--healthchecks', `${hc.url}/ping/y`], {
      input: `pg-backup: cannot connect to postgres://u:${SECRET}p@ss@w0rd@h/db?password=${SECRET}\n`,
    });
    expect(result.exitCode).toBe(1);
    expectClean(hc.requests.at(-1)!.body, result.stderr);
  });
});

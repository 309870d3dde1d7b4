// The programs the test suite starts or calls, from Debian's packages. Run first by `npm test`: when one is
// missing and this runs as root with apt-get, it installs them (saying what); otherwise it fails with the one
// line that installs them. The suite never skips a test because a server is missing.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const onPath = (command) =>
  (process.env.PATH ?? '').split(delimiter).filter(Boolean).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
const serverInstalled = () => {
  const root = '/usr/lib/postgresql';
  return existsSync(root) && readdirSync(root).some((major) => existsSync(join(root, major, 'bin', 'initdb')) && existsSync(join(root, major, 'bin', 'postgres')));
};

// [Debian package, is it there?] — the servers the tests start, the tools pg-backup and the tests call.
const wanted = [
  ['postgresql', serverInstalled],
  ['postgresql-client', () => onPath('pg_dump')],
  ['redis-server', () => onPath('redis-server')],
  ['zstd', () => onPath('zstd')],
  // The stock CLI the tests open every SQLite artifact with (the toolbox itself needs no sqlite3).
  ['sqlite3', () => onPath('sqlite3')],
  // The stock age CLI: encrypted artifacts must open with it, and what it encrypts must restore.
  ['age', () => onPath('age')],
  ['procps', () => onPath('pgrep')],
  ['mount', () => onPath('mount')],
  ['prometheus', () => onPath('promtool')],
  ['prometheus-pushgateway', () => onPath('prometheus-pushgateway')],
  // A certificate for backup-api's TLS test.
  ['openssl', () => onPath('openssl')],
];
const missing = wanted.filter(([, present]) => !present()).map(([pkg]) => pkg);
if (missing.length === 0) process.exit(0);

const line = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
const isRoot = process.getuid?.() === 0;
if (!isRoot || !onPath('apt-get')) {
  console.error(`test: missing ${missing.join(', ')}; install with: ${isRoot ? '' : 'sudo '}${line}`);
  process.exit(1);
}
console.error(`test: installing ${missing.join(' ')} (apt-get, as root)`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
try {
  execFileSync('apt-get', ['update', '-qq'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env, stdio: ['ignore', 'ignore', 'inherit'] });
} catch (error) {
  console.error(`test: installing failed (${error.message.split('\n')[0]}); install by hand: ${line}`);
  process.exit(1);
}
const still = wanted.filter(([pkg, present]) => missing.includes(pkg) && !present()).map(([pkg]) => pkg);
if (still.length > 0) {
  console.error(`test: ${still.join(', ')} still missing after apt-get; install by hand: ${line}`);
  process.exit(1);
}

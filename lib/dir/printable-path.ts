/**
 * A path (bytes) for a message: as text when it is UTF-8, else each byte that is not ASCII as `\xNN`; quoted,
 * and cut at 300 characters. (Control characters are escaped by the log line itself.)
 */
export function printablePath(path: Buffer): string {
  const text = path.toString('utf8');
  const shown = Buffer.from(text, 'utf8').equals(path) ? text : path.toString('latin1').replace(/[\x80-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`);
  return `'${shown.length > 300 ? `${shown.slice(0, 300)}…` : shown}'`;
}

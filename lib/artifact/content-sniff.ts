/**
 * Names what a byte sequence looks like, for the message a content check gives when an artifact is not in
 * the format it expected (a wrapper script's text, still-compressed bytes, another tool's file). Messages
 * never carry raw untrusted bytes: {@link escapeBytes} shows a few of them escaped.
 */

const SIGNATURES: readonly { bytes: readonly number[]; at?: number; name: string }[] = [
  { bytes: [0x1f, 0x8b], name: 'gzip-compressed data' },
  { bytes: [0x28, 0xb5, 0x2f, 0xfd], name: 'zstd-compressed data' },
  { bytes: [0x04, 0x22, 0x4d, 0x18], name: 'lz4-compressed data' },
  { bytes: [0x42, 0x5a, 0x68], name: 'bzip2-compressed data' },
  { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], name: 'xz-compressed data' },
  { bytes: [...Buffer.from('PGDMP')], name: 'a pg_dump custom archive' },
  { bytes: [...Buffer.from('--\n-- PostgreSQL database dump\n')], name: 'a pg_dump plain SQL script' },
  { bytes: [...Buffer.from('--\n-- PostgreSQL database cluster dump\n')], name: 'a pg_dumpall script' },
  { bytes: [...Buffer.from('REDIS')], name: 'a Redis RDB file' },
  { bytes: [...Buffer.from('SQLite format 3\0', 'latin1')], name: 'an SQLite database' },
  { bytes: [...Buffer.from('ustar')], at: 257, name: 'a tar archive' },
];

function startsWith(lead: Buffer, bytes: readonly number[], at: number): boolean {
  if (lead.length < at + bytes.length) return false;
  return bytes.every((b, i) => lead[at + i] === b);
}

function isText(lead: Buffer): boolean {
  for (const b of lead.subarray(0, 256)) {
    if (b === 0x09 || b === 0x0a || b === 0x0d) continue;
    if (b < 0x20 || b === 0x7f) return false;
  }
  return true;
}

/**
 * What the first bytes of some content look like, followed by a few of them escaped, e.g.
 * `gzip-compressed data (starts with "\x1f\x8b\x08\x00…")`. `lead` should be the first few hundred bytes
 * (fewer are fine). Never throws.
 */
export function describeBytes(lead: Buffer): string {
  const shown = `starts with ${escapeBytes(lead, 16)}`;
  const known = SIGNATURES.find((s) => startsWith(lead, s.bytes, s.at ?? 0));
  if (known) return `${known.name} (${shown})`;
  if (isText(lead)) {
    const sql = /^\s*(--|\/\*|SET |CREATE |BEGIN|INSERT |COPY |SELECT |\\)/i.test(lead.subarray(0, 64).toString('latin1'));
    return `${sql ? 'SQL text' : 'text'} (${shown})`;
  }
  return `nothing recognisable (${shown})`;
}

/**
 * At most `max` bytes as a quoted, escaped string: printable ASCII as is, `\n` `\r` `\t` `\"` `\\`, all
 * else `\xNN`; "…" when cut.
 */
export function escapeBytes(bytes: Buffer, max = 16): string {
  let out = '';
  for (const b of bytes.subarray(0, max)) {
    if (b === 0x0a) out += '\\n';
    else if (b === 0x0d) out += '\\r';
    else if (b === 0x09) out += '\\t';
    else if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += '\\\\';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `"${out}${bytes.length > max ? '…' : ''}"`;
}

/**
 * A string from untrusted bytes that is safe to put in a manifest or a message: decoded as UTF-8, control
 * characters escaped, cut to `max` characters.
 */
export function printableText(bytes: Buffer, max = 200): string {
  const text = bytes.toString('utf8');
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

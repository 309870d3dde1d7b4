/**
 * A small ustar writer and member lister for tests: archives built member by member (with the odd parts
 * real tars can have: base-256 sizes, pax and GNU long-name headers), and the offsets of a real archive's
 * members, to damage or cut one.
 */

const BLOCK = 512;

export interface TarMember {
  name: string;
  /** The data; a string is UTF-8. */
  data?: Buffer | string;
  /** The type flag: '0' (default) file, '5' directory, '2' symbolic link, or any other byte. */
  type?: string;
  linkname?: string;
  /** Writes the size field in GNU base-256, as tar does for files of 8 GiB and more. */
  base256Size?: boolean;
  /** How the name reaches the reader when it does not fit the 100-byte field. */
  longName?: 'pax' | 'gnu';
  /** More pax records for this member. */
  pax?: Record<string, string>;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** One 512-byte header with its checksum. `name` is written as bytes (latin1) so tests can use any byte. */
export function tarHeader(options: { name: string; size: number; type?: string; linkname?: string; base256Size?: boolean }): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(options.name.slice(0, 100), 0, 'latin1');
  h.write(octal(0o600, 8), 100, 'latin1');
  h.write(octal(1000, 8), 108, 'latin1');
  h.write(octal(1000, 8), 116, 'latin1');
  if (options.base256Size) {
    h[124] = 0x80;
    let v = BigInt(options.size);
    for (let i = 135; i > 124; i--, v >>= 8n) h[i] = Number(v & 0xffn);
  } else {
    h.write(octal(options.size, 12), 124, 'latin1');
  }
  h.write(octal(1_780_000_000, 12), 136, 'latin1');
  h.write(options.type ?? '0', 156, 'latin1');
  if (options.linkname) h.write(options.linkname.slice(0, 100), 157, 'latin1');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  h.write('postgres', 265, 'latin1');
  h.write('postgres', 297, 'latin1');
  h.write(octal(0, 8), 329, 'latin1');
  h.write(octal(0, 8), 337, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function padded(data: Buffer): Buffer[] {
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return pad ? [data, Buffer.alloc(pad)] : [data];
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

/** One member: its extended headers, header, data and padding. */
export function tarMember(member: TarMember): Buffer {
  const data = typeof member.data === 'string' ? Buffer.from(member.data) : (member.data ?? Buffer.alloc(0));
  const parts: Buffer[] = [];
  let name = member.name;
  const pax: Record<string, string> = { ...member.pax };
  if (Buffer.byteLength(name, 'latin1') > 100 && member.longName === 'gnu') {
    const long = Buffer.from(`${name}\0`, 'latin1');
    parts.push(tarHeader({ name: '././@LongLink', size: long.length, type: 'L' }), ...padded(long));
    name = name.slice(0, 100);
  } else if (Buffer.byteLength(name, 'latin1') > 100 || member.longName === 'pax') {
    pax.path = name;
    name = name.slice(0, 100);
  }
  if (Object.keys(pax).length > 0) {
    const records = Buffer.from(Object.entries(pax).map(([k, v]) => paxRecord(k, v)).join(''));
    parts.push(tarHeader({ name: `PaxHeaders/${name}`.slice(0, 100), size: records.length, type: 'x' }), ...padded(records));
  }
  const header: { name: string; size: number; type?: string; linkname?: string; base256Size?: boolean } = { name, size: data.length };
  if (member.type !== undefined) header.type = member.type;
  if (member.linkname !== undefined) header.linkname = member.linkname;
  if (member.base256Size) header.base256Size = true;
  parts.push(tarHeader(header), ...padded(data));
  return Buffer.concat(parts);
}

/** A whole archive: the members, then the two zero blocks pg_basebackup writes (or `trailer` bytes of zeros). */
export function tarArchive(members: TarMember[], options: { trailer?: number } = {}): Buffer {
  return Buffer.concat([...members.map(tarMember), Buffer.alloc(options.trailer ?? 2 * BLOCK)]);
}

export interface TarEntry {
  name: string;
  type: string;
  size: number;
  /** Where the member's header starts. */
  headerOffset: number;
  /** Where its data starts. */
  dataOffset: number;
}

/** The members of a plain ustar archive (no extended headers), up to the first zero block. */
export function tarEntries(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  while (offset + BLOCK <= archive.length) {
    const h = archive.subarray(offset, offset + BLOCK);
    if (h.every((b) => b === 0)) break;
    const nul = h.indexOf(0);
    const name = h.toString('latin1', 0, nul < 0 || nul > 100 ? 100 : nul);
    const size = parseInt(h.toString('latin1', 124, 136).replace(/[\0 ]/g, '') || '0', 8);
    entries.push({ name, type: String.fromCharCode(h[156]!), size, headerOffset: offset, dataOffset: offset + BLOCK });
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return entries;
}

/**
 * GNU tar's diagnostics while it creates an archive, sorted into what a directory backup reports: files that
 * changed or vanished while being read (the archive holds what was read: a restore is consistent only with a
 * --before hook that froze the tree) and files it could not read (missing from the archive: the run fails).
 * tar is run with LC_ALL=C and --quoting-style=escape, so each line is `tar: <escaped path>: <message>` (tar
 * names itself as it was started: `/usr/bin/tar: …`) with the path's bytes recoverable exactly; the paths are
 * the walk's, all starting with `.`.
 */

export type TarProblemKind = 'changed' | 'vanished' | 'unreadable';

export interface TarProblem {
  kind: TarProblemKind;
  path: Buffer;
  message: string;
}

const CHANGED = [/^file changed as we read it$/, /^File shrank by \d+ bytes; padding with zeros$/, /^file changed as we read it; .*$/];
// A listed file that became a socket is left out by tar ("socket ignored"): gone from the backup.
const VANISHED = [/^File removed before we read it$/, /^socket ignored$/, /^Cannot (stat|open|readlink): No such file or directory$/];
const UNREADABLE = [/^Cannot (open|stat|readlink|read|savedir|opendir|getxattr|listxattr|llistxattr|lgetxattr): /, /^Read error at byte \d+/];

/** tar's closing line after problems it reported: says nothing of its own. */
export function isTarExitNote(line: string): boolean {
  return /^(?:[^:\n]*\/)?tar: Exiting with failure status due to previous errors$/.test(line);
}

/** One line of tar's stderr: a problem with a file, or undefined for anything else (the caller keeps it). */
export function parseTarMessage(line: string): TarProblem | undefined {
  // The path: escapes taken as pairs (tar writes a ':' in a name as '\:'), up to the first unescaped ': '.
  const m = /^(?:[^:\n]*\/)?tar: (\.(?:\/(?:[^\\]|\\.)*?)?): (\S.*)$/.exec(line);
  if (!m) return undefined;
  const path = unescapeTar(m[1]!);
  const message = m[2]!;
  if (!path) return undefined;
  if (CHANGED.some((p) => p.test(message))) return { kind: 'changed', path, message };
  if (VANISHED.some((p) => p.test(message))) return { kind: 'vanished', path, message };
  if (UNREADABLE.some((p) => p.test(message))) return { kind: 'unreadable', path, message };
  return undefined;
}

const SIMPLE: Record<string, number> = { ':': 0x3a, '\\': 0x5c, n: 0x0a, t: 0x09, r: 0x0d, a: 0x07, b: 0x08, f: 0x0c, v: 0x0b, '?': 0x3f, ' ': 0x20 };

/** The bytes of a name as `--quoting-style=escape` wrote it (C escapes, `\ooo` for other bytes); undefined if malformed. */
export function unescapeTar(text: string): Buffer | undefined {
  const raw = Buffer.from(text, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < raw.length; i += 1) {
    const c = raw[i]!;
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    const next = String.fromCharCode(raw[i + 1] ?? 0);
    if (/[0-7]/.test(next)) {
      const digits = /^[0-7]{1,3}/.exec(raw.subarray(i + 1, i + 4).toString('latin1'))![0];
      out.push(parseInt(digits, 8) & 0xff);
      i += digits.length;
    } else if (SIMPLE[next] !== undefined) {
      out.push(SIMPLE[next]!);
      i += 1;
    } else {
      return undefined;
    }
  }
  return Buffer.from(out);
}

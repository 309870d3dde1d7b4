/**
 * Whether a tar entry's name, and a link's target, stay inside the directory an archive is extracted into —
 * decided on the bytes alone, before anything is written: an absolute name, a `..` component or a NUL is
 * refused, and so is a symbolic link whose target leads out (absolute, or more `..` than the link is deep).
 * A hard link must name an entry inside too. Names are compared as bytes: a name that is not UTF-8 is
 * neither refused nor rewritten. A name beneath a symbolic link the same archive made (`a` → `/etc`, then
 * `a/passwd`) looks harmless here: the extractor, which knows the links it made, refuses it.
 */

const SLASH = 0x2f;

/** The components of a relative name (`./a//b/` → a, b); a reason when it is absolute, climbs, or holds NUL. */
export function entryComponents(path: Buffer): { parts: Buffer[] } | { refused: string } {
  if (path.length === 0) return { refused: 'an empty name' };
  if (path.includes(0)) return { refused: 'a NUL byte in the name' };
  if (path[0] === SLASH) return { refused: 'an absolute name' };
  const parts: Buffer[] = [];
  for (const part of split(path)) {
    if (part.length === 0 || isDot(part)) continue;
    if (isDotDot(part)) return { refused: "a '..' component" };
    parts.push(part);
  }
  return { parts };
}

/**
 * Whether a symbolic link at `linkPath` (an entry's name) pointing at `target` resolves inside the
 * extraction directory, without following anything on disk: the target is read relative to the link's own
 * directory, `..` climbing at most as deep as the link sits.
 */
export function symlinkStaysInside(linkPath: Buffer, target: Buffer): boolean {
  if (target.length === 0 || target.includes(0) || target[0] === SLASH) return false;
  const at = entryComponents(linkPath);
  if ('refused' in at) return false;
  let depth = at.parts.length - 1; // the link's directory
  for (const part of split(target)) {
    if (part.length === 0 || isDot(part)) continue;
    if (isDotDot(part)) {
      depth -= 1;
      if (depth < 0) return false;
    } else {
      depth += 1;
    }
  }
  return true;
}

function split(path: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i += 1) {
    if (i === path.length || path[i] === SLASH) {
      parts.push(path.subarray(start, i));
      start = i + 1;
    }
  }
  return parts;
}

function isDot(part: Buffer): boolean {
  return part.length === 1 && part[0] === 0x2e;
}

function isDotDot(part: Buffer): boolean {
  return part.length === 2 && part[0] === 0x2e && part[1] === 0x2e;
}

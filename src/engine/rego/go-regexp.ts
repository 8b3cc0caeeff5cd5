// Go's regexp (RE2 syntax) over JavaScript's RegExp, for the regex builtins the Wasm target lacks.
// The common syntax is shared; Go's leading flag groups (`(?i)`, `(?s)`, `(?m)`) become JS flags,
// `\z` and `\A` become anchors, and match iteration follows Go's allMatches (an empty match right
// after the previous match is skipped). A pattern JS cannot compile the same way is an error that
// says so, never a different answer.

export class GoRegexpError extends Error {
  override name = 'BuiltinError';
}

const cache = new Map<string, RegExp>();

export function compileGoRegexp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  let source = pattern;
  let flags = 'gu';
  const lead = /^\(\?([imsU]+)\)/.exec(source);
  if (lead) {
    if (lead[1]!.includes('U')) throw new Error(`regexp: Parapet cannot evaluate the ungreedy flag in ${JSON.stringify(pattern)}`);
    flags += [...new Set(lead[1]!)].join('');
    source = source.slice(lead[0].length);
  }
  if (/\(\?[imsU-]/.test(source) || /\[\[:|\\[pP][A-Z]\b|\\C|\\Q/.test(source)) {
    throw new Error(`regexp: Parapet cannot evaluate ${JSON.stringify(pattern)} exactly as Go does`);
  }
  source = source.replace(/\\z/g, '$(?![\\s\\S])').replace(/\\A/g, '^(?<![\\s\\S])').replaceAll('(?P<', '(?<');
  try {
    re = new RegExp(source, flags);
  } catch {
    // Unicode mode refuses identity escapes such as `\-` that Go (and JS without it) accept.
    try {
      re = new RegExp(source, flags.replace('u', ''));
    } catch (error) {
      // Go rejects what JS rejects for the shared syntax: an error of the call.
      throw new GoRegexpError(`error parsing regexp: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (cache.size > 1000) cache.clear();
  cache.set(pattern, re);
  return re;
}

/** Go's FindAllStringSubmatchIndex: [start, end] pairs in UTF-16 units, at most `n` (n < 0: all). */
export function goFindAll(re: RegExp, s: string, n: number): RegExpExecArray[] {
  const found: RegExpExecArray[] = [];
  let pos = 0;
  let prevMatchEnd = -1;
  while ((n < 0 || found.length < n) && pos <= s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) break;
    const end = m.index + m[0].length;
    let accept = true;
    if (m[0].length === 0) {
      if (m.index === prevMatchEnd) accept = false;
      // Go advances one rune past an empty match, from where the match ended.
      const cp = s.codePointAt(end);
      pos = end + (cp === undefined ? 1 : cp > 0xffff ? 2 : 1);
    } else {
      pos = end;
    }
    prevMatchEnd = end;
    if (accept) found.push(m);
  }
  return found;
}

/** Go's Regexp.Split(s, -1). */
export function goSplit(re: RegExp, s: string, pattern: string): string[] {
  if (pattern.length > 0 && s.length === 0) return [''];
  const parts: string[] = [];
  let beg = 0;
  let end = 0;
  for (const m of goFindAll(re, s, -1)) {
    end = m.index;
    if (m.index + m[0].length !== 0) parts.push(s.slice(beg, end));
    beg = m.index + m[0].length;
  }
  if (end !== s.length) parts.push(s.slice(beg));
  return parts;
}

/** Go's Regexp.ReplaceAllString: `$1`, `${1}`, `$name`, `${name}` and `$$` in the template. */
export function goReplaceAll(re: RegExp, s: string, template: string): string {
  let out = '';
  let last = 0;
  for (const m of goFindAll(re, s, -1)) {
    out += s.slice(last, m.index) + expand(template, m);
    last = m.index + m[0].length;
  }
  return out + s.slice(last);
}

function expand(template: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$' || i === template.length - 1) {
      out += c;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    let consumed = 0;
    if (template[i + 1] === '{') {
      const close = template.indexOf('}', i + 2);
      const inner = close < 0 ? '' : template.slice(i + 2, close);
      if (close >= 0 && /^\w+$/.test(inner)) {
        name = inner;
        consumed = close - i;
      }
    } else {
      const word = /^\w+/.exec(template.slice(i + 1));
      if (word) {
        name = word[0];
        consumed = word[0].length;
      }
    }
    if (name === undefined) {
      // A malformed `$` is copied as is.
      out += c;
      continue;
    }
    i += consumed;
    if (/^\d+$/.test(name)) {
      const index = Number(name);
      out += index < m.length ? (m[index] ?? '') : '';
    } else {
      out += m.groups?.[name] ?? '';
    }
  }
  return out;
}

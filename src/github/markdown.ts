// Values from the repository (file paths, object names and namespaces, policy names, Rego
// messages, acceptance reasons, cluster names) in the Markdown Parapet posts: check-run summaries
// and review comments. Whoever writes the repository (a pull request's author) writes these, so
// each renders as exactly its text on GitHub: no HTML, no link or image, no @-mention or issue
// reference, no emphasis, and no newline that could close the list item, table row or paragraph
// it sits in. Annotation titles and messages are plain text on GitHub: they need `oneLine` at
// most, never this escaping.

/** Characters of inline text kept from a value; the rest is cut (`…`), before escaping so that no escape is cut in half. */
export const MAX_TEXT = 2_000;
/** Characters of a code span (a path) kept from a value. */
export const MAX_CODE = 1_000;

/**
 * A zero-width space: placed after `@`, `#`, in `://` and `www.`, it keeps GitHub's filters from
 * seeing a mention, an issue reference or a bare URL, and is invisible.
 */
const BREAK = '&#8203;';

// One pass over the raw value, so that what an escape inserts (`&#8203;`) is never escaped again.
const SPECIAL = /:\/\/|www\.|gh-(?=\d)|#(?=\d)|[\\`*_~[\]|!$<>&@]/gi;

/**
 * Inline Markdown that renders as `value` on one line: runs of whitespace around line breaks
 * become one space, Markdown's punctuation is backslash-escaped, `<`, `>` and `&` are entities, and
 * GitHub's autolinks (mentions, `#123`, bare URLs, e-mail addresses) are broken by a zero-width space.
 * Safe anywhere in a line, also at its start and in a table cell.
 */
export function markdownText(value: string, max = MAX_TEXT): string {
  const line = clip(oneLine(value), max);
  const escaped = line.replace(SPECIAL, (match: string, offset: number) => {
    switch (match.toLowerCase()) {
      case '://':
        return `:${BREAK}//`;
      case 'www.':
        return `${match.slice(0, 3)}${BREAK}.`;
      case 'gh-':
        return `${match.slice(0, 2)}${BREAK}-`;
      case '#':
        return `#${BREAK}`;
      case '@':
        return `@${BREAK}`;
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '&':
        return '&amp;';
      case '_':
        // Between two letters or digits `_` cannot start or end emphasis (GFM): NET_RAW stays as written.
        return WORD.test(line[offset - 1] ?? '') && WORD.test(line[offset + 1] ?? '') ? '_' : '\\_';
      default:
        return `\\${match}`;
    }
  });
  // At the start of a line these would open a heading, a list, a setext underline or an ordered list.
  return escaped.replace(/^[#+=-]/, '\\$&').replace(/^(\d{1,9})([.)])/, '$1\\$2');
}

const WORD = /^[\p{L}\p{N}]$/u;

/**
 * A code span showing `value` verbatim (line breaks as `⏎`): its fence is one backtick longer
 * than the longest run of backticks inside, and padded with a space when the value starts or ends
 * with a backtick or a space (CommonMark strips one space from each side). Inside a code span
 * GitHub renders no HTML, link or mention. Not for table cells: `|` would still split the cell.
 */
export function markdownCode(value: string, max = MAX_CODE): string {
  const content = clip(value, max).replace(/\r\n?|\n/g, '⏎') || ' ';
  const longest = Math.max(0, ...[...content.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = /^[` ]|[` ]$/.test(content) && !/^ +$/.test(content) ? ' ' : '';
  return `${fence}${pad}${content}${pad}${fence}`;
}

/** `text` on one line: each line break, with the whitespace around it, becomes one space. */
export function oneLine(text: string): string {
  return text.replace(/\s*(?:\r\n?|\n)\s*/g, ' ').trim();
}

/**
 * Markdown cut to at most `max` characters at a line boundary, so that no code span or escape is
 * left open; a note says how much was left out. Lines are short: every value in them is clipped.
 */
export function truncateMarkdown(markdown: string, max: number): string {
  if (markdown.length <= max) return markdown;
  const note = (omitted: number) => `\n\n… ${omitted} more characters not shown (GitHub's limit); \`parapet check\` lists every finding.`;
  const budget = max - note(markdown.length).length;
  const cut = markdown.lastIndexOf('\n', budget);
  const kept = cut > 0 ? markdown.slice(0, cut) : '';
  return `${kept}${note(markdown.length - kept.length)}`;
}

function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

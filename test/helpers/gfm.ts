// GitHub-flavoured Markdown rendered to HTML by a CommonMark parser with the GFM extensions
// (micromark: tables, autolink literals, strikethrough, task lists), raw HTML passed through as
// written, as GitHub parses it before its sanitiser and its filters; and what in that HTML would
// let a value from the repository act as markup on GitHub.
import { micromark } from 'micromark';
import { gfm, gfmHtml } from 'micromark-extension-gfm';

/** Values a pull request's author may write into a file name, an object, a message or a reason. */
export const HOSTILE: Array<[string, string]> = [
  ['a team mention', '@example-org/security please approve'],
  ['a user mention at the start', '@dana'],
  ['an HTML comment that hides the rest', 'x\n\n<!--\n.yaml'],
  ['a link', 'see](http://evil.example/) [here](http://evil.example/)'],
  ['an image', '![x](http://evil.example/i.png)'],
  ['raw HTML', '<img src=x onerror=alert(1)> <details open>'],
  ['backtick runs', 'a ` b `` c ``` d'],
  ['a lone backtick', '`'],
  ['newlines and a blank line', 'first\nsecond\n\n# third\n- fourth'],
  ['table pipes', 'a | b || c'],
  ['emphasis, strikethrough and math', '**bold** _em_ *em* ~~gone~~ $x^2$'],
  ['bare URLs and e-mail addresses', 'http://evil.example https://evil.example www.evil.example mail@evil.example'],
  ['issue references', '#1 GH-2 example-org/other#3'],
  ['a forged Parapet marker', '<!-- parapet-accept:0123456789abcdef01234567 -->'],
  ['entities', '&lt;img&gt; &amp; &#64;dana'],
  ['a heading', '# Approved'],
  ['a list item', '- [x] approved'],
  ['an ordered list item', '1. approved'],
  ['a block quote', '> approved'],
  ['a setext underline', '==='],
  ['a thematic break', '***'],
  ['indentation', '        code block?'],
];

export function renderGfm(markdown: string): string {
  return micromark(markdown, { allowDangerousHtml: true, extensions: [gfm()], htmlExtensions: [gfmHtml()] });
}

/** Elements Parapet's own Markdown produces; anything else in the HTML came from a value. */
const TEMPLATE_ELEMENTS = ['p', 'strong', 'code', 'ul', 'li', 'h3', 'blockquote', 'table', 'thead', 'tbody', 'tr', 'th', 'td'];

/**
 * The markup in `html` that Parapet's templates do not make: other elements (a link, an image,
 * raw HTML, emphasis), HTML comments, and outside code the tokens GitHub's filters turn into links
 * and notifications: @-mentions, issue references (`#1`, `GH-1`). Empty when there is none.
 * `also`: raw HTML elements the template itself writes (the summary's `<details>`); the caller
 * counts them.
 */
export function markupIn(html: string, also: string[] = []): string[] {
  const allowed = new Set([...TEMPLATE_ELEMENTS, ...also]);
  const found: string[] = [];
  for (const m of html.matchAll(/<!--|<\/?([a-zA-Z][a-zA-Z0-9-]*)/g)) {
    if (m[0] === '<!--') found.push('HTML comment');
    else if (!allowed.has(m[1]!.toLowerCase())) found.push(`<${m[1]}>`);
  }
  // A zero-width space after `@` or `#` is what keeps GitHub from linking: it stays here.
  const text = decode(html.replace(/<code>[\s\S]*?<\/code>/g, ' ').replace(/<[^>]*>/g, ''));
  for (const m of text.matchAll(/@[A-Za-z0-9]+(?:\/[A-Za-z0-9_-]+)?/g)) found.push(`mention ${m[0]}`);
  for (const m of text.matchAll(/(?:#|\bGH-)\d+/gi)) found.push(`issue reference ${m[0]}`);
  return found;
}

/** The text of `html` as a reader sees it: no tags, entities decoded, zero-width spaces gone. */
export function textOf(html: string): string {
  return decode(html.replace(/<[^>]*>/g, '')).replace(/\u200b/g, '');
}

/** micromark writes these four characters as entities, and every other one as itself. */
function decode(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/** The HTML of each `tag` element, outermost first (no nesting of the same tag expected). */
export function elements(html: string, tag: string): string[] {
  return [...html.matchAll(new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]!);
}

// Values from the repository in Parapet's Markdown: rendered as GitHub-flavoured Markdown, each
// shows as exactly its text, and nothing in it becomes a link, an image, HTML, a mention or a
// new block.
import { describe, expect, it } from 'vitest';
import { markdownCode, markdownText, MAX_TEXT, oneLine, truncateMarkdown } from '../../src/github/markdown.js';
import { elements, HOSTILE, markupIn, renderGfm, textOf } from '../helpers/gfm.js';

describe('markdownText', () => {
  it.each(HOSTILE)('renders %s as its text on one line, with no markup', (_, value) => {
    for (const markdown of [`${markdownText(value)}`, `- **policy** ${markdownText(value)} — accepted`, `> ${markdownText(value)}`]) {
      const html = renderGfm(markdown);
      expect(markupIn(html), markdown).toEqual([]);
      expect(textOf(html)).toContain(oneLine(value));
      expect(elements(html, 'p').length + elements(html, 'li').length, markdown).toBe(1);
    }
  });

  it.each(HOSTILE)('keeps a table row of five cells with %s in a cell', (_, value) => {
    const html = renderGfm(`| Policy | Action | New | Existing | Accepted |\n| --- | --- | ---: | ---: | ---: |\n| ${markdownText(value)} | deny | 1 | 0 | 0 |\n`);

    expect(markupIn(html)).toEqual([]);
    const rows = elements(html, 'tr');
    expect(rows).toHaveLength(2);
    expect(elements(rows[1]!, 'td').map(textOf)).toEqual([oneLine(value), 'deny', '1', '0', '0']);
  });

  it('leaves ordinary values as they are written', () => {
    expect(markdownText('preventprivileged')).toBe('preventprivileged');
    expect(markdownText('Deployment shop/debug-shell')).toBe('Deployment shop/debug-shell');
    expect(markdownText('Debugging the payment outage INC-42.')).toBe('Debugging the payment outage INC-42.');
    expect(markdownText('capability NET_RAW is not allowed: main, securityContext: {"privileged": true}')).toBe('capability NET_RAW is not allowed: main, securityContext: {"privileged": true}');
    expect(markdownText('[Implied by expand-workloads] Privileged container')).toBe('\\[Implied by expand-workloads\\] Privileged container');
  });

  it('neutralises a mention with a zero-width space, which GitHub renders as nothing', () => {
    expect(markdownText('@example-org/security')).toBe('@&#8203;example-org/security');
    expect(renderGfm(markdownText('@dana'))).toBe('<p>@\u200bdana</p>');
  });

  it('collapses the line breaks of a multi-line message, and the whitespace around them, into one space', () => {
    expect(markdownText('  first line\r\n   second line\n\n\nthird  ')).toBe('first line second line third');
  });

  it('cuts a long value before escaping it, so that no escape is cut in half', () => {
    const text = markdownText('@'.repeat(MAX_TEXT + 10));
    expect(text).toBe(`${'@&#8203;'.repeat(MAX_TEXT - 1)}…`);
    expect(markdownText('<'.repeat(10), 4)).toBe('&lt;&lt;&lt;…');
  });
});

describe('markdownCode', () => {
  it.each(HOSTILE)('shows %s verbatim in one code span, its line breaks as ⏎', (_, value) => {
    const markdown = `- ${markdownCode(`${value}:22`)} **preventprivileged** (deny)`;
    const html = renderGfm(markdown);

    expect(markupIn(html), markdown).toEqual([]);
    expect(elements(html, 'li')).toHaveLength(1);
    expect(elements(html, 'code').map(textOf)).toEqual([`${value.replace(/\n/g, '⏎')}:22`]);
  });

  it.each([
    ['a path', 'cluster/namespaces/shop/debug.yaml:22', '`cluster/namespaces/shop/debug.yaml:22`'],
    ['a backtick inside', 'a`b', '``a`b``'],
    ['a run of three backticks inside', 'a```b', '````a```b````'],
    ['a backtick at the start', '`a', '`` `a ``'],
    ['a space at both ends', ' a ', '`  a  `'],
    ['only spaces', '  ', '`  `'],
    ['nothing', '', '` `'],
  ])('fences %s so that the span shows it exactly', (_, value, expected) => {
    expect(markdownCode(value)).toBe(expected);
    expect(elements(renderGfm(expected), 'code').map(textOf)).toEqual([value === '' ? ' ' : value]);
  });
});

describe('truncateMarkdown', () => {
  it('cuts at a line boundary, so a code span is never left open, and says how much it left out', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `- ${markdownCode(`<img src=x> ${i}`)} ${markdownText('@dana')}`);
    const markdown = lines.join('\n');
    const cut = truncateMarkdown(markdown, 1000);

    expect(cut.length).toBeLessThanOrEqual(1000);
    const kept = cut.slice(0, cut.indexOf('\n\n…'));
    expect(markdown.startsWith(`${kept}\n`)).toBe(true);
    expect(cut).toMatch(new RegExp(`\\n\\n… ${markdown.length - kept.length} more characters not shown`));
    expect(markupIn(renderGfm(cut))).toEqual([]);
  });

  it('leaves Markdown within the limit as it is', () => {
    expect(truncateMarkdown('short', 5)).toBe('short');
  });
});

import { describe, expect, it } from 'vitest';
import { sign, unsign, serializeCookie, parseCookies } from '../../src/web/session.js';
import { html, safeUrl } from '../../src/web/views/html.js';

describe('html', () => {
  it('escapes interpolated text, attributes included', () => {
    const evil = `"><script>alert('x')</script>&`;
    expect(html`<a title="${evil}">${evil}</a>`.toString()).toBe(
      '<a title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</a>',
    );
  });

  it('keeps nested html, joins arrays, drops null, undefined and false', () => {
    const items = ['a<b', 'c'].map((x) => html`<li>${x}</li>`);
    expect(html`<ul>${items}${null}${undefined}${false}</ul>`.toString()).toBe('<ul><li>a&lt;b</li><li>c</li></ul>');
  });

  it.each([
    ['https://github.com/acme/gitops', 'https://github.com/acme/gitops'],
    ['/clusters/prod', '/clusters/prod'],
    ['javascript:alert(1)', '#'],
    ['//evil.example', '#'],
  ])('safeUrl(%s) is %s', (url, expected) => {
    expect(safeUrl(url)).toBe(expected);
  });
});

describe('signed cookies', () => {
  it('verifies its own signature and nothing else', () => {
    const signed = sign('session-id', 's'.repeat(32));
    expect(unsign(signed, 's'.repeat(32))).toBe('session-id');
    expect(unsign(signed, 't'.repeat(32))).toBeNull();
    expect(unsign(`other${signed}`, 's'.repeat(32))).toBeNull();
    expect(unsign('no-dot', 's'.repeat(32))).toBeNull();
  });

  it('is HttpOnly and SameSite=Lax, Secure on https', () => {
    expect(serializeCookie('a', 'b c', { secure: true, maxAgeSeconds: 60 })).toBe('a=b%20c; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure');
    expect(parseCookies('a=b%20c; x=1; a=ignored')).toEqual(new Map([['a', 'b c'], ['x', '1']]));
  });
});

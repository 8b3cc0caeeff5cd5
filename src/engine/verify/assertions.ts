// gator's assertions (pkg/gator/verify/assertion.go): `violations` is a count, "yes" (at least one)
// or "no" (none), default "yes"; `message` is an unanchored Go regular expression that selects which
// results count.

/** The first assertion that does not hold, described, or undefined when all hold. */
export function runAssertions(assertions: unknown[], messages: string[]): string | undefined {
  for (const [i, assertion] of assertions.entries()) {
    if (typeof assertion !== 'object' || assertion === null || Array.isArray(assertion)) return `assertions[${i}] must be a mapping`;
    const { violations = 'yes', message } = assertion as { violations?: unknown; message?: unknown };
    let counted = messages;
    let pattern = '';
    if (message !== undefined) {
      if (typeof message !== 'string') return `assertions[${i}].message must be a string`;
      const regex = goRegExp(message);
      if (typeof regex === 'string') return `assertions[${i}].message is not a valid regular expression: ${regex}`;
      counted = messages.filter((m) => regex.test(m));
      pattern = ` matching ${JSON.stringify(message)}`;
    }
    const got = `got ${counted.length} violation${counted.length === 1 ? '' : 's'}${pattern}${describe(messages)}`;
    if (typeof violations === 'number' && Number.isInteger(violations)) {
      if (counted.length !== violations) return `assertions[${i}]: want ${violations} violation${violations === 1 ? '' : 's'}${pattern}, ${got}`;
    } else if (violations === 'yes') {
      if (counted.length === 0) return `assertions[${i}]: want at least one violation${pattern}, ${got}`;
    } else if (violations === 'no') {
      if (counted.length > 0) return `assertions[${i}]: want no violations${pattern}, ${got}`;
    } else if (typeof violations === 'string' && /^\d+$/.test(violations)) {
      // An IntOrString holding a numeric string is a count too.
      if (counted.length !== Number(violations)) return `assertions[${i}]: want ${violations} violations${pattern}, ${got}`;
    } else {
      return `assertions[${i}].violations must be a number, "yes" or "no", not ${JSON.stringify(violations)}`;
    }
  }
  return undefined;
}

function describe(messages: string[]): string {
  if (messages.length === 0) return '';
  return ` (results: ${messages.map((m) => JSON.stringify(m)).join(', ')})`;
}

/**
 * Go's RE2 syntax as a JavaScript RegExp: the two agree on what gator suites use; Go's leading
 * inline flags `(?i)`, `(?s)`, `(?m)` become JavaScript flags.
 */
export function goRegExp(source: string): RegExp | string {
  let flags = 'u';
  let body = source;
  const inline = /^\(\?([imsU]+)\)/.exec(body);
  if (inline) {
    body = body.slice(inline[0].length);
    for (const flag of inline[1]!) if (flag !== 'U' && !flags.includes(flag)) flags += flag;
  }
  try {
    return new RegExp(body, flags);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

import { describe, expect, it } from 'vitest';
import { ConfigProblemsError } from '../../src/errors.js';
import { readWebConfig } from '../../src/web/web-config.js';

const oauth = { GITHUB_CLIENT_ID: 'Iv1.abc', GITHUB_CLIENT_SECRET: 'shh' };

describe('readWebConfig', () => {
  it('requires SESSION_SECRET in production, with every other problem reported together', () => {
    expect(() => readWebConfig({ NODE_ENV: 'production' })).toThrow(ConfigProblemsError);
    try {
      readWebConfig({ NODE_ENV: 'production', PARAPET_PUBLIC_URL: 'ftp://x' });
    } catch (error) {
      expect((error as ConfigProblemsError).problems).toEqual([
        expect.stringContaining('GITHUB_CLIENT_ID is required'),
        expect.stringContaining('GITHUB_CLIENT_SECRET is required'),
        expect.stringContaining('SESSION_SECRET is required when NODE_ENV=production'),
        expect.stringContaining('PARAPET_PUBLIC_URL must be an http(s) URL'),
      ]);
    }
  });

  it('generates a session secret for development, with a warning', () => {
    const a = readWebConfig(oauth);
    const b = readWebConfig(oauth);
    expect(a.config.sessionSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(a.config.sessionSecret).not.toBe(b.config.sessionSecret);
    expect(a.warnings).toEqual([expect.stringContaining('SESSION_SECRET is not set')]);
  });

  it('derives GitHub Enterprise Server URLs from GITHUB_API_URL', () => {
    const { github, config } = readWebConfig({ ...oauth, SESSION_SECRET: 'x'.repeat(32), GITHUB_API_URL: 'https://ghe.example/api/v3/', PARAPET_PUBLIC_URL: 'https://parapet.example/' });
    expect(github).toEqual({ apiUrl: 'https://ghe.example/api/v3', webUrl: 'https://ghe.example' });
    expect(config.publicUrl).toBe('https://parapet.example');
    expect(readWebConfig(oauth).github).toEqual({ apiUrl: 'https://api.github.com', webUrl: 'https://github.com' });
  });

  it('refuses a short session secret', () => {
    expect(() => readWebConfig({ ...oauth, SESSION_SECRET: 'short' })).toThrow(/at least 32 characters/);
  });
});

// Builds a repository tarball the way GitHub's archive endpoint does: gzipped ustar, a global PAX
// header carrying the commit id, every entry under one top folder `owner-repo-sha7/`, directories
// listed before their files, PAX `path` records for names too long for the ustar header.
import { gzipSync } from 'node:zlib';

export function buildTarball(owner: string, repo: string, sha: string, files: Record<string, string | Buffer>): Buffer {
  const top = `${owner}-${repo}-${sha.slice(0, 7)}/`;
  const blocks: Buffer[] = [];
  blocks.push(...entry('pax_global_header', 'g', pax({ comment: sha })));
  const directories = new Set<string>([top]);
  for (const path of Object.keys(files).sort()) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) directories.add(`${top}${parts.slice(0, i).join('/')}/`);
  }
  for (const dir of [...directories].sort()) blocks.push(...named(dir, '5', Buffer.alloc(0)));
  for (const [path, content] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) {
    blocks.push(...named(`${top}${path}`, '0', Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8')));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

function named(name: string, type: string, body: Buffer): Buffer[] {
  if (Buffer.byteLength(name) <= 100) return entry(name, type, body);
  // Too long for the header: a PAX extended header says the real path.
  return [...entry('PaxHeader', 'x', pax({ path: name })), ...entry(name.slice(-100), type, body)];
}

function entry(name: string, type: string, body: Buffer): Buffer[] {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write(type === '5' ? '0000755\0' : '0000644\0', 100, 'latin1');
  header.write('0000000\0', 108, 'latin1');
  header.write('0000000\0', 116, 'latin1');
  header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  header.write('00000000000\0', 136, 'latin1');
  header.write('        ', 148, 'latin1');
  header.write(type, 156, 'latin1');
  header.write('ustar\0', 257, 'latin1');
  header.write('00', 263, 'latin1');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512);
  return [header, body, padding];
}

function pax(records: Record<string, string>): Buffer {
  let text = '';
  for (const [key, value] of Object.entries(records)) {
    const line = ` ${key}=${value}\n`;
    // The length counts its own digits.
    let length = Buffer.byteLength(line) + 1;
    while (String(length).length + Buffer.byteLength(line) !== length) length = String(length).length + Buffer.byteLength(line);
    text += `${length}${line}`;
  }
  return Buffer.from(text, 'utf8');
}

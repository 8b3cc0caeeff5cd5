// A gzipped tar archive, as GitHub's tarball endpoint returns it, read in memory: regular files only
// (symbolic links are not followed, as a checkout's FsSource does not follow them), with the single
// top folder (`owner-repo-sha/`) stripped.
import { gunzipSync } from 'node:zlib';
import { LimitError } from '../errors.js';

const BLOCK = 512;

/** Path → bytes of every regular file. `maxBytes` bounds the uncompressed archive. */
export function readTarball(gzipped: Uint8Array, maxBytes: number): Map<string, Buffer> {
  let tar: Buffer;
  try {
    tar = gunzipSync(gzipped, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxBytes);
    throw new Error(`the repository archive is not valid gzip: ${(error as Error).message}`);
  }
  return readTar(tar);
}

export function tooLarge(maxBytes: number): LimitError {
  return new LimitError(`the repository is larger than PARAPET_MAX_REPO_BYTES (${maxBytes} bytes, as an uncompressed archive); raise the limit for this installation or make the repository smaller`);
}

function readTar(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let offset = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break; // end of archive
    if (!checksumMatches(header)) throw new Error(`the repository archive is corrupt (bad header checksum at byte ${offset})`);
    const size = readSize(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] ?? 0);
    const start = offset + BLOCK;
    const body = tar.subarray(start, start + size);
    if (body.length < size) throw new Error('the repository archive is truncated');
    offset = start + Math.ceil(size / BLOCK) * BLOCK;

    if (type === 'x') {
      paxPath = paxRecords(body).get('path');
      continue;
    }
    if (type === 'g') continue; // GitHub's global header: the commit id, nothing we need
    if (type === 'L') {
      longName = cString(body);
      continue;
    }
    const name = paxPath ?? longName ?? joinUstarName(header);
    paxPath = undefined;
    longName = undefined;
    if (type !== '0' && type !== '\0' && type !== '7') continue; // directories, links, devices
    const path = stripTopFolder(name);
    if (path) files.set(path, Buffer.from(body));
  }
  return files;
}

function stripTopFolder(name: string): string | undefined {
  const slash = name.indexOf('/');
  const rest = slash < 0 ? '' : name.slice(slash + 1);
  // Refuse anything that would not be a plain relative path inside the repository.
  if (rest === '' || rest.split('/').some((part) => part === '..' || part === '')) return undefined;
  return rest;
}

function joinUstarName(header: Buffer): string {
  const name = cString(header.subarray(0, 100));
  const ustar = header.subarray(257, 262).toString('latin1') === 'ustar';
  const prefix = ustar ? cString(header.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
}

function readSize(field: Buffer): number {
  // GNU base-256 for sizes of 8 GiB and more.
  if ((field[0] ?? 0) & 0x80) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const text = cString(field).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function checksumMatches(header: Buffer): boolean {
  const stored = parseInt(cString(header.subarray(148, 156)).trim(), 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (header[i] ?? 0);
  return sum === stored;
}

/** PAX extended header records: `<length> <key>=<value>\n`. */
function paxRecords(body: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < body.length) {
    const space = body.indexOf(0x20, offset);
    if (space < 0) break;
    const length = parseInt(body.subarray(offset, space).toString('latin1'), 10);
    if (!Number.isFinite(length) || length <= 0) break;
    const record = body.subarray(space + 1, offset + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    offset += length;
  }
  return records;
}

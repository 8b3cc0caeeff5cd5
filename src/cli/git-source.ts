// A RepoSource over a git revision of a local repository, read in bulk with `git cat-file --batch`.
import { execFile, spawn } from 'node:child_process';
import type { RepoFile, RepoSource } from '../engine/index.js';
import { UsageError } from '../errors.js';

export class GitSource implements RepoSource {
  private prefix: Promise<string> | undefined;
  private blobs = new Map<string, string>();

  /** `dir` is inside the repository; paths are relative to it, as for FsSource. */
  constructor(
    private readonly dir: string,
    private readonly ref: string,
  ) {}

  async listFiles(): Promise<RepoFile[]> {
    const prefix = await this.treePrefix();
    // Checked on its own so an unknown ref gets a plain message rather than ls-tree's about `ref:prefix`;
    // `--end-of-options` keeps a ref that starts with `-` from being read as an option.
    await git(this.dir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${this.ref}^{commit}`]).catch(() => {
      throw new UsageError(`--base ${this.ref}: no such commit in the git repository`);
    });
    // --full-tree: run from a subfolder, ls-tree would otherwise list only that subfolder *within*
    // `ref:prefix` (prefix twice), which is empty, and every violation would look new.
    const out = await git(this.dir, ['ls-tree', '--full-tree', '-r', '-l', '-z', `${this.ref}:${prefix}`]).catch((error: Error) => {
      throw new UsageError(`cannot read git revision ${this.ref}: ${error.message.trim()}`);
    });
    const files: RepoFile[] = [];
    for (const entry of out.split('\0')) {
      const match = /^\d+ blob ([0-9a-f]+)\s+(\d+|-)\t(.*)$/s.exec(entry);
      if (!match) continue;
      this.blobs.set(match[3]!, match[1]!);
      files.push({ path: match[3]!, size: Number(match[2]) || 0 });
    }
    return files;
  }

  async readFiles(paths: string[]): Promise<Map<string, string>> {
    const wanted = paths.filter((path) => this.blobs.has(path));
    const texts = new Map<string, string>();
    if (wanted.length === 0) return texts;
    const output = await new Promise<Buffer>((resolve, reject) => {
      const child = spawn('git', ['-C', this.dir, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`git cat-file exited with ${code}`))));
      child.stdin.end(wanted.map((path) => `${this.blobs.get(path)}\n`).join(''));
    });
    let offset = 0;
    for (const path of wanted) {
      const headerEnd = output.indexOf(10, offset);
      const header = output.subarray(offset, headerEnd).toString('utf8');
      const size = Number(header.split(' ')[2]);
      texts.set(path, output.subarray(headerEnd + 1, headerEnd + 1 + size).toString('utf8'));
      offset = headerEnd + 1 + size + 1;
    }
    return texts;
  }

  private treePrefix(): Promise<string> {
    this.prefix ??= git(this.dir, ['rev-parse', '--show-prefix']).then(
      (out) => out.trim(),
      (error: Error) => {
        throw new UsageError(`--base needs a git repository: ${error.message.trim()}`);
      },
    );
    return this.prefix;
  }
}

function git(dir: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', ['-C', dir, ...args], { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(stderr || error.message));
      else resolve(stdout);
    });
  });
}

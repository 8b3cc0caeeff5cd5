// What a pull request changes, read in bulk: the pull request files endpoint (100 files a page;
// GitHub lists at most 3,000), each file's unified-diff `patch` turned into the head-side lines its
// hunks cover. Those are the only lines GitHub accepts review comments on.
import type { GitHubClient, RepoRef } from './github-client.js';

/** Path at the head → head-side line numbers inside the diff's hunks (added and context lines). */
export type DiffLines = Map<string, Set<number>>;

export async function readDiffLines(octokit: GitHubClient, repo: RepoRef, pullNumber: number): Promise<DiffLines> {
  const files = await octokit.paginate('GET /repos/{owner}/{repo}/pulls/{pull_number}/files', { ...repo, pull_number: pullNumber, per_page: 100 });
  return new Map(files.filter((f) => f.status !== 'removed').map((f) => [f.filename, hunkLines(f.patch)]));
}

/** The head-side lines of a unified diff's hunks; none for a file without a patch (binary, too large). */
export function hunkLines(patch: string | undefined): Set<number> {
  const lines = new Set<number>();
  if (!patch) return lines;
  let line = 0;
  let inHunk = false;
  for (const text of patch.split('\n')) {
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(text);
    if (hunk) {
      line = Number(hunk[1]);
      inHunk = true;
    } else if (inHunk && !text.startsWith('-') && !text.startsWith('\\')) lines.add(line++);
  }
  return lines;
}

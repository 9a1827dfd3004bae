// Every relative link in README.md, docs/ and client/README.md leads somewhere: the file or folder
// exists, and a `#heading` anchor names a heading of the target (as GitHub makes anchors). README.md's
// map of docs/ names every page there.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { githubSlug, parseMarkdown, type MarkdownDocument } from './markdownDocument.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function markdownUnder(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(folder, name))
    .sort();
}

const DOC_FILES = ['README.md', 'client/README.md', ...markdownUnder('docs')];

const parsed = new Map<string, MarkdownDocument>();
function documentAt(path: string): MarkdownDocument {
  let document = parsed.get(path);
  if (!document) {
    document = parseMarkdown(readFileSync(path, 'utf8'));
    parsed.set(path, document);
  }
  return document;
}

/** What is wrong with one link of `file`, or undefined when it resolves. */
function brokenLink(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined; // https:, mailto:, ...
  const hash = target.indexOf('#');
  const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const source = join(ROOT, file);
  const resolved = pathPart === '' ? source : pathPart.startsWith('/') ? join(ROOT, pathPart) : resolve(dirname(source), pathPart);
  if (!resolved.startsWith(ROOT)) return 'points outside the repository';
  if (!existsSync(resolved)) return `${relative(ROOT, resolved)} does not exist`;
  if (anchor === undefined || anchor === '') return undefined;
  if (statSync(resolved).isDirectory() || !resolved.endsWith('.md')) return `#${anchor}: anchors are only checked in Markdown files`;
  return documentAt(resolved).anchors.has(anchor) ? undefined : `no heading with the anchor #${anchor} in ${relative(ROOT, resolved)}`;
}

describe('GitHub heading anchors', () => {
  it('follow github-slugger: lower case, punctuation dropped, spaces as hyphens, code and links as text', () => {
    expect(githubSlug("The client's rules (for other implementations)")).toBe('the-clients-rules-for-other-implementations');
    expect(githubSlug('With the Fastly CLI (`fastly compute serve`)')).toBe('with-the-fastly-cli-fastly-compute-serve');
    expect(githubSlug('Settings (Config Store `edge_settings`)')).toBe('settings-config-store-edge_settings');
    expect(githubSlug('Presence, occupancy and channel events')).toBe('presence-occupancy-and-channel-events');
    expect(githubSlug('See [the client](docs/client.md) — once')).toBe('see-the-client--once');
  });

  it('number repeated headings as GitHub does', () => {
    const { anchors } = parseMarkdown('# Notes\n## Notes\n```md\n# Notes\n```\n### Notes\n');
    expect([...anchors]).toEqual(['notes', 'notes-1', 'notes-2']);
  });

  it('ignore links inside code', () => {
    const { links } = parseMarkdown('[a](a.md) `[b](b.md)`\n```\n[c](c.md)\n```\n  ```html\n  <a href="d.md">\n  ```\n<img src="e.svg">\n');
    expect(links.map((link) => link.target)).toEqual(['a.md', 'e.svg']);
  });
});

describe('relative links', () => {
  it.each(DOC_FILES)('%s: every relative link resolves', (file) => {
    const broken = documentAt(join(ROOT, file))
      .links.map((link) => ({ link, problem: brokenLink(file, link.target) }))
      .filter((entry) => entry.problem !== undefined)
      .map(({ link, problem }) => `${file}:${link.line} (${link.target}): ${problem}`);
    expect(broken).toEqual([]);
  });

  it("README.md's map of docs/ names every page in docs/", () => {
    const linked = new Set(
      documentAt(join(ROOT, 'README.md'))
        .links.map((link) => link.target.split('#')[0]!)
        .filter((target) => target.startsWith('docs/'))
        .map((target) => join(target)),
    );
    expect(markdownUnder('docs').filter((page) => !linked.has(page))).toEqual([]);
  });
});

// What the docs tests read from a Markdown file: its fenced code blocks, the links outside them, and
// the anchors its headings get on GitHub. Only the Markdown this repository writes (ATX headings,
// fenced blocks, inline and reference links, <a href>/<img src>), not the whole CommonMark grammar.

export interface CodeBlock {
  /** The info string after the opening fence (`sh`, `ts`, ...), empty when there is none. */
  info: string;
  /** 1-based line number of the opening fence. */
  line: number;
  /** The lines between the fences, with the fence's indentation removed. */
  body: string[];
}

export interface MarkdownLink {
  target: string;
  /** 1-based line number. */
  line: number;
}

export interface MarkdownDocument {
  codeBlocks: CodeBlock[];
  links: MarkdownLink[];
  /** Every anchor a link may name: the headings' GitHub slugs and explicit `<a id|name="...">`. */
  anchors: Set<string>;
}

const FENCE = /^( {0,3}|\s*)(`{3,}|~{3,})\s*([^`]*)$/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const INLINE_LINK = /!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const REFERENCE_DEFINITION = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$/;
const HTML_TARGET = /<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*"([^"]+)"/gi;
const HTML_ANCHOR = /<a\b[^>]*?\b(?:id|name)\s*=\s*"([^"]+)"/gi;

/**
 * The anchor GitHub gives a heading (github-slugger): the rendered text lower-cased, every character
 * but letters, marks, digits, connector punctuation (`_`), spaces and `-` dropped, spaces as `-`.
 */
export function githubSlug(headingText: string): string {
  const rendered = headingText
    .replace(/!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\([^)]*\)/g, '$1') // a link shows its text
    .replace(/<[^>]+>/g, ''); // inline HTML shows nothing of its tags
  return rendered
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Inline code spans hold no links: blank them out, keeping the line's length. */
function withoutCodeSpans(line: string): string {
  return line.replace(/(`+)(?:(?!\1).)+?\1/g, (span) => ' '.repeat(span.length));
}

export function parseMarkdown(text: string): MarkdownDocument {
  const lines = text.split(/\r?\n/);
  const codeBlocks: CodeBlock[] = [];
  const links: MarkdownLink[] = [];
  const anchors = new Set<string>();
  const slugCounts = new Map<string, number>();
  let open: { fence: string; indent: number; block: CodeBlock } | undefined;

  lines.forEach((raw, index) => {
    const lineNumber = index + 1;
    const fence = FENCE.exec(raw);
    if (open) {
      if (fence && fence[2]![0] === open.fence[0] && fence[2]!.length >= open.fence.length && fence[3]!.trim() === '') {
        codeBlocks.push(open.block);
        open = undefined;
      } else {
        open.block.body.push(raw.slice(Math.min(open.indent, raw.length - raw.trimStart().length)));
      }
      return;
    }
    if (fence) {
      open = { fence: fence[2]!, indent: fence[1]!.length, block: { info: fence[3]!.trim().split(/\s+/)[0] ?? '', line: lineNumber, body: [] } };
      return;
    }
    const heading = HEADING.exec(raw);
    if (heading) {
      const base = githubSlug(heading[2]!);
      const seen = slugCounts.get(base) ?? 0;
      slugCounts.set(base, seen + 1);
      anchors.add(seen === 0 ? base : `${base}-${seen}`);
    }
    const line = withoutCodeSpans(raw);
    for (const match of line.matchAll(INLINE_LINK)) links.push({ target: match[2]!, line: lineNumber });
    for (const match of line.matchAll(HTML_TARGET)) links.push({ target: match[1]!, line: lineNumber });
    for (const match of line.matchAll(HTML_ANCHOR)) anchors.add(match[1]!);
    const definition = REFERENCE_DEFINITION.exec(line);
    if (definition) links.push({ target: definition[1]!, line: lineNumber });
  });
  if (open) codeBlocks.push(open.block); // an unclosed fence runs to the end, as on GitHub
  return { codeBlocks, links, anchors };
}

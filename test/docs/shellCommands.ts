// The simple commands in a shell snippet from the docs: enough of the POSIX shell grammar for what a
// README shows (quotes, `\` line continuations, comments, `&&`/`||`/`|`/`;`, redirections, here-docs,
// `$(...)`, leading `NAME=value` assignments), so each command can be checked against the project.

export interface ShellCommand {
  /** The command's words with quotes removed; a `$(...)` inside a word is kept as `$(...)`. */
  words: string[];
  /** 1-based line of the snippet the command starts on. */
  line: number;
}

interface LogicalLine {
  text: string;
  line: number;
}

const HEREDOC = /<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/;

/** Joins `\`-continued lines and drops here-document bodies. */
function logicalLines(lines: string[]): LogicalLine[] {
  const result: LogicalLine[] = [];
  let current: LogicalLine | undefined;
  let heredocEnd: string | undefined;
  lines.forEach((raw, index) => {
    if (heredocEnd !== undefined) {
      if (raw.trim() === heredocEnd) heredocEnd = undefined;
      return;
    }
    const continued = /\\\s*$/.test(raw);
    const piece = continued ? raw.replace(/\\\s*$/, ' ') : raw;
    current = current ? { text: current.text + piece, line: current.line } : { text: piece, line: index + 1 };
    if (continued) return;
    heredocEnd = HEREDOC.exec(current.text)?.[2];
    result.push(current);
    current = undefined;
  });
  if (current) result.push(current);
  return result;
}

/** The text of a `$(...)` starting at `start` (just after `$(`), and the index after its `)`. */
function substitution(text: string, start: number): { inner: string; end: number } {
  let depth = 1;
  let quote: string | undefined;
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '(') {
      depth++;
    } else if (c === ')' && --depth === 0) {
      return { inner: text.slice(start, i), end: i + 1 };
    }
  }
  throw new Error(`unterminated $( in: ${text}`);
}

function commandsOfLine(text: string, line: number, out: ShellCommand[]): void {
  let words: string[] = [];
  let word: string | undefined;
  let skipNextWord = false;
  const endWord = (): void => {
    if (word === undefined) return;
    if (skipNextWord) skipNextWord = false;
    else words.push(word);
    word = undefined;
  };
  const endCommand = (): void => {
    endWord();
    while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) words.shift();
    if (words.length > 0) out.push({ words, line });
    words = [];
  };
  const takeSubstitution = (i: number): number => {
    const { inner, end } = substitution(text, i + 2);
    commandsOfLine(inner, line, out);
    word = (word ?? '') + '$(...)';
    return end;
  };

  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) throw new Error(`unterminated ' in: ${text}`);
      word = (word ?? '') + text.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      word = word ?? '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) {
          word += text[i + 1];
          i += 2;
        } else if (text.startsWith('$(', i)) {
          i = takeSubstitution(i);
        } else {
          word += text[i];
          i++;
        }
      }
      if (i >= text.length) throw new Error(`unterminated " in: ${text}`);
      i++;
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[i + 1];
      i += 2;
    } else if (text.startsWith('$(', i)) {
      i = takeSubstitution(i);
    } else if (/\s/.test(c)) {
      endWord();
      i++;
    } else if (c === '#' && word === undefined) {
      break; // a comment runs to the end of the line
    } else if (c === '&' || c === '|' || c === ';') {
      endCommand();
      i += text.startsWith('&&', i) || text.startsWith('||', i) ? 2 : 1;
    } else if ((c === '<' || c === '>' || (/\d/.test(c) && word === undefined && /^\d+[<>]/.test(text.slice(i)))) && word === undefined) {
      // A redirection: its operator, and its target word unless it names a descriptor (`2>&1`).
      const operator = /^\d*(<<-?|<<<|>>|<>|>&|<&|>\||<|>)/.exec(text.slice(i))![0];
      i += operator.length;
      if (operator.endsWith('&') && /^\d|^-/.test(text.slice(i))) {
        i += /^(\d+|-)/.exec(text.slice(i))![0].length;
      } else {
        skipNextWord = true;
      }
    } else {
      word = (word ?? '') + c;
      i++;
    }
  }
  endCommand();
}

/** The simple commands of a shell snippet (its lines as written), in order. */
export function shellCommands(lines: string[]): ShellCommand[] {
  const out: ShellCommand[] = [];
  for (const logical of logicalLines(lines)) commandsOfLine(logical.text, logical.line, out);
  return out;
}

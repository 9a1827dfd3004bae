// The one line splitter for the streamed HTTP framings (SSE and NDJSON): text arrives in chunks that
// cut lines (and a CRLF) anywhere; each complete line is handed on without its line end. Lines end in
// LF, CRLF or CR (text/event-stream allows all three; NDJSON lines end in LF, and a CR before it is
// dropped the same way). An unterminated last line is never handed on: a stream cut mid-line lost it.

export interface LineReader {
  /** Feeds decoded text; calls `onLine` for every line it completes. */
  push(text: string): void;
}

export function createLineReader(onLine: (line: string) => void): LineReader {
  let pending = '';
  // The previous chunk ended in CR: a LF starting this one is the second half of a CRLF.
  let afterCr = false;
  return {
    push(text) {
      let start = 0;
      if (afterCr && text.charCodeAt(0) === 10) start = 1;
      afterCr = false;
      for (let i = start; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        const piece = text.slice(start, i);
        onLine(pending === '' ? piece : pending + piece);
        pending = '';
        if (c === 13) {
          if (i + 1 === text.length) afterCr = true;
          else if (text.charCodeAt(i + 1) === 10) i++;
        }
        start = i + 1;
      }
      if (start < text.length) pending += text.slice(start);
    },
  };
}

/**
 * RFC 5322 §3.4 address lists (with the §4.4 obsolete forms), RFC 2047 encoded words in display
 * names and RFC 6532 UTF-8. The address is always taken from the angle brackets or the addr-spec,
 * never from a display name that merely looks like one.
 */
import { fail } from '../errors.ts';
import { decodeCharset } from './headers.ts';

export interface Mailbox {
  /** The display name, RFC 2047-decoded. */
  name?: string;
  /** local-part@domain, without comments or folding; a quoted local part stays quoted only when it must. */
  address: string;
}

type Token =
  | { kind: 'atom'; text: string; wsBefore: boolean }
  | { kind: 'quoted'; text: string; wsBefore: boolean }
  | { kind: 'literal'; text: string; wsBefore: boolean }
  | { kind: 'special'; text: string; wsBefore: boolean }
  | { kind: 'comment'; text: string; wsBefore: boolean };

/** RFC 5322 atext plus every non-ASCII character (RFC 6532 §3.2 UTF8-non-ascii). */
const ATOM = /[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+/y;

/** Bounds the work on hostile headers (the header block itself is already bounded). */
const MAX_TOKENS = 100_000;

function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let ws = false;
  while (i < s.length) {
    if (tokens.length > MAX_TOKENS) fail('MIME_LIMIT', 'the address list is too long');
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      ws = true;
      i++;
      continue;
    }
    if (c === '"') {
      let text = '';
      for (i++; ; i++) {
        if (i >= s.length) fail('MIME_MALFORMED', 'unterminated quoted string in an address');
        const d = s[i]!;
        if (d === '"') break;
        if (d === '\\') {
          i++;
          if (i >= s.length) fail('MIME_MALFORMED', 'unterminated quoted string in an address');
        }
        if (s[i] !== '\r' && s[i] !== '\n') text += s[i];
      }
      i++;
      tokens.push({ kind: 'quoted', text, wsBefore: ws });
    } else if (c === '(') {
      let depth = 0;
      let text = '';
      for (; ; i++) {
        if (i >= s.length) fail('MIME_MALFORMED', 'unterminated comment in an address');
        const d = s[i]!;
        if (d === '\\') {
          i++;
          if (i >= s.length) fail('MIME_MALFORMED', 'unterminated comment in an address');
          text += s[i];
          continue;
        }
        if (d === '(') {
          if (depth++ === 0) continue;
        } else if (d === ')' && --depth === 0) {
          break;
        }
        text += d;
      }
      i++;
      tokens.push({ kind: 'comment', text: text.trim(), wsBefore: ws });
    } else if (c === '[') {
      const close = s.indexOf(']', i);
      if (close < 0) fail('MIME_MALFORMED', 'unterminated domain literal in an address');
      tokens.push({ kind: 'literal', text: s.slice(i, close + 1).replace(/\s+/g, ''), wsBefore: ws });
      i = close + 1;
    } else if ('<>:;@,.'.includes(c)) {
      tokens.push({ kind: 'special', text: c, wsBefore: ws });
      i++;
    } else {
      ATOM.lastIndex = i;
      const m = ATOM.exec(s);
      if (!m) fail('MIME_MALFORMED', `unexpected character ${JSON.stringify(c)} in an address`);
      tokens.push({ kind: 'atom', text: m[0], wsBefore: ws });
      i += m[0].length;
    }
    ws = false;
  }
  return tokens;
}

class Parser {
  readonly tokens: Token[];
  pos = 0;
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }
  /** The next non-comment token. */
  peek(): Token | undefined {
    while (this.tokens[this.pos]?.kind === 'comment') this.pos++;
    return this.tokens[this.pos];
  }
  next(): Token | undefined {
    const t = this.peek();
    if (t) this.pos++;
    return t;
  }
  isSpecial(text: string): boolean {
    const t = this.peek();
    return t?.kind === 'special' && t.text === text;
  }
  expect(text: string, what: string): void {
    if (!this.isSpecial(text)) fail('MIME_MALFORMED', `expected "${text}" ${what}`);
    this.pos++;
  }
}

/** RFC 5322 §3.4: address-list = address *("," address), address = mailbox / group. Empty elements are skipped (obs-addr-list). */
export function parseAddressList(value: string): Mailbox[] {
  const p = new Parser(tokenize(value));
  const out: Mailbox[] = [];
  while (p.peek()) {
    if (p.isSpecial(',')) {
      p.pos++;
      continue;
    }
    parseAddress(p, out, true);
    if (p.peek() && !p.isSpecial(',')) fail('MIME_MALFORMED', 'expected "," between addresses');
  }
  return out;
}

function parseAddress(p: Parser, out: Mailbox[], groupAllowed: boolean): void {
  // Look ahead for the token that decides the form: ':' (group), '<' (name-addr) or '@' (addr-spec).
  const start = p.pos;
  const phrase: Token[] = [];
  for (
    let t = p.peek();
    t && (t.kind === 'atom' || t.kind === 'quoted' || (t.kind === 'special' && t.text === '.'));
    t = p.peek()
  ) {
    phrase.push(t);
    p.pos++;
  }
  const t = p.peek();
  if (groupAllowed && t?.kind === 'special' && t.text === ':' && phrase.length > 0) {
    // group = display-name ":" [group-list] ";" — the members count, the group name does not.
    p.pos++;
    while (p.peek() && !p.isSpecial(';')) {
      if (p.isSpecial(',')) {
        p.pos++;
        continue;
      }
      parseAddress(p, out, false);
      if (p.peek() && !p.isSpecial(',') && !p.isSpecial(';')) fail('MIME_MALFORMED', 'expected "," in a group');
    }
    if (p.isSpecial(';')) p.pos++; // a missing ';' at the very end is tolerated
    return;
  }
  if (t?.kind === 'special' && t.text === '<') {
    const name = displayName(phrase);
    p.pos++;
    // obs-route: "@a,@b:" before the addr-spec is ignored (RFC 5322 §4.4).
    if (p.isSpecial('@')) {
      while (p.peek() && !p.isSpecial(':')) p.pos++;
      p.expect(':', 'after an obsolete route');
    }
    const address = parseAddrSpec(p);
    p.expect('>', 'to close the angle address');
    out.push(name ? { name, address } : { address });
    return;
  }
  // A bare addr-spec: re-read the phrase tokens as the local part.
  p.pos = start;
  const address = parseAddrSpec(p);
  // Obsolete "addr (Display Name)": a comment right after the address names it.
  p.peek();
  const after = p.tokens[p.pos - 1];
  const name = after?.kind === 'comment' ? decodeEncodedWords(after.text).trim() : '';
  out.push(name ? { name, address } : { address });
}

/** addr-spec = local-part "@" domain, with obs-local-part (words joined by '.') and obs-domain. */
function parseAddrSpec(p: Parser): string {
  const local: Token[] = [];
  for (let t = p.peek(); t && t.kind !== 'special'; t = p.peek()) {
    if (t.kind !== 'atom' && t.kind !== 'quoted') break;
    local.push(t);
    p.pos++;
    if (!p.isSpecial('.')) break;
    p.pos++;
  }
  if (local.length === 0) fail('MIME_MALFORMED', 'an address has no local part');
  if (!p.isSpecial('@')) fail('MIME_MALFORMED', 'an address has no "@domain"');
  p.pos++;
  const domain: string[] = [];
  const first = p.next();
  if (first?.kind === 'literal') {
    domain.push(first.text);
  } else {
    for (let t: Token | undefined = first; ; t = p.next()) {
      if (t?.kind !== 'atom') fail('MIME_MALFORMED', 'an address has an invalid domain');
      domain.push(t.text);
      if (!p.isSpecial('.')) break;
      p.pos++;
    }
  }
  return `${localPart(local)}@${domain.join('.')}`;
}

/** The local part in its simplest equivalent form: unquoted when it is a dot-atom (RFC 5321 §4.1.2). */
function localPart(words: Token[]): string {
  const text = words.map((w) => w.text).join('.');
  if (words.every((w) => w.kind === 'atom')) return text;
  if (/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+)*$/.test(text)) {
    return text;
  }
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}

/** A phrase as text: words joined by one space, RFC 2047 words decoded (also inside quotes, as mailers do). */
function displayName(phrase: Token[]): string | undefined {
  if (phrase.length === 0) return undefined;
  let out = '';
  for (const [i, t] of phrase.entries()) {
    // obs-phrase allows '.'; keep it attached the way it was written.
    if (i > 0 && t.wsBefore) out += ' ';
    out += t.text;
  }
  const name = decodeEncodedWords(out).trim();
  return name.length > 0 ? name : undefined;
}

const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=/g;

/** The bytes an encoded word stands for, or undefined when its text is not valid for its encoding. */
function encodedWordBytes(encoding: string, text: string): Buffer | undefined {
  if (encoding === 'b' || encoding === 'B') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) return undefined;
    return Buffer.from(text, 'base64');
  }
  const latin = text
    .replace(/_/g, ' ')
    .replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  return Buffer.from(latin, 'latin1');
}

/**
 * RFC 2047 encoded words (B and Q) decoded; whitespace between adjacent encoded words dropped
 * (§6.2), and adjacent words in the same charset decoded together so a character split across
 * two words (a common encoder bug) survives. Words that cannot be decoded stay as they are.
 */
export function decodeEncodedWords(s: string): string {
  if (!s.includes('=?')) return s;
  let out = '';
  let last = 0;
  let pending: { charset: string; bytes: Buffer[] } | undefined;
  const flush = () => {
    if (pending) out += decodeCharset(Buffer.concat(pending.bytes), pending.charset);
    pending = undefined;
  };
  for (const m of s.matchAll(ENCODED_WORD)) {
    const between = s.slice(last, m.index);
    const bytes = encodedWordBytes(m[2]!, m[3]!);
    if (!bytes) continue;
    const charset = m[1]!.toLowerCase();
    if (pending && /^[ \t\r\n]*$/.test(between)) {
      if (pending.charset === charset) {
        pending.bytes.push(bytes);
      } else {
        flush();
        pending = { charset, bytes: [bytes] };
      }
    } else {
      flush();
      out += between;
      pending = { charset, bytes: [bytes] };
    }
    last = m.index + m[0].length;
  }
  flush();
  return out + s.slice(last);
}

/** The domain in ASCII (IDNA A-labels, lowercase); left lowercased as it is when URL rejects it (e.g. a literal). */
function asciiDomain(domain: string): string {
  const lower = domain.toLowerCase().replace(/\.$/, '');
  if (/^[\x21-\x7e]*$/.test(lower) && !lower.includes('xn--')) return lower;
  try {
    return new URL(`http://${lower}`).hostname;
  } catch {
    return lower;
  }
}

/** Mailbox equality: local part exact, domain case-insensitive and U-label/A-label-insensitive. */
export function addressesEqual(a: string, b: string): boolean {
  const ia = a.lastIndexOf('@');
  const ib = b.lastIndexOf('@');
  if (ia < 0 || ib < 0) return a === b;
  if (a.slice(0, ia) !== b.slice(0, ib)) return false;
  return asciiDomain(a.slice(ia + 1)) === asciiDomain(b.slice(ib + 1));
}

/**
 * One bounded HTTP exchange: a GET for a CRL or a POST for OCSP (RFC 6960 Appendix A.1), over http
 * or https, with a deadline for the whole exchange (a server that stalls mid-body is cut off too), a
 * cap on the body size (checked against Content-Length and while reading) and a few redirects.
 * Failures are returned as sentences, never thrown.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface FetchOptions {
  method?: 'GET' | 'POST';
  body?: Uint8Array;
  contentType?: string;
  /** Expected media type, sent as Accept. */
  accept?: string;
  /** Milliseconds for the whole exchange, redirects included. */
  timeoutMs: number;
  maxBytes: number;
}

export type FetchResult = { ok: true; body: Buffer } | { ok: false; error: string };

const MAX_REDIRECTS = 3;

export async function fetchBytes(url: string, options: FetchOptions): Promise<FetchResult> {
  const deadline = Date.now() + options.timeoutMs;
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const r = await exchange(current, options, deadline - Date.now());
    if ('redirect' in r) {
      let next: URL;
      try {
        next = new URL(r.redirect, current);
      } catch {
        return { ok: false, error: `${url} redirected to an invalid location` };
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        return { ok: false, error: `${url} redirected to ${next.protocol} (only http and https are fetched)` };
      }
      current = next.href;
      continue;
    }
    return r;
  }
  return { ok: false, error: `${url} redirected more than ${MAX_REDIRECTS} times` };
}

function exchange(url: string, options: FetchOptions, timeoutMs: number): Promise<FetchResult | { redirect: string }> {
  return new Promise((resolve) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      resolve({ ok: false, error: `${url} is not a valid URL` });
      return;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      resolve({ ok: false, error: `${url}: only http and https URLs are fetched` });
      return;
    }
    if (timeoutMs <= 0) {
      resolve({ ok: false, error: `${url}: no time left before the deadline` });
      return;
    }
    let settled = false;
    const finish = (r: FetchResult | { redirect: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const headers: Record<string, string | number> = {};
    if (options.body) {
      headers['content-type'] = options.contentType ?? 'application/octet-stream';
      headers['content-length'] = options.body.length;
    }
    if (options.accept) headers.accept = options.accept;
    const send = parsed.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(parsed, { method: options.method ?? 'GET', headers }, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
        finish({ redirect: res.headers.location });
        return;
      }
      if (status !== 200) {
        finish({ ok: false, error: `${url} answered HTTP ${status}` });
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        finish({ ok: false, error: `${url} sends ${declared} bytes, more than the ${options.maxBytes}-byte cap` });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) {
          finish({ ok: false, error: `${url} sent more than the ${options.maxBytes}-byte cap` });
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => finish({ ok: true, body: Buffer.concat(chunks) }));
      res.on('error', (e) => finish({ ok: false, error: `${url}: ${e.message}` }));
    });
    const timer = setTimeout(
      () => finish({ ok: false, error: `${url} did not answer within ${options.timeoutMs} ms` }),
      timeoutMs,
    );
    req.on('error', (e) => finish({ ok: false, error: `${url}: ${e.message}` }));
    req.end(options.body);
  });
}

/**
 * GnuPG's gpgsm as a second independent S/MIME implementation (besides OpenSSL) for interop tests.
 *
 * Each `Gpgsm` owns a throwaway GNUPGHOME: trusted roots go into trustlist.txt, identities into
 * the agent, and every call runs in batch mode with a loopback pinentry whose passphrase comes from
 * a file descriptor (never argv). Debian's gpgsm 2.2 is the target; what it cannot do (found by
 * probing, see gpgsm.test.ts): RSA-PSS, Ed25519, AES-GCM AuthEnvelopedData, ECDH recipients, and
 * importing EC keys from a PKCS#12 (it crashes), which is why EC keys are installed directly into
 * the agent's key store instead.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GpgsmIdentity {
  certPath: string;
  keyPath: string;
}

export interface GpgsmOptions {
  /** PEM files of root CAs to trust (every certificate in each file). */
  trust: string[];
  /** Certificates with private keys (PEM), for signing and decrypting. */
  identities?: GpgsmIdentity[];
  /** Further certificates to know without trusting them: intermediates, recipients (PEM files). */
  certs?: string[];
}

export interface GpgsmResult {
  status: number;
  stdout: Buffer;
  stderr: string;
}

const TIMEOUT_MS = 120_000;

function has(program: string): boolean {
  return spawnSync(program, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** True when gpgsm and gpg-agent can be run. */
export function gpgsmAvailable(): boolean {
  return has('gpgsm') && has('gpg-agent') && has('gpgconf');
}

/** Every certificate of a PEM file. */
function pemCertificates(path: string): X509Certificate[] {
  const text = readFileSync(path, 'latin1');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/** libgcrypt's names of the curves gpgsm 2.2 can use. */
const CURVES: Record<string, string> = { 'P-256': 'NIST P-256', 'P-384': 'NIST P-384', 'P-521': 'NIST P-521' };

export class Gpgsm {
  readonly home: string;
  private readonly passphraseFile: string;
  /** Certificates given at creation, to pick them over same-address ones gpgsm stored since. */
  private readonly known: X509Certificate[] = [];
  private seq = 0;

  private constructor(home: string) {
    this.home = home;
    this.passphraseFile = join(home, 'passphrase');
    // gpgsm 2.2's PKCS#12 reader refuses passphrases of 32 characters or more.
    writeFileSync(this.passphraseFile, randomBytes(12).toString('hex'), { mode: 0o600 });
  }

  static async create(opts: GpgsmOptions): Promise<Gpgsm> {
    if (!gpgsmAvailable()) {
      throw new Error('gpgsm/gpg-agent not found: install the Debian packages "gpgsm" and "gpg-agent" (.ci/run does)');
    }
    const g = new Gpgsm(mkdtempSync(join(tmpdir(), 'sealpost-gpgsm-')));
    try {
      g.setup(opts);
    } catch (e) {
      g.close();
      throw e;
    }
    return g;
  }

  private setup(opts: GpgsmOptions): void {
    // No CRL/OCSP (no dirmngr, no network) and no certificate policy files in a test home.
    writeFileSync(
      join(this.home, 'gpgsm.conf'),
      'disable-crl-checks\ndisable-policy-checks\ndisable-dirmngr\nno-secmem-warning\n',
    );
    // The agent must never try to ask a human: loopback passphrases, no interactive trust marking.
    writeFileSync(join(this.home, 'gpg-agent.conf'), 'allow-loopback-pinentry\nno-allow-mark-trusted\n');
    const trusted = opts.trust.flatMap(pemCertificates);
    writeFileSync(join(this.home, 'trustlist.txt'), trusted.map((c) => `${c.fingerprint} S\n`).join(''));
    for (const path of [...opts.trust, ...(opts.certs ?? [])]) this.check(this.run(['--import', path]), 'import');
    for (const id of opts.identities ?? []) this.addIdentity(id);
    for (const path of [...(opts.certs ?? []), ...(opts.identities ?? []).map((i) => i.certPath)]) {
      this.known.push(...pemCertificates(path));
    }
  }

  private addIdentity(id: GpgsmIdentity): void {
    const key = createPrivateKey(readFileSync(id.keyPath));
    if (key.asymmetricKeyType === 'rsa') {
      // gpgsm 2.2 reads only the legacy PKCS#12 ciphers (3DES/RC2), not OpenSSL 3's AES default.
      const p12 = join(this.home, `identity-${this.seq++}.p12`);
      execFileSync(
        'openssl',
        [
          'pkcs12',
          '-export',
          '-legacy',
          '-in',
          id.certPath,
          '-inkey',
          id.keyPath,
          '-passout',
          `file:${this.passphraseFile}`,
          '-out',
          p12,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      this.check(this.withPassphrase(['--import', p12]), 'PKCS#12 import');
      return;
    }
    const jwk = key.export({ format: 'jwk' });
    const curve = key.asymmetricKeyType === 'ec' ? CURVES[jwk.crv ?? ''] : undefined;
    if (curve === undefined || !jwk.x || !jwk.y || !jwk.d) {
      throw new Error(`gpgsm 2.2 cannot use ${key.asymmetricKeyType} ${jwk.crv ?? ''} keys`);
    }
    // gpgsm 2.2 crashes importing an EC PKCS#12 from OpenSSL 3, so the key goes straight into the
    // agent's store under its keygrip, in the agent's extended key format (unprotected: test keys).
    const cert = pemCertificates(id.certPath)[0];
    if (!cert) throw new Error(`no certificate in ${id.certPath}`);
    this.check(this.run(['--import', id.certPath]), 'import');
    const listing = this.check(
      this.run(['--with-colons', '--with-keygrip', '--list-keys', cert.fingerprint.replaceAll(':', '')]),
      'list-keys',
    );
    const grip = /^grp:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(listing.stdout.toString('latin1'))?.[1];
    if (!grip) throw new Error('gpgsm did not report the keygrip of an imported certificate');
    const hex = (b64: string) => Buffer.from(b64, 'base64url').toString('hex');
    const q = `04${hex(jwk.x)}${hex(jwk.y)}`;
    const dir = join(this.home, 'private-keys-v1.d');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(
      join(dir, `${grip}.key`),
      `Key: (private-key (ecc (curve "${curve}") (q #${q}#) (d #${hex(jwk.d)}#)))\n`,
      { mode: 0o600 },
    );
  }

  /** Runs gpgsm in this home (batch mode) with `args`, feeding `input` on stdin. */
  run(args: string[], input?: Buffer): GpgsmResult {
    return this.exec(args, input);
  }

  private exec(args: string[], input?: Buffer, passphraseFd?: number): GpgsmResult {
    const env: Record<string, string | undefined> = { ...process.env, GNUPGHOME: this.home, LC_ALL: 'C' };
    delete env.GPG_AGENT_INFO;
    const r = spawnSync('gpgsm', ['--homedir', this.home, '--batch', '--yes', ...args], {
      input: input ?? Buffer.alloc(0),
      env,
      stdio: ['pipe', 'pipe', 'pipe', passphraseFd ?? 'ignore'],
      maxBuffer: 1 << 30,
      timeout: TIMEOUT_MS,
    });
    if (r.error) throw r.error;
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
  }

  /** Runs gpgsm with the agent's loopback passphrase on fd 3. */
  private withPassphrase(args: string[], input?: Buffer): GpgsmResult {
    const fd = openSync(this.passphraseFile, 'r');
    try {
      return this.exec(['--pinentry-mode', 'loopback', '--passphrase-fd', '3', ...args], input, fd);
    } finally {
      closeSync(fd);
    }
  }

  private check(r: GpgsmResult, what: string): GpgsmResult {
    if (r.status !== 0) throw new Error(`gpgsm ${what} failed (status ${r.status}):\n${r.stderr}`);
    return r;
  }

  private file(data: Buffer): string {
    const path = join(this.home, `data-${this.seq++}`);
    writeFileSync(path, data);
    return path;
  }

  /**
   * The identity with `email` as a PKCS#12 file (`--export-secret-key-p12`). The loopback passphrase
   * both unlocks the key and protects the file, so it is returned with it.
   */
  exportP12(email: string): { p12: Buffer; passphrase: string } {
    const r = this.check(this.withPassphrase(['--export-secret-key-p12', email]), 'export-secret-key-p12');
    return { p12: r.stdout, passphrase: readFileSync(this.passphraseFile, 'utf8') };
  }

  /** A DER SignedData by the identity with `signerEmail`: detached, or with the content inside. */
  sign(content: Buffer, signerEmail: string, detached: boolean): Buffer {
    const mode = detached ? '--detach-sign' : '--sign';
    return this.check(this.withPassphrase(['--local-user', signerEmail, mode, '--output', '-'], content), 'sign')
      .stdout;
  }

  /**
   * Verifies a DER SignedData (with `content` when detached). `ok` means a good signature from a
   * certificate that chains to a trusted root; `content` is the encapsulated content, if any.
   */
  verify(signature: Buffer, content?: Buffer): { ok: boolean; stderr: string; content: Buffer } {
    const sig = this.file(signature);
    const out = join(this.home, `verified-${this.seq++}`);
    const args = ['--status-fd', '2', '--output', out, '--verify', sig];
    if (content) args.push(this.file(content));
    const r = this.run(args);
    const good = /^\[GNUPG:\] GOODSIG /m.test(r.stderr) && /^\[GNUPG:\] TRUST_FULLY/m.test(r.stderr);
    const bad = /^\[GNUPG:\] (BADSIG|ERRSIG|TRUST_NEVER)/m.test(r.stderr);
    let encapsulated = Buffer.alloc(0);
    try {
      encapsulated = readFileSync(out);
    } catch {
      // detached signatures write no content
    }
    return { ok: r.status === 0 && good && !bad, stderr: r.stderr, content: encapsulated };
  }

  /**
   * A DER EnvelopedData to the certificates of `recipientEmails`, with gpgsm's default content
   * cipher (AES-128-CBC) unless `cipher` names another (`AES256`, `3DES`, ...).
   */
  encrypt(content: Buffer, recipientEmails: string[], cipher?: string): Buffer {
    const args = recipientEmails.flatMap((r) => ['--recipient', this.recipient(r)]);
    if (cipher) args.push('--cipher-algo', cipher);
    return this.check(this.run([...args, '--encrypt', '--output', '-'], content), 'encrypt').stdout;
  }

  /**
   * gpgsm stores every certificate a verified message carries, so an address can become ambiguous
   * ("Ambiguous name"); a certificate given at creation is named by its fingerprint instead.
   */
  private recipient(email: string): string {
    const cert = this.known.find((c) => c.checkEmail(email) !== undefined);
    return cert ? cert.fingerprint.replaceAll(':', '') : email;
  }

  /** Decrypts a DER EnvelopedData with the identities' keys. */
  decrypt(der: Buffer): { ok: boolean; plaintext: Buffer; stderr: string } {
    const r = this.withPassphrase(['--status-fd', '2', '--decrypt', '--output', '-'], der);
    const ok = r.status === 0 && /^\[GNUPG:\] DECRYPTION_OKAY/m.test(r.stderr);
    return { ok, plaintext: ok ? r.stdout : Buffer.alloc(0), stderr: r.stderr };
  }

  /** Stops the agent of this home and deletes it. */
  close(): void {
    spawnSync('gpgconf', ['--homedir', this.home, '--kill', 'all'], { stdio: 'ignore', timeout: TIMEOUT_MS });
    rmSync(this.home, { recursive: true, force: true });
  }
}

import type { Finding } from '@sealpost/core';
import { ServiceError } from '../errors.ts';

/** A template field is invalid; `field` names it as a JSON path (e.g. `validityDays`, `keys.rsaMinBits`). */
export class TemplateError extends ServiceError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('TEMPLATE_INVALID', `Template field ${field}: ${message}`);
    this.name = 'TemplateError';
    this.field = field;
  }
}

/** The certificate about to be issued failed the S/MIME BR lint; it was neither stored nor returned. */
export class LintFailedError extends ServiceError {
  /** The error findings that blocked issuance (warnings and notices are not listed). */
  readonly findings: readonly Finding[];
  constructor(findings: readonly Finding[]) {
    super(
      'LINT_FAILED',
      `The certificate was not issued: it breaks the S/MIME Baseline Requirements: ${findings
        .map((f) => `${f.rule} (§${f.section}): ${f.message}`)
        .join(' ')}`,
    );
    this.name = 'LintFailedError';
    this.findings = findings;
  }
}

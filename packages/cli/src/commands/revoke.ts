/** `sealpost revoke`: revokes a certificate; the next CRL and OCSP answers show it. */
import { CLIENT_HELP, CLIENT_OPTIONS, clientFor, emit, exactlyOne, seg } from '../api-client.ts';
import { type Command, str } from '../command.ts';
import { UsageError } from '../io.ts';

const REASONS = [
  'unspecified',
  'keyCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
];

export const revoke: Command = {
  name: 'revoke',
  summary: 'revoke a certificate by serial number',
  usage: 'sealpost revoke SERIAL --reason REASON',
  help: `Options:
      --reason REASON       ${REASONS.join(', ')}
${CLIENT_HELP}

Example:
  sealpost revoke 4f3a9c0e12 --reason keyCompromise`,
  options: { ...CLIENT_OPTIONS, reason: { type: 'string' } },
  positionals: true,
  async run(v, positionals, io) {
    const serial = exactlyOne(positionals, 'serial number', 'sealpost revoke SERIAL --reason REASON');
    const reason = str(v['reason']);
    if (reason === undefined || !REASONS.includes(reason))
      throw new UsageError(`--reason must be one of ${REASONS.join(', ')}`);
    const result = await (await clientFor(v, io)).json<unknown>('POST', `/api/v1/certificates/${seg(serial)}/revoke`, {
      json: { reason },
    });
    emit(io, v, result ?? { serial, reason }, `revoked ${serial} (${reason})`);
    return 0;
  },
};

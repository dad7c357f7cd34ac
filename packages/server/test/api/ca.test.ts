import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRoot, DEFAULT_TEMPLATE_NAMES, ROOT_SUBJECT, Scratch } from './pki-support.ts';
import { type ApiServer, DIALECTS, startApi } from './support.ts';

for (const dialect of DIALECTS) {
  describe(`CA and template API on ${dialect}`, () => {
    let api: ApiServer;
    const scratch = new Scratch();
    let caId: string;

    before(async () => {
      api = await startApi(dialect);
    });
    after(async () => {
      scratch.dispose();
      await api.stop();
    });

    it('creates a root CA (and installs the ready-made templates with the first one)', async () => {
      const user = await api.login('plain@example.test', 'user');
      const refused = await user.post('/api/v1/cas', {
        name: 'X',
        subject: ROOT_SUBJECT,
        keyAlgorithm: 'p-256',
        validityDays: 10,
      });
      assert.equal(refused.status, 403);
      const bad = await api.admin.post('/api/v1/cas', {
        name: 'X',
        subject: ROOT_SUBJECT,
        keyAlgorithm: 'rsa-1024',
        validityDays: 10,
      });
      assert.equal(bad.status, 422);
      assert.equal(bad.json()['code'], 'VALIDATION_FAILED');

      caId = await createRoot(api.admin, scratch);
      scratch.must('verify', '-CAfile', 'ca.pem', 'ca.pem');
      const listed = (await api.admin.get('/api/v1/cas')).json() as {
        items: { id: string; status: string; subject: string }[];
      };
      assert.deepEqual(
        listed.items.map((c) => [c.id, c.status]),
        [[caId, 'active']],
      );
      assert.match(listed.items[0]!.subject, /CN=Example API Root/);
      const one = await api.admin.get(`/api/v1/cas/${caId}`);
      assert.equal(one.status, 200);
      assert.equal((await api.admin.get('/api/v1/cas/no-such-ca')).status, 404);
      const duplicate = await api.admin.post('/api/v1/cas', {
        name: 'Example Root',
        subject: ROOT_SUBJECT,
        keyAlgorithm: 'p-256',
        validityDays: 10,
      });
      assert.equal(duplicate.status, 409);
      const templates = (await api.admin.get('/api/v1/templates')).json() as { items: { name: string }[] };
      assert.deepEqual(
        templates.items.map((t) => t.name),
        DEFAULT_TEMPLATE_NAMES,
      );
    });

    it('serves the CA certificate publicly as DER', async () => {
      const res = await fetch(`${api.url}/pki/ca/${caId}.crt`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/pkix-cert');
      scratch.write('ca.der', new Uint8Array(await res.arrayBuffer()));
      assert.match(scratch.must('x509', '-inform', 'DER', '-in', 'ca.der', '-noout', '-subject'), /Example API Root/);
      assert.equal((await fetch(`${api.url}/pki/ca/${caId}.pem`)).status, 422);
    });

    it('starts an intermediate CA and completes it with the certificate an external root signed', async () => {
      const res = await api.admin.post('/api/v1/cas/requests', {
        name: 'Intermediate',
        subject: [{ type: 'CN', value: 'Example Intermediate' }],
        keyAlgorithm: 'p-256',
      });
      assert.equal(res.status, 201);
      const { caId: pendingId, csrPem } = res.json() as { caId: string; csrPem: string };
      assert.equal(((await api.admin.get(`/api/v1/cas/${pendingId}`)).json() as { status: string }).status, 'pending');
      scratch.write('int.csr', csrPem);
      scratch.must(
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'ext.key',
        '-out',
        'ext.pem',
        '-subj',
        '/CN=External Root',
        '-days',
        '3650',
      );
      scratch.write('ext.cnf', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
      scratch.must(
        'x509',
        '-req',
        '-in',
        'int.csr',
        '-CA',
        'ext.pem',
        '-CAkey',
        'ext.key',
        '-CAcreateserial',
        '-days',
        '1000',
        '-extfile',
        'ext.cnf',
        '-out',
        'int.pem',
      );
      const done = await api.admin.post(`/api/v1/cas/${pendingId}/certificate`, {
        certificatePem: scratch.read('int.pem').toString(),
      });
      assert.equal(done.status, 200, done.text);
      assert.equal((done.json() as { status: string }).status, 'active');
      const wrong = await api.admin.post(`/api/v1/cas/${pendingId}/certificate`, {
        certificatePem: scratch.read('int.pem').toString(),
      });
      assert.equal(wrong.status, 404);
    });

    it('imports an existing CA with its key', async () => {
      scratch.must(
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'imp.key',
        '-out',
        'imp.pem',
        '-subj',
        '/CN=Imported Root',
        '-days',
        '3650',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      );
      const res = await api.admin.post('/api/v1/cas/import', {
        name: 'Imported',
        certificatePem: scratch.read('imp.pem').toString(),
        keyPem: scratch.read('imp.key').toString(),
      });
      assert.equal(res.status, 201, res.text);
      const mismatch = await api.admin.post('/api/v1/cas/import', {
        name: 'Imported 2',
        certificatePem: scratch.read('imp.pem').toString(),
        keyPem: scratch.read('ext.key').toString(),
      });
      assert.equal(mismatch.status, 422);
      assert.equal(mismatch.json()['code'], 'INVALID_ARGUMENT');
    });

    it('edits a template; an invalid one is refused naming the field', async () => {
      const changed = await api.admin.put('/api/v1/templates/signing-only', {
        caId,
        validityDays: 200,
        renewalWindowDays: 30,
      });
      assert.equal(changed.status, 200, changed.text);
      assert.equal((await api.admin.get('/api/v1/templates/signing-only')).json()['validityDays'], 200);

      const invalid = await api.admin.put('/api/v1/templates/signing-only', { validityDays: 900 });
      assert.equal(invalid.status, 422);
      const problem = invalid.json() as { code: string; detail: string; errors: { pointer: string }[] };
      assert.equal(problem.code, 'TEMPLATE_INVALID');
      assert.equal(problem.errors[0]!.pointer, '/body/validityDays');
      assert.match(problem.detail, /validityDays/);
      const nested = await api.admin.put('/api/v1/templates/dual-use', {
        keys: { rsaMinBits: 1000, ecCurves: [], ed25519: false },
      });
      assert.equal(nested.json()['code'], 'TEMPLATE_INVALID');
      assert.equal((nested.json() as { errors: { pointer: string }[] }).errors[0]!.pointer, '/body/keys/rsaMinBits');
      const unknownCa = await api.admin.put('/api/v1/templates/dual-use', { caId: 'nope' });
      assert.equal((unknownCa.json() as { errors: { pointer: string }[] }).errors[0]!.pointer, '/body/caId');
      assert.equal((await api.admin.put('/api/v1/templates/dual-use', '[1]')).status, 400);

      // A new template needs every field.
      const partial = await api.admin.put('/api/v1/templates/new-one', { purpose: 'signing' });
      assert.equal(partial.status, 422);
      const full = { ...((await api.admin.get('/api/v1/templates/signing-only')).json() as Record<string, unknown>) };
      delete full['name'];
      const created = await api.admin.put('/api/v1/templates/new-one', full);
      assert.equal(created.status, 201, created.text);
      assert.equal((await api.admin.get('/api/v1/templates/new-one')).status, 200);
      assert.equal((await api.admin.get('/api/v1/templates/missing')).status, 404);
      const operator = await api.login('operator@example.test', 'operator');
      assert.equal((await operator.put('/api/v1/templates/new-one', full)).status, 200);
      const auditor = await api.login('auditor@example.test', 'auditor');
      assert.equal((await auditor.put('/api/v1/templates/new-one', full)).status, 403);
      assert.equal((await auditor.get('/api/v1/templates')).status, 200);
    });
  });
}

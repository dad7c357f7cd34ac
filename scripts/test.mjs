// The project's test command: Node's built-in runner over every package's tests.
// Extra arguments narrow the run: `npm test -- packages/core` or a test file path.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const fuzzOnly = args.includes('--fuzz-only');
const paths = args.filter((a) => !a.startsWith('--'));
const globs = fuzzOnly
  ? ['packages/*/test/**/*.fuzz.test.ts']
  : paths.length > 0
    ? paths.map((p) => (p.endsWith('.ts') ? p : `${p.replace(/\/$/, '')}/test/**/*.test.ts`))
    : ['packages/*/test/**/*.test.ts'];
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=4', '--test-timeout=300000', ...globs], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);

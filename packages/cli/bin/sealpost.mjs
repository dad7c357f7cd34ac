#!/usr/bin/env node
// The `sealpost` command. Plain JavaScript on purpose: it must start on an older Node, find
// Node >= 24 (the machine's, or the one `npm install` put into the repository's .node/),
// and hand over to the TypeScript entry point, which Node 24 runs directly.
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(realpathSync(fileURLToPath(import.meta.url)));
const entry = join(here, '..', 'src', 'main.ts');

if (Number(process.versions.node.split('.')[0]) >= 24) {
  // Cache the compiled (type-stripped) modules between runs: start-up is most of a small command's time.
  const { enableCompileCache } = await import('node:module');
  enableCompileCache();
  const { run } = await import(entry);
  process.exitCode = await run(process.argv.slice(2));
} else {
  const pkg = `node-${process.platform}-${process.arch}`;
  let node;
  for (let dir = here; ; dir = dirname(dir)) {
    const candidate = join(dir, '.node', 'node_modules', pkg, 'bin', 'node');
    if (existsSync(candidate)) {
      node = candidate;
      break;
    }
    if (dirname(dir) === dir) break;
  }
  if (!node) {
    process.stderr.write(
      `sealpost: needs Node.js 24 or newer (this is ${process.versions.node}); run "npm install" in the Sealpost repository, which installs it locally, or install Node.js 24.\n`,
    );
    process.exit(2);
  }
  const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  // Signals meant for `sealpost` (a shell's kill, Ctrl-C) go to the real process: `serve` shuts down gracefully.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}

#!/usr/bin/env node
// Runs a script under Node.js >= 24, installing Node 24 into the project-local,
// git-ignored prefix `.node/` when the machine's own `node` is older.
// Written for old Node on purpose: it is what runs before Node 24 exists.
//   node scripts/node24.mjs --ensure         install if needed, print the path
//   node scripts/node24.mjs FILE [ARGS...]   run FILE with Node >= 24
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MIN_MAJOR = 24;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prefix = join(root, '.node');
const pkg = `node-${process.platform}-${process.arch}`;
const localNode = join(prefix, 'node_modules', pkg, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');

function major(v) {
  return Number(String(v).replace(/^v/, '').split('.')[0]);
}

function findNode() {
  if (major(process.versions.node) >= MIN_MAJOR) return process.execPath;
  if (existsSync(localNode)) return localNode;
  return undefined;
}

function install() {
  process.stderr.write(
    `sealpost: Node ${process.versions.node} is older than ${MIN_MAJOR}; installing ${pkg}@${MIN_MAJOR} into .node/ ...\n`,
  );
  // The platform package carries the official binary, so no install script has to run.
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(
    npm,
    ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, `${pkg}@${MIN_MAJOR}`],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  if (r.status !== 0 || !existsSync(localNode)) {
    process.stderr.write(
      `sealpost: could not install Node ${MIN_MAJOR}; install Node.js ${MIN_MAJOR} or newer and retry.\n`,
    );
    process.exit(1);
  }
  return localNode;
}

const node = findNode() ?? install();
const args = process.argv.slice(2);
if (args[0] === '--ensure') {
  if (args.includes('--print')) process.stdout.write(`${node}\n`);
  process.exit(0);
}
const r = spawnSync(node, args, { stdio: 'inherit' });
if (r.signal) process.kill(process.pid, r.signal);
process.exit(r.status ?? 1);

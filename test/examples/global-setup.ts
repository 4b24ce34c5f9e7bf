/**
 * One provider for every example test, started as `npm start` starts it (a free port, a
 * throwaway state and secrets file: test/e2e/support/provider.ts), and each example
 * installed from its own lockfile with `npm ci` in its folder (skipped when its
 * node_modules is already there), all at once.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import type { TestProject } from 'vitest/node';
import { startProvider, type Provider } from '../e2e/support/provider.ts';
import { EXAMPLES, examplesRoot } from './support/paths.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    issuer: string;
    registrationToken: string;
    adminToken: string;
  }
}

/** `npm ci` in one example's folder, unless its node_modules is there; rejects with npm's output. */
function install(example: string): Promise<void> {
  const cwd = join(examplesRoot, example);
  if (existsSync(join(cwd, 'node_modules'))) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['ci', '--no-audit', '--no-fund'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm ci in examples/${example} exited with ${code}:\n${output}`))));
  });
}

let provider: Provider | undefined;

export async function setup(project: TestProject) {
  const started = Date.now();
  // EXAMPLES_ISSUER and EXAMPLES_DEV_VARS: a provider already running (`npm start`) and its secrets file, while
  // working on an example; otherwise a provider of the tests' own.
  const running = process.env.EXAMPLES_ISSUER;
  const [own] = await Promise.all([running ? undefined : startProvider(), ...EXAMPLES.map(install)]);
  provider = own;
  const vars = parseEnv(readFileSync(own?.devVarsPath ?? process.env.EXAMPLES_DEV_VARS ?? '.dev.vars', 'utf8'));
  project.provide('issuer', own?.issuer ?? running!);
  project.provide('registrationToken', vars.REGISTRATION_TOKEN ?? '');
  project.provide('adminToken', vars.ADMIN_TOKEN ?? '');
  console.log(`examples: provider at ${own?.issuer ?? running} and ${EXAMPLES.length} examples installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

export async function teardown() {
  await provider?.stop();
}

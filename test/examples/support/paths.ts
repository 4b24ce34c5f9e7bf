import { fileURLToPath } from 'node:url';

/** The examples the tests install and drive, each a folder of examples/ with its own lockfile. */
export const EXAMPLES = ['authjs', 'better-auth', 'passport', 'resource-server'] as const;
export type Example = (typeof EXAMPLES)[number];

export const examplesRoot = fileURLToPath(new URL('../../../examples', import.meta.url));

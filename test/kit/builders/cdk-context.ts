import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');

/** The context cdk.json gives the app, so tests build the template that `cdk synth` builds. */
export function cdkJsonContext(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return { ...cdkJson.context, ...overrides };
}

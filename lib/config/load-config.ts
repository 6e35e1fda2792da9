import { type StageConfig, stageSchema } from './schema';

export interface ResolvedStage {
  readonly stageName: string;
  readonly config: StageConfig;
}

/** Thrown when cdk.json / -c context does not describe a valid stage. Lists every problem at once. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid broker configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
  }
}

const STAGE_NAME = /^[a-z][a-z0-9-]{0,19}$/;

/**
 * Resolves the stage chosen with `-c stage=<name>` (default: the context's `stage`) from the
 * context's `stages` map and validates it. `getContext` is the CDK node's tryGetContext, so
 * tests can pass the same context cdk.json holds.
 */
export function loadStageConfig(getContext: (key: string) => unknown): ResolvedStage {
  const stageName = getContext('stage');
  const stages = getContext('stages');
  const problems: string[] = [];

  if (typeof stageName !== 'string' || !STAGE_NAME.test(stageName)) {
    problems.push(
      `stage: ${JSON.stringify(stageName)} is not a stage name — pass -c stage=<name> with a lower-case name of at most 20 characters`,
    );
  }
  if (typeof stages !== 'object' || stages === null || Array.isArray(stages)) {
    problems.push('stages: missing — add a "stages" object to the context in cdk.json, e.g. {"dev": {}}');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const name = stageName as string;
  const raw = (stages as Record<string, unknown>)[name];
  if (raw === undefined) {
    const known = Object.keys(stages as object).join(', ') || '(none)';
    throw new ConfigError([
      `stages.${name}: no such stage — known stages: ${known}; add it to "stages" in cdk.json`,
    ]);
  }

  const parsed = stageSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const path = ['stages', name, ...issue.path.map(String)].join('.');
        const keys =
          issue.code === 'unrecognized_keys'
            ? ` (${issue.keys.join(', ')}): not a setting — check the spelling against the configuration reference in README.md`
            : '';
        return `${path}: ${keys ? `unknown key${keys}` : issue.message}`;
      }),
    );
  }
  return { stageName: name, config: parsed.data };
}

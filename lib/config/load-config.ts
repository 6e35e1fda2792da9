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

  const settings = parseStageSettings(raw, ['stages', name]);
  if (!settings.ok) throw new ConfigError(settings.problems);
  return { stageName: name, config: settings.config };
}

/**
 * Validates one stage's settings (the `stages.<name>` object of cdk.json, or a TokenBroker's
 * `settings` prop) and fills in the defaults. Every problem is returned, named by its path under
 * `pathPrefix`, so a caller can report them together with its own.
 */
export function parseStageSettings(
  raw: unknown,
  pathPrefix: readonly string[],
): { ok: true; config: StageConfig } | { ok: false; problems: string[] } {
  const parsed = stageSchema.safeParse(raw);
  if (parsed.success) return { ok: true, config: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => {
      const path = [...pathPrefix, ...issue.path.map(String)].join('.');
      const keys =
        issue.code === 'unrecognized_keys'
          ? ` (${issue.keys.join(', ')}): not a setting — check the spelling against the configuration reference in README.md`
          : '';
      return `${path}: ${keys ? `unknown key${keys}` : issue.message}`;
    }),
  };
}

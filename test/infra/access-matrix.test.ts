import { describe, expect, it } from 'vitest';
import { synthBroker } from '../kit/builders/synth';
import type { ActionId, PrincipalId } from './access-matrix/catalogue';
import { brokerWorld, evaluateCell } from './access-matrix/evaluate';
import { MATRIX_STAGES } from './access-matrix/expected';
import { documentedAccessMatrix, renderAccessMatrix } from './access-matrix/render';

/**
 * Who can do what, decided by an IAM policy evaluator (@cloud-copilot/iam-simulate) over the
 * synthesized template — identity policies, the secret, table, key and API policies, with each
 * caller's request context — not by the shape of the JSON. Any cell that differs from the expected
 * data fails, naming the cell.
 */
describe.each(Object.entries(MATRIX_STAGES))('access matrix: %s', (name, stage) => {
  it('every cell is decided as expected', async () => {
    // Prepare
    const { stack, template } = synthBroker(`access-matrix-${name}`, stage.overrides);
    const world = brokerWorld(stack, template);
    const cells = Object.entries(stage.expected).flatMap(([principal, row]) =>
      Object.entries(row ?? {}).map(([action, decision]) => ({
        principal: principal as PrincipalId,
        action: action as ActionId,
        decision,
      })),
    );

    // Act
    const actual = await Promise.all(
      cells.map(
        async (c) =>
          `${c.principal} × ${c.action}: ${await evaluateCell(world, stage.setting, c.principal, c.action)}`,
      ),
    );

    // Assess
    expect(cells.length).toBeGreaterThanOrEqual(60);
    expect(actual).toEqual(cells.map((c) => `${c.principal} × ${c.action}: ${c.decision}`));
  }, 120_000);
});

describe('access matrix in docs/security.md', () => {
  it('is the one generated from the expected data (npm run docs:access-matrix)', () => {
    expect(documentedAccessMatrix()).toBe(renderAccessMatrix());
  });
});

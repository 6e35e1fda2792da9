import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ACTIONS, type ActionId, PRINCIPALS, type PrincipalId } from './catalogue';
import { type Cells, MATRIX_STAGES, wasAllowBefore } from './expected';

/**
 * The access matrix as Markdown, from the expected decisions: docs/security.md carries it between
 * two markers, the access-matrix test checks the two are equal, and running this file rewrites it.
 */

export const SECURITY_DOC = path.resolve(__dirname, '..', '..', '..', 'docs', 'security.md');
const BEGIN =
  '<!-- access-matrix:begin — generated from test/infra/access-matrix/expected.ts by `npm run docs:access-matrix`; do not edit -->';
const END = '<!-- access-matrix:end -->';

function symbol(cells: Cells, principal: PrincipalId, action: ActionId): string {
  const decision = cells[principal]?.[action];
  if (decision === undefined) return 'n/a';
  if (decision === 'Allow') return 'Allow';
  return wasAllowBefore(principal, action) ? '**deny** ⚑' : '·';
}

function table(cells: Cells, principals: PrincipalId[]): string {
  const header = `| Action | ${principals.map((_, i) => `${i + 1}`).join(' | ')} |`;
  const rule = `|---|${principals.map(() => '---').join('|')}|`;
  const rows = (Object.keys(ACTIONS) as ActionId[]).map(
    (action) =>
      `| ${ACTIONS[action].label} | ${principals.map((p) => symbol(cells, p, action)).join(' | ')} |`,
  );
  return [header, rule, ...rows].join('\n');
}

export function renderAccessMatrix(): string {
  const stage = MATRIX_STAGES.default;
  const principals = Object.keys(PRINCIPALS).filter((p) => stage.expected[p as PrincipalId]) as PrincipalId[];
  const legend = principals.map((p, i) => `${i + 1}. ${PRINCIPALS[p].label}`).join('\n');
  const privateStage = MATRIX_STAGES.privateOrg;
  const differences = (Object.keys(PRINCIPALS) as PrincipalId[]).flatMap((p) =>
    (Object.keys(ACTIONS) as ActionId[])
      .filter(
        (a) =>
          privateStage.expected[p]?.[a] !== undefined &&
          privateStage.expected[p]?.[a] !== stage.expected[p]?.[a],
      )
      .map((a) => `- ${PRINCIPALS[p].label} — ${ACTIONS[a].label}: **${privateStage.expected[p]?.[a]}**`),
  );
  const count = (cells: Cells) =>
    Object.values(cells).reduce((n, row) => n + Object.keys(row ?? {}).length, 0);
  return [
    BEGIN,
    `Principals (columns):\n\n${legend}\n`,
    `${stage.title} (${count(stage.expected)} cells; \`Allow\` allowed, \`·\` denied, **deny** ⚑ denied now and allowed before issue 11, \`n/a\` not evaluated):\n`,
    table(stage.expected, principals),
    '',
    `${privateStage.title} (${count(privateStage.expected)} cells): as above, except\n`,
    differences.join('\n'),
    END,
  ].join('\n');
}

/** The matrix block currently in docs/security.md, or undefined if the markers are missing. */
export function documentedAccessMatrix(doc = readFileSync(SECURITY_DOC, 'utf8')): string | undefined {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  return start >= 0 && end > start ? doc.slice(start, end + END.length) : undefined;
}

if (require.main === module) {
  const doc = readFileSync(SECURITY_DOC, 'utf8');
  const current = documentedAccessMatrix(doc);
  if (!current) throw new Error(`${SECURITY_DOC} has no access-matrix markers`);
  writeFileSync(SECURITY_DOC, doc.replace(current, renderAccessMatrix()));
}

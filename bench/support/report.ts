import { writeFileSync } from 'node:fs';

export interface ReportSection {
  readonly title: string;
  /** What was measured and how, in a sentence or two. */
  readonly method: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
  readonly notes?: readonly string[];
}

function markdownTable(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${columns.join(' | ')} |`,
    `|${columns.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function textTable(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function printSection(section: ReportSection): void {
  console.log(`\n## ${section.title}\n${section.method}\n`);
  console.log(textTable(section.columns, section.rows));
  for (const note of section.notes ?? []) console.log(`  * ${note}`);
}

export function writeMarkdownReport(
  file: string,
  header: readonly string[],
  sections: readonly ReportSection[],
): void {
  const body = sections.map((s) =>
    [
      `## ${s.title}`,
      '',
      s.method,
      '',
      markdownTable(s.columns, s.rows),
      ...(s.notes?.length ? ['', ...s.notes.map((n) => `- ${n}`)] : []),
    ].join('\n'),
  );
  writeFileSync(file, `${[...header, '', ...body].join('\n\n')}\n`);
}

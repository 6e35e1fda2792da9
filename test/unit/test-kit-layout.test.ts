import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const KIT = path.join(__dirname, '..', 'kit');
const FOLDERS = ['local-aws', 'emulators', 'runners', 'fakes', 'builders'] as const;

const sources = (folder: string) =>
  readdirSync(path.join(KIT, folder))
    .filter((f) => /\.(ts|cjs)$/.test(f))
    .map((f) => ({ file: `${folder}/${f}`, text: readFileSync(path.join(KIT, folder, f), 'utf8') }));

describe('test kit layout', () => {
  it('only kit/vitest imports vitest, directly or through kit/vitest, so bench/ can use the rest', () => {
    const offenders = FOLDERS.flatMap(sources)
      .filter(({ text }) => /from '(vitest|vitest\/[^']*|\.\.\/vitest\/[^']*)'|require\('vitest/.test(text))
      .map(({ file }) => file);
    expect(offenders).toEqual([]);
  });

  it('every kit folder says what lives there', () => {
    for (const folder of [...FOLDERS, 'vitest']) {
      expect(readFileSync(path.join(KIT, folder, 'README.md'), 'utf8')).toMatch(/^# \S+/);
    }
  });
});

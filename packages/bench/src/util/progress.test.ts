import { lineProgress } from './progress';

describe('lineProgress', () => {
  it('prints a start line, one per 10%, and a done line', () => {
    const lines: string[] = [];
    const task = lineProgress((l) => lines.push(l)).task('mnist adam plain');
    for (let i = 1; i <= 100; i++) task.update(i / 100);
    task.done('acc 90%');
    expect(lines[0]).toMatch(/mnist adam plain: started$/);
    expect(lines.filter((l) => /: \d+%$/.test(l))).toHaveLength(9);
    expect(lines[lines.length - 1]).toMatch(/mnist adam plain: done acc 90%$/);
  });
});

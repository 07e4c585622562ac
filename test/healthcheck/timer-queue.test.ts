// The pool's timer queue against the obvious model: a list kept in (due time, push order).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimerQueue } from '../../src/healthcheck/timer-queue.ts';

type Step = { push: number } | { popAt: number };

describe('TimerQueue', () => {
  it('pops what is due, earliest first and in push order among equals, through any mix of pushes and pops', () => {
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ push: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ popAt: fc.integer({ min: -1, max: 50 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
        const queue = new TimerQueue<{ dueMs: number; n: number }>();
        const model: { dueMs: number; n: number }[] = [];
        let n = 0;
        for (const s of steps) {
          if ('push' in s) {
            const entry = { dueMs: s.push, n: n++ };
            queue.push(entry);
            model.push(entry);
            model.sort((a, b) => a.dueMs - b.dueMs || a.n - b.n);
          } else {
            const expected = model[0] !== undefined && model[0].dueMs <= s.popAt ? model.shift() : undefined;
            expect(queue.popDue(s.popAt)).toBe(expected);
          }
          expect(queue.size).toBe(model.length);
          expect(queue.peekDueMs()).toBe(model[0]?.dueMs);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

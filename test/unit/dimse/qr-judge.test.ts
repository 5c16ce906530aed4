import { describe, expect, it } from 'vitest';
import { CommandField, type Command } from '../../../src/dimse/command.js';
import {
  DimseStatusError,
  MoveDestinationUnknownError,
  RetrieveCancelledError,
  RetrieveIncompleteError,
  SubOperationsFailedError,
} from '../../../src/dimse/errors.js';
import { judgeRetrieve } from '../../../src/dimse/qr-scu.js';

function final(status: number, counts: Partial<Command> = {}): Command {
  return {
    commandField: CommandField.CMoveRsp,
    messageIdBeingRespondedTo: 1,
    hasDataset: false,
    status,
    ...counts,
  };
}

describe('judging a C-MOVE / C-GET final response', () => {
  it('accepts a success whose counts add up', () => {
    expect(judgeRetrieve(final(0, { completed: 3, failed: 0, warning: 0 }), 3)).toEqual({
      remaining: 0,
      completed: 3,
      failed: 0,
      warning: 0,
    });
  });

  it('turns a success with failed or warning sub-operations into an error', () => {
    expect(() => judgeRetrieve(final(0, { completed: 2, failed: 1 }), 3)).toThrow(
      SubOperationsFailedError,
    );
    expect(() => judgeRetrieve(final(0, { completed: 2, warning: 1 }), 3)).toThrow(
      SubOperationsFailedError,
    );
  });

  it('turns a success with fewer completed than announced into an error', () => {
    const judge = (): unknown => judgeRetrieve(final(0, { completed: 2 }), 5);
    expect(judge).toThrow(RetrieveIncompleteError);
    expect(judge).toThrow(/announced 5 instances/);
  });

  it('turns 0xB000 into an error with the counts', () => {
    try {
      judgeRetrieve(final(0xb000, { completed: 1, failed: 2 }), 3);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SubOperationsFailedError);
      expect((error as SubOperationsFailedError).counts.failed).toBe(2);
    }
  });

  it('names an unknown move destination', () => {
    expect(() => judgeRetrieve(final(0xa801), 0)).toThrow(MoveDestinationUnknownError);
  });

  it('reports cancellation and refusals as typed errors', () => {
    expect(() => judgeRetrieve(final(0xfe00, { completed: 1, remaining: 2 }), 3)).toThrow(
      RetrieveCancelledError,
    );
    for (const status of [0xa701, 0xa702, 0xa900, 0xc000, 0xc123]) {
      try {
        judgeRetrieve(final(status), 0);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(DimseStatusError);
        expect((error as DimseStatusError).status).toBe(status);
      }
    }
  });
});

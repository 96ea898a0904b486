import t from 'tap';
import { CofferError, REASONS, reasonForCode, isReason, type Reason } from '@coffer/protocol';

const reasons = Object.keys(REASONS) as Reason[];

t.test('the table: unique codes in their documented ranges, a message for each', async (t) => {
  const codes = reasons.map((r) => REASONS[r].code);
  t.equal(new Set(codes).size, codes.length, 'no two reasons share a code');
  for (const reason of reasons) {
    const { code, side, message } = REASONS[reason];
    if (code < 0) t.ok(code >= -32768 && code <= -32000, `${reason}: JSON-RPC range`);
    else if (side === 'daemon') t.ok(code >= 1000 && code < 1100, `${reason}: application range`);
    else t.ok(code >= 1100 && code < 1200, `${reason}: client transport range`);
    t.ok(message.length > 10, `${reason} has a message`);
    t.equal(reasonForCode(code), reason);
  }
  t.same(
    reasons.filter((r) => REASONS[r].code >= 1000 && REASONS[r].code < 1100).map((r) => [r, REASONS[r].code]),
    [
      ['NOT_FOUND', 1001], ['ALREADY_EXISTS', 1002], ['CONFLICT', 1003], ['LOCKED', 1010], ['BAD_PASSWORD', 1011],
      ['PASSWORD_REQUIRED', 1012], ['RATE_LIMITED', 1013], ['FORBIDDEN', 1014], ['STORAGE_FAILED', 1020], ['CORRUPT', 1021], ['READ_ONLY', 1022],
      ['TOO_LARGE', 1030], ['SHUTTING_DOWN', 1040], ['BUSY', 1041],
    ],
    'application codes are exactly the DESIGN §2 table (plus BUSY, and READ_ONLY and FORBIDDEN: DESIGN-NOTES)',
  );
});

t.test('every reason survives a trip over the wire', async (t) => {
  for (const reason of reasons) {
    const error = new CofferError(reason, undefined, { retryAfterS: 3 });
    const wire = JSON.parse(JSON.stringify(error.toWire()));
    t.equal(wire.data.reason, reason);
    const back = CofferError.fromWire(wire);
    t.equal(back.reason, reason);
    t.equal(back.code, error.code);
    t.equal(back.message, error.message);
    t.same(back.data, { retryAfterS: 3 });
    t.ok(back instanceof Error);
  }
});

t.test('fromWire with missing or contradicting fields', async (t) => {
  t.equal(CofferError.fromWire({ code: 1010, message: 'x' }).reason, 'LOCKED', 'reason from code when data is absent');
  t.equal(CofferError.fromWire({ code: 42, message: 'x' }).reason, 'PROTOCOL_VIOLATION');
  t.equal(CofferError.fromWire({ code: 1010, data: { reason: 'CONFLICT' } }).reason, 'PROTOCOL_VIOLATION');
  t.equal(CofferError.fromWire({ data: { reason: 'CONFLICT' } }).message, REASONS.CONFLICT.message);
  t.equal(isReason('toString'), false, 'inherited names are not reasons');
});

import fc from 'fast-check';
import { encodeDebugInfo, TYPE_URL_PREFIX } from '../../lib/protocol/error-details.js';
import { loadProtoRoot } from '../../lib/protocol/load-stub.js';
import { wellFormedString } from '../fixtures/arbitraries.js';

const DebugInfo = loadProtoRoot('google/rpc/error_details.proto').lookupType('google.rpc.DebugInfo');

describe('encodeDebugInfo', () => {
  it('packs a google.rpc.DebugInfo under its type URL', () => {
    const any = encodeDebugInfo({ stackEntries: ['at a', 'at b'], detail: 'boom' });
    expect(TYPE_URL_PREFIX).toBe('type.googleapis.com/');
    expect(any.typeUrl).toBe('type.googleapis.com/google.rpc.DebugInfo');
    expect(DebugInfo.toObject(DebugInfo.decode(any.value))).toEqual({ stack_entries: ['at a', 'at b'], detail: 'boom' });
  });

  it('writes exactly what protobufjs writes for any DebugInfo', () => {
    fc.assert(
      fc.property(fc.array(wellFormedString({ maxLength: 20 }), { maxLength: 5 }), wellFormedString({ maxLength: 20 }), (stackEntries, detail) => {
        const expected = DebugInfo.encode(DebugInfo.fromObject({ stack_entries: stackEntries, detail })).finish();
        expect(Array.from(encodeDebugInfo({ stackEntries, detail }).value)).toEqual(Array.from(expected));
      }),
    );
  });
});

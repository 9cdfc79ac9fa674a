import { createHash } from 'node:crypto';
import { approvalDigest } from '../../../src/approvals/approval-digest';
import { requestDigest, requestDigestBytes } from '../../../src/observability/request-digest';

describe('requestDigest', () => {
  it('is sha256:<hex> of the bytes, a string taken as UTF-8 (what `sha256sum` of the forwarded body prints)', () => {
    expect(requestDigest(Buffer.from('abc'))).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(requestDigest('{"x":"é"}')).toBe(requestDigest(Buffer.from('{"x":"é"}', 'utf8')));
    expect(requestDigestBytes(requestDigest('abc')).toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(() => requestDigestBytes('sha256:abc')).toThrow(/not a request digest/);
  });

  it("is what an approval's digest binds: an auditor recomputes the approval digest from a record's fields", () => {
    const call = { caller: 'spiffe://example.org/agents/a', principal: 'Agent::"a"', action: 'x.v1.S/M', upstream: 'files', task: 't1', onBehalfOf: 'https://idp.example#alice' };
    const message = Buffer.from([0x0a, 0x02, 0x2f, 0x61]);
    const put = (hash: ReturnType<typeof createHash>, bytes: Buffer) => {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      hash.update(length).update(bytes);
    };
    // docs/approvals.md, "The digest": the domain, then each field and the message's SHA-256, length-prefixed.
    const hash = createHash('sha256').update('toolgate-approval-v2');
    for (const field of [call.caller, call.principal, call.action, call.upstream, call.task, call.onBehalfOf]) put(hash, Buffer.from(field, 'utf8'));
    put(hash, createHash('sha256').update(message).digest());
    const expected = hash.digest('hex');
    expect(approvalDigest({ ...call, message })).toBe(expected);
    expect(approvalDigest({ ...call, requestDigest: requestDigest(message) })).toBe(expected);
  });
});

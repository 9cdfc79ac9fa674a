import { NoteSigner, NoteVerifier, openNote } from '../../../src/observability/signed-note';

// The example of Go's golang.org/x/mod/sumdb/note, the format's reference implementation.
const SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const NOTE = `${TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

describe('signed notes (C2SP), byte for byte as Go writes them', () => {
  it('signs the reference example with the reference key into the reference note, and reads the reference keys', () => {
    const signer = NoteSigner.parse(SKEY);
    expect(signer.sign(TEXT)).toBe(NOTE);
    expect(signer.verifier.verifierKey).toBe(VKEY);
    expect(signer.signerKey).toBe(SKEY);
    const { text, signatures } = openNote(NOTE);
    expect(text).toBe(TEXT);
    const verifier = NoteVerifier.parse(VKEY);
    expect(signatures[0]!.keyId.equals(verifier.keyId)).toBe(true);
    expect(verifier.verify(text, signatures[0]!.signature)).toBe(true);
    expect(verifier.verify(text.replace('answer', 'answex'), signatures[0]!.signature)).toBe(false);
  });

  it('refuses a key whose id does not match it, and names without spaces or "+"', () => {
    expect(() => NoteVerifier.parse(VKEY.replace('c74f20a3', 'c74f20a4'))).toThrow(/key id/);
    expect(() => NoteSigner.parse(SKEY.replace('c74f20a3', 'c74f20a4'))).toThrow(/key id/);
    expect(() => NoteSigner.generate('a b')).toThrow(/without spaces/);
    const generated = NoteSigner.generate('toolgate-test');
    expect(NoteSigner.parse(generated.signerKey).verifier.verifierKey).toBe(generated.verifier.verifierKey);
  });
});

// Original file: proto/spiffe/workload/workload.proto


export interface OutgoingX509SVID {
  /**
   * Required.
   */
  'spiffe_id'?: (string);
  /**
   * Required. ASN.1 DER certificates, concatenated, leaf first.
   */
  'x509_svid'?: (Buffer | Uint8Array | string);
  /**
   * Required. Unencrypted PKCS#8 DER private key.
   */
  'x509_svid_key'?: (Buffer | Uint8Array | string);
  /**
   * Required. ASN.1 DER CA certificates of the SVID's own trust domain, concatenated.
   */
  'bundle'?: (Buffer | Uint8Array | string);
  /**
   * Optional. An operator label distinguishing SVIDs, unique within one response.
   */
  'hint'?: (string);
}

export interface X509SVID {
  /**
   * Required.
   */
  'spiffe_id': (string);
  /**
   * Required. ASN.1 DER certificates, concatenated, leaf first.
   */
  'x509_svid': (Buffer);
  /**
   * Required. Unencrypted PKCS#8 DER private key.
   */
  'x509_svid_key': (Buffer);
  /**
   * Required. ASN.1 DER CA certificates of the SVID's own trust domain, concatenated.
   */
  'bundle': (Buffer);
  /**
   * Optional. An operator label distinguishing SVIDs, unique within one response.
   */
  'hint': (string);
}

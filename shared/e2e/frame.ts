/** Counter in front of the ciphertext, and the AES-GCM tag behind it (see secure-channel.ts). */
const OVERHEAD_BYTES = 8 + 16
const PREFIX = '{"event":"encrypted","data":"'
const SUFFIX = '"}'

/** The native frame that carries one sealed message (base64 needs no JSON escaping). */
export function encryptedFrame(sealed: string): string {
  return PREFIX + sealed + SUFFIX
}

/**
 * The length of the frame that carries a message of `plaintextBytes` once sealed, so that a
 * limit on messages can be applied to encrypted frames without refusing what plaintext allows.
 */
export function encryptedFrameLength(plaintextBytes: number): number {
  return PREFIX.length + 4 * Math.ceil((plaintextBytes + OVERHEAD_BYTES) / 3) + SUFFIX.length
}

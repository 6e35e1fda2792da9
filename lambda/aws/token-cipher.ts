import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { TOKEN_ENCRYPTION_PURPOSE } from '../../contract/token-encryption-context';

/**
 * Envelope encryption of the access token before it goes into DynamoDB, so read access to the
 * table alone reveals nothing: a reader also needs kms:Decrypt on the broker's key with this
 * encryption context, which only the broker's roles have. AES-256-GCM with a fresh data key per
 * token; the encryption context is bound into both KMS and the GCM tag (as AAD), so a ciphertext
 * copied into another table or stack does not decrypt.
 */

export interface EncryptedToken {
  /** KMS-encrypted data key, base64. */
  readonly encryptedKey: string;
  readonly iv: string;
  readonly ciphertext: string;
  readonly tag: string;
}

export class TokenCipher {
  private readonly context: Record<string, string>;

  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
    /** Binds ciphertexts to one cache (the table name). */
    cacheName: string,
  ) {
    this.context = { purpose: TOKEN_ENCRYPTION_PURPOSE, cache: cacheName };
  }

  async encrypt(plaintext: string): Promise<EncryptedToken> {
    const dataKey = await this.kms.send(
      new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: this.context }),
    );
    if (!dataKey.Plaintext || !dataKey.CiphertextBlob) throw new Error('KMS GenerateDataKey returned no key');
    const key = Buffer.from(dataKey.Plaintext);
    try {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(this.aad());
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return {
        encryptedKey: Buffer.from(dataKey.CiphertextBlob).toString('base64'),
        iv: iv.toString('base64'),
        ciphertext: ciphertext.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
      };
    } finally {
      key.fill(0);
      dataKey.Plaintext.fill(0);
    }
  }

  async decrypt(token: EncryptedToken): Promise<string> {
    const dataKey = await this.kms.send(
      new DecryptCommand({
        KeyId: this.keyId,
        CiphertextBlob: Buffer.from(token.encryptedKey, 'base64'),
        EncryptionContext: this.context,
      }),
    );
    if (!dataKey.Plaintext) throw new Error('KMS Decrypt returned no key');
    const key = Buffer.from(dataKey.Plaintext);
    try {
      // A shorter tag would be accepted (and be easier to forge) unless the length is pinned.
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(token.iv, 'base64'), {
        authTagLength: 16,
      });
      decipher.setAAD(this.aad());
      decipher.setAuthTag(Buffer.from(token.tag, 'base64'));
      return Buffer.concat([
        decipher.update(Buffer.from(token.ciphertext, 'base64')),
        decipher.final(),
      ]).toString('utf8');
    } finally {
      key.fill(0);
      dataKey.Plaintext.fill(0);
    }
  }

  private aad(): Buffer {
    return Buffer.from(JSON.stringify(this.context), 'utf8');
  }
}

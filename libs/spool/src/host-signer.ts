import { type HostKeyFileSetting, fileHostSigner } from '@metering/kafka';
import { type Logger } from '@metering/observability';

/**
 * The spool's `sign` option for a collector with a host key (ADR 0010): the key file is re-read
 * when it changes, so a rotated key signs the next records, spooled ones included; a rotation
 * that left a bad file is logged and the last good key keeps signing.
 */
export function hostSigner(
  setting: HostKeyFileSetting,
  logger: Logger,
): (key: Buffer, value: Buffer) => Record<string, string> {
  const signer = fileHostSigner(setting, {
    onReloadError: (error) =>
      logger.error(
        { err: error },
        'the host key file changed and cannot be used; signing with the previous key',
      ),
  });
  return (key, value) => signer.headers(key, value);
}

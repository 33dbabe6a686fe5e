// One CONNECT stream on an open client session: send the request, wait for the answer, hand back the stream on
// 200 and a typed error otherwise.
import {
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { HboneError } from './errors.ts';

/**
 * Opens the stream and resolves with it once the server answers 200. `onClose` runs exactly once when the stream
 * is gone, whatever happened (refused, failed, finished), so the pool slot is always returned.
 */
export function openConnectStream(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  onClose: () => void,
): Promise<ClientHttp2Stream> {
  const authority = String(headers[':authority']);
  let stream: ClientHttp2Stream;
  try {
    stream = session.request(headers, { endStream: false });
  } catch (err) {
    onClose();
    return Promise.reject(
      new HboneError('ERR_HBONE_SESSION', `could not open a CONNECT stream to ${authority}`, { cause: err }),
    );
  }
  stream.once('close', onClose);
  return new Promise<ClientHttp2Stream>((resolve, reject) => {
    const cleanup = () => {
      stream.off('response', onResponse);
      stream.off('error', onError);
      stream.off('close', onEarlyClose);
    };
    const onResponse = (h: { ':status'?: number }) => {
      cleanup();
      const status = Number(h[':status']);
      if (status === 200) {
        resolve(stream);
        return;
      }
      // Refused: drop the (empty) body and close our side too, so the slot is released now.
      stream.on('error', () => undefined);
      stream.resume();
      stream.close(constants.NGHTTP2_NO_ERROR);
      reject(
        new HboneError('ERR_HBONE_CONNECT_STATUS', `CONNECT ${authority} was answered ${status}`, { status }),
      );
    };
    const onError = (err: Error) => {
      cleanup();
      reject(
        new HboneError('ERR_HBONE_SESSION', `CONNECT ${authority} failed before an answer`, { cause: err }),
      );
    };
    const onEarlyClose = () => {
      cleanup();
      reject(
        new HboneError(
          'ERR_HBONE_SESSION',
          `CONNECT ${authority} stream closed before an answer (rst code ${stream.rstCode ?? 'none'})`,
        ),
      );
    };
    stream.once('response', onResponse);
    stream.once('error', onError);
    stream.once('close', onEarlyClose);
  });
}

// HTTP/2 settings of every HBONE session, client and server alike: Istio's ztunnel values (DESIGN §7).
import type { Settings } from 'node:http2';

const MiB = 1024 * 1024;

/** Receive window of one CONNECT stream: how far a peer may run ahead of a slow reader on that stream. */
export const STREAM_WINDOW_BYTES = 4 * MiB;
/**
 * Receive window of the whole session. Node consumes connection-level window as soon as bytes arrive (only the
 * stream window waits for the reader), so this mostly sizes bursts across streams.
 */
export const CONNECTION_WINDOW_BYTES = 16 * MiB;
/** Largest DATA frame we accept; large frames cut per-frame overhead on bulk transfers. */
export const MAX_FRAME_BYTES = 1 * MiB;
/** Streams per session; the client pool opens another session past this. */
export const MAX_STREAMS_PER_SESSION = 100;

export const H2_SETTINGS: Settings = {
  initialWindowSize: STREAM_WINDOW_BYTES,
  maxFrameSize: MAX_FRAME_BYTES,
  maxConcurrentStreams: MAX_STREAMS_PER_SESSION,
  enablePush: false,
};

/**
 * Node's per-session memory cap in MB (default 10). Past it Node refuses new streams with ENHANCE_YOUR_CALM;
 * 100 streams with 4 MiB windows need more than the default. Cost: a misbehaving peer may make one session hold
 * this much before streams are refused.
 */
export const MAX_SESSION_MEMORY_MB = 128;

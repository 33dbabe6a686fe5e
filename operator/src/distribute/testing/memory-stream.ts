// An in-memory stand-in for a grpc-js server duplex stream, for tests and benchmarks that drive the ConfigServer
// without sockets (the gRPC edge is covered by config-server.test.ts over real TLS). The "proxy" side reads the
// pushes written to it and answers with ACKs, as ConfigSubscription does.
import type * as pb from '@ambit/codegen/proto';
import { Metadata, type ServerDuplexStream } from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';

export class MemoryStream extends EventEmitter {
  readonly metadata = new Metadata();
  readonly written: pb.SubscribeResponse[] = [];
  destroyed = false;
  /** Called for each push, e.g. to answer it. */
  onWrite: ((push: pb.SubscribeResponse) => void) | undefined;

  constructor(token: string) {
    super();
    this.metadata.set('authorization', `Bearer ${token}`);
  }

  write(push: pb.SubscribeResponse): boolean {
    this.written.push(push);
    this.onWrite?.(push);
    return true;
  }

  end(): void {
    this.destroyed = true;
  }

  /** What the proxy sends. */
  send(request: pb.SubscribeRequest): void {
    this.emit('data', request);
  }

  /** The type the ConfigServer's handler takes (only the members above are used). */
  asServerStream(): ServerDuplexStream<pb.SubscribeRequest, pb.SubscribeResponse> {
    return this as unknown as ServerDuplexStream<pb.SubscribeRequest, pb.SubscribeResponse>;
  }
}

/**
 * The worker side of an IPC channel (see the worker mode in child.ts): requests arrive as messages, each
 * answer is sent back; when the parent goes away (the channel closes), the worker exits.
 */
export function serveRequests<Request, Reply>(handle: (request: Request) => Promise<Reply>): void {
  process.on('message', (request: Request) => {
    void handle(request).then((reply) => process.send?.(reply));
  });
  process.on('disconnect', () => process.exit(0));
}

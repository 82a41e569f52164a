import { createServer, type Server } from 'node:net';

/**
 * The local demo target: a TCP service that greets and echoes, so a session has something
 * to reach through its bastion without any other software installed.
 */
export async function startDemoTarget(host: string, port: number): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.write(
      `drawbridge demo target on ${host}:${port}: you came through your bastion. Type a line and it comes back; Ctrl-D leaves.\n`,
    );
    socket.pipe(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

import { createServer } from 'node:net';

/**
 * A TCP port that was free on `host` a moment ago: the kernel picks it for a listener on port 0,
 * which is then closed. Someone else may take it before our sshd binds it, so callers retry
 * when the bind fails with EADDRINUSE.
 */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close((error) => {
        if (error) reject(error);
        else if (port === 0) reject(new Error(`no port was assigned on ${host}`));
        else resolve(port);
      });
    });
  });
}

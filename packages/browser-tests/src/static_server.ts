// A minimal static file server on 127.0.0.1 for the test pages: a page must come from http(s) (not file://)
// for fetch() of the wasm binaries to work, and from localhost to be a secure context (navigator.gpu).
import { createReadStream, existsSync, statSync } from 'fs';
import { createServer, Server } from 'http';
import { AddressInfo } from 'net';
import { extname, join, normalize, sep } from 'path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm', // required by WebAssembly.instantiateStreaming
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/** Serves each URL prefix from its folder (`{ '/': dir, '/wasm/': otherDir }`); the longest prefix wins. */
export async function serveStatic(mounts: Record<string, string>): Promise<StaticServer> {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  for (const p of prefixes) {
    if (!p.startsWith('/') || !p.endsWith('/')) throw new Error(`serveStatic: mount '${p}' must start and end with '/'`);
    if (!existsSync(mounts[p])) throw new Error(`serveStatic: folder '${mounts[p]}' for mount '${p}' does not exist`);
  }
  const server: Server = createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const prefix = prefixes.find((p) => pathname.startsWith(p));
    let file: string | undefined;
    if (prefix !== undefined) {
      const root = normalize(mounts[prefix]);
      const candidate = normalize(join(root, pathname.slice(prefix.length)));
      // Never serve outside the mounted folder ('/../' in a URL).
      if (candidate === root || candidate.startsWith(root + sep)) file = candidate;
    }
    if (file !== undefined && existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (file === undefined || !existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${pathname}`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}

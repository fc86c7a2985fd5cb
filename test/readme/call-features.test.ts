/** Runs README's examples of the call context, compression, deadlines and cancellation, and mutual TLS on port 0. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Status } from '../../lib/index.js';
import { callWithMetadata, serveContext } from '../../sample/readme/context.js';
import { callCompressed, serveCompressed } from '../../sample/readme/compression.js';
import { giveUp, serveSlow } from '../../sample/readme/deadlines.js';
import { callMutualTls, serveMutualTls } from '../../sample/readme/tls.js';
import { makeTestCertificates } from '../helpers/certs.js';

describe('README: the call context', () => {
  it('metadata goes both ways, and setCode fails the call without a throw', async () => {
    const server = await serveContext('127.0.0.1:0');
    try {
      const result = await callWithMetadata(`127.0.0.1:${server.port}`);
      expect(result).toMatchObject({ servedBy: 'replica-1', reply: { message: 'AA', seqno: 0 }, requestId: 'r-1' });
      expect(result.failure).toMatchObject({ code: Status.OUT_OF_RANGE, message: 'multiplier must be at most 10' });
      expect(result.failure?.metadata.first('x-request-id')).toBe('r-2');
    } finally {
      await server.shutdown();
    }
  });
});

describe('README: compression', () => {
  it('requests and responses are compressed as configured', async () => {
    const server = await serveCompressed('127.0.0.1:0');
    try {
      const result = await callCompressed(`127.0.0.1:${server.port}`);
      expect(result.reply).toEqual({ message: 'A'.repeat(100), seqno: 1 });
      expect(result.plain).toEqual({ message: 'B'.repeat(100), seqno: 0 });
      expect(result.replyCompressed).toBe(true);
    } finally {
      await server.shutdown();
    }
  });
});

describe('README: deadlines and cancellation', () => {
  it('the client gives up at once, and every handler that started is aborted', async () => {
    // A call cancelled or timed out before its stream reached the server never starts a handler.
    let started = 0;
    const outcomes: string[] = [];
    let settle: () => void = () => {};
    const allEnded = new Promise<void>((resolve) => (settle = resolve));
    const server = await serveSlow('127.0.0.1:0', {
      started: () => void started++,
      ended: (outcome) => {
        outcomes.push(outcome);
        if (outcomes.length === started) settle();
      },
    });
    try {
      const began = Date.now();
      await expect(giveUp(`127.0.0.1:${server.port}`)).resolves.toEqual({ late: 'DEADLINE_EXCEEDED', cancelled: 'CANCELLED' });
      expect(Date.now() - began).toBeLessThan(20_000); // the handlers sleep 30 s unless aborted
      if (outcomes.length < started) await allEnded;
      for (const outcome of outcomes) expect(['aborted by CANCELLED', 'aborted by DEADLINE_EXCEEDED']).toContain(outcome);
    } finally {
      await server.shutdown();
    }
  });
});

describe('README: mutual TLS', () => {
  it('the client presents its certificate, which the handler sees', async () => {
    const pem = makeTestCertificates();
    const certs = mkdtempSync(path.join(os.tmpdir(), 'readme-certs-'));
    const files: Record<string, Buffer> = { 'ca.pem': pem.ca, 'server.pem': pem.serverCert, 'server.key': pem.serverKey, 'client.pem': pem.clientCert, 'client.key': pem.clientKey };
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(certs, name), content);
    const server = await serveMutualTls('127.0.0.1:0', certs);
    try {
      await expect(callMutualTls(`localhost:${server.port}`, certs)).resolves.toEqual({ message: 'hello, test-client', seqno: 0 });
    } finally {
      await server.shutdown();
      rmSync(certs, { recursive: true, force: true });
    }
  });
});

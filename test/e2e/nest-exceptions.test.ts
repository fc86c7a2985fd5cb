/**
 * Every row of the exception table of lib/nest/nest-error-mapping.ts, thrown from a Nest
 * controller and seen by a @grpc/grpc-js client and by our GrpcClient: before the response
 * (a unary call) and mid-stream (after a first message of a server stream).
 */
import 'reflect-metadata';
import * as grpc from '@grpc/grpc-js';
import { BadRequestException, Controller, HttpException, Module } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { lastValueFrom, Observable, toArray } from 'rxjs';
import { GrpcError, GrpcImplementing, GrpcMethod, Metadata, Status, UNEXPECTED_ERROR_MESSAGE } from '../../lib/index.js';
import { exampleStub, type ExampleReply, type ExampleRequest } from '../helpers/example-service.js';
import { collect, grpcJsUnary } from '../helpers/grpc-js.js';
import { grpcJsRejection, type NestGrpcApp, RecordingLogger, rejection, startNestApp } from '../helpers/nest-app.js';

const SECRET = 'secret internal detail 7f3a';

/** What the handler throws for a request value, and the status the client must see. */
interface Row {
  name: string;
  thrown: () => unknown;
  code: Status;
  message: string;
}

const httpRows: Array<[number, Status]> = [
  [401, Status.UNAUTHENTICATED],
  [403, Status.PERMISSION_DENIED],
  [404, Status.NOT_FOUND],
  [409, Status.ALREADY_EXISTS],
  [429, Status.RESOURCE_EXHAUSTED],
  [501, Status.UNIMPLEMENTED],
  [503, Status.UNAVAILABLE],
  [504, Status.DEADLINE_EXCEEDED],
  [500, Status.INTERNAL],
  [502, Status.INTERNAL],
  [418, Status.UNKNOWN],
];

const rows: Row[] = [
  {
    name: 'GrpcError, as is',
    thrown: () => new GrpcError(Status.FAILED_PRECONDITION, 'not ready yet', [], new Metadata({ 'x-why': 'warming-up' })),
    code: Status.FAILED_PRECONDITION,
    message: 'not ready yet',
  },
  {
    name: 'RpcException({ code, message })',
    thrown: () => new RpcException({ code: Status.NOT_FOUND, message: 'no such thing' }),
    code: Status.NOT_FOUND,
    message: 'no such thing',
  },
  { name: "RpcException('text')", thrown: () => new RpcException('plain text'), code: Status.UNKNOWN, message: 'plain text' },
  {
    name: 'HttpException 400 (BadRequestException)',
    thrown: () => new BadRequestException('bad input'),
    code: Status.INVALID_ARGUMENT,
    message: 'bad input',
  },
  ...httpRows.map(([http, code]) => ({
    name: `HttpException ${http}`,
    thrown: () => new HttpException(`http says ${http}`, http),
    code,
    message: `http says ${http}`,
  })),
  { name: 'a plain Error', thrown: () => new Error(SECRET), code: Status.UNKNOWN, message: UNEXPECTED_ERROR_MESSAGE },
  { name: 'a thrown string', thrown: () => SECRET, code: Status.UNKNOWN, message: UNEXPECTED_ERROR_MESSAGE },
];

function rowFor(request: ExampleRequest): Row {
  const row = rows.find((candidate) => candidate.name === request.value);
  if (row === undefined) throw new Error(`no row ${request.value}`);
  return row;
}

@Controller()
@GrpcImplementing(exampleStub)
class ThrowingController {
  /** Throws asynchronously, before any response. */
  @GrpcMethod()
  async unary_unary(request: ExampleRequest): Promise<ExampleReply> {
    await Promise.resolve();
    throw rowFor(request).thrown();
  }

  /** Sends one message, then fails. */
  @GrpcMethod()
  unary_stream(request: ExampleRequest): Observable<ExampleReply> {
    return new Observable((subscriber) => {
      subscriber.next({ message: 'first', seqno: 1 });
      setImmediate(() => subscriber.error(rowFor(request).thrown()));
    });
  }

  /** Throws synchronously, before reading the stream. */
  @GrpcMethod()
  stream_unary(): ExampleReply {
    throw new HttpException('gone', 410);
  }
}

@Module({ controllers: [ThrowingController] })
class ThrowingModule {}

describe('Nest exceptions become gRPC statuses', () => {
  let nest: NestGrpcApp;
  const logger = new RecordingLogger();

  beforeAll(async () => {
    nest = await startNestApp(ThrowingModule, { logger });
  });

  afterAll(async () => {
    await nest.close();
  });

  describe.each(rows)('$name', (row) => {
    it('unary, @grpc/grpc-js client', async () => {
      const error = await grpcJsRejection(grpcJsUnary(nest.grpcJs, 'unary_unary', { value: row.name }));
      expect(error.code).toBe(row.code);
      expect(error.details).toBe(row.message);
      expect(JSON.stringify(error.metadata.toJSON())).not.toContain(SECRET);
      if (row.name.startsWith('GrpcError')) expect(error.metadata.get('x-why')).toEqual(['warming-up']);
    });

    it('unary, our client', async () => {
      const error = await rejection(nest.ours.unary_unary({ value: row.name, multiplier: 1 }));
      expect(error.code).toBe(row.code);
      expect(error.message).toBe(row.message);
      expect(error.details).toEqual([]);
      if (row.name.startsWith('GrpcError')) expect(error.metadata.get('x-why')).toEqual(['warming-up']);
    });

    it('mid-stream, @grpc/grpc-js client', async () => {
      const { messages, status } = await collect(nest.grpcJs.unary_stream({ value: row.name }));
      expect(messages).toEqual([{ message: 'first', seqno: 1 }]);
      expect(status.code).toBe(row.code);
      expect(status.details).toBe(row.message);
    });

    it('mid-stream, our client', async () => {
      const received: ExampleReply[] = [];
      const error = await rejection(
        new Promise((resolve, reject) => nest.ours.unary_stream({ value: row.name, multiplier: 1 }).subscribe({ next: (reply: ExampleReply) => received.push(reply), error: reject, complete: resolve })),
      );
      expect(received).toEqual([{ message: 'first', seqno: 1 }]);
      expect(error.code).toBe(row.code);
      expect(error.message).toBe(row.message);
    });
  });

  it('a synchronous throw from a client-streaming handler maps too (HttpException 410: UNKNOWN)', async () => {
    const error = await rejection(nest.ours.stream_unary([{ value: 'a' }]));
    expect(error.code).toBe(Status.UNKNOWN);
    expect(error.message).toBe('gone');
    await expect(lastValueFrom(nest.ours.unary_stream({ value: 'GrpcError, as is', multiplier: 1 }).pipe(toArray()))).rejects.toMatchObject({
      code: Status.FAILED_PRECONDITION,
    });
  });

  it.each(['a plain Error', 'a thrown string'])('%s is logged on the server with its text, which never reaches the client', async (name) => {
    const before = logger.lines.length;
    await expect(nest.ours.unary_unary({ value: name, multiplier: 1 })).rejects.toMatchObject({ message: UNEXPECTED_ERROR_MESSAGE });
    const errors = logger.lines.slice(before).filter((line) => line.level === 'error');
    expect(errors.map((line) => line.message).join('\n')).toContain(SECRET);
  });

  it.each(['a plain Error', 'a thrown string'])('%s failing a response stream is logged on the server too, and its text never reaches the client', async (name) => {
    const before = logger.lines.length;
    await expect(lastValueFrom(nest.ours.unary_stream({ value: name, multiplier: 1 }).pipe(toArray()))).rejects.toMatchObject({
      code: Status.UNKNOWN,
      message: UNEXPECTED_ERROR_MESSAGE,
    });
    const errors = logger.lines.slice(before).filter((line) => line.level === 'error');
    expect(errors.map((line) => line.message).join('\n')).toContain(SECRET);
  });

  it('mapped exceptions are answers, not server faults: they are not logged as errors', async () => {
    const before = logger.lines.length;
    await expect(nest.ours.unary_unary({ value: 'HttpException 404', multiplier: 1 })).rejects.toMatchObject({ code: Status.NOT_FOUND });
    await expect(nest.ours.unary_unary({ value: 'RpcException({ code, message })', multiplier: 1 })).rejects.toMatchObject({ code: Status.NOT_FOUND });
    expect(logger.lines.slice(before).filter((line) => line.level === 'error')).toEqual([]);
  });

  it('grpc-js sees the codes under their names', () => {
    // A guard against the table and grpc-js disagreeing on numbering.
    expect(grpc.status.ALREADY_EXISTS).toBe(Status.ALREADY_EXISTS);
    expect(grpc.status.RESOURCE_EXHAUSTED).toBe(Status.RESOURCE_EXHAUSTED);
  });
});

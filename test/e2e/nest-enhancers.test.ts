/**
 * Nest enhancers around @GrpcMethod handlers, with both clients: guards, interceptors (per item
 * of a stream, and timing/logging of whole calls, cancellation included), pipes (ValidationPipe)
 * and exception filters, each seeing the context type 'rpc'.
 */
import 'reflect-metadata';
import * as grpc from '@grpc/grpc-js';
import {
  type ArgumentMetadata,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  Catch,
  Controller,
  type ExceptionFilter,
  type ExecutionContext,
  Injectable,
  Module,
  type NestInterceptor,
  type PipeTransform,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UnauthorizedException,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { IsInt, IsString, Max, Min, MinLength } from 'class-validator';
import { finalize, lastValueFrom, map, Observable, tap, throwError, toArray } from 'rxjs';
import { currentCallContext, GrpcContext, GrpcCtx, GrpcError, GrpcImplementing, GrpcMethod, type MessageStream, Status } from '../../lib/index.js';
import { exampleStub, type ExampleReply, type ExampleRequest } from '../helpers/example-service.js';
import { collect, grpcJsUnary } from '../helpers/grpc-js.js';
import { deferred, type Deferred, whenAborted } from '../helpers/harness.js';
import { grpcJsRejection, type NestGrpcApp, rejection, startNestApp } from '../helpers/nest-app.js';

/** What the enhancers saw, per test. */
const seen: { types: string[]; calls: string[] } = { types: [], calls: [] };

beforeEach(() => {
  seen.types = [];
  seen.calls = [];
});

function grpcJsMetadata(entries: Record<string, string>): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return metadata;
}

// ---------------------------------------------------------------------------------------------
// Guards

@Injectable()
class DenyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    seen.types.push(context.getType());
    return false;
  }
}

/** Lets a call through when its metadata carries `authorization: Bearer let-me-in`; throws 401 without any. */
@Injectable()
class TokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    seen.types.push(context.getType());
    const grpcContext = context.switchToRpc().getContext<GrpcContext>();
    const authorization = grpcContext.metadata.first('authorization');
    if (authorization === undefined) throw new UnauthorizedException('no token');
    return authorization === 'Bearer let-me-in';
  }
}

@Controller()
@GrpcImplementing(exampleStub)
class GuardedController {
  // Above @GrpcMethod here, below it elsewhere: the order of the decorators does not matter.
  @UseGuards(DenyGuard)
  @GrpcMethod()
  unary_unary(): ExampleReply {
    seen.calls.push('unary_unary');
    return { message: 'should not run', seqno: 0 };
  }

  @GrpcMethod()
  @UseGuards(TokenGuard)
  unary_stream(request: ExampleRequest): Observable<ExampleReply> {
    seen.calls.push('unary_stream');
    return new Observable((subscriber) => {
      subscriber.next({ message: request.value, seqno: 1 });
      subscriber.complete();
    });
  }

  @GrpcMethod()
  @UseGuards(TokenGuard)
  stream_stream(requests: MessageStream<ExampleRequest>): Observable<ExampleReply> {
    seen.calls.push('stream_stream');
    return requests.pipe(map((request, index) => ({ message: request.value, seqno: index + 1 })));
  }
}

@Module({ controllers: [GuardedController], providers: [DenyGuard, TokenGuard] })
class GuardsModule {}

describe('guards', () => {
  let nest: NestGrpcApp;
  beforeAll(async () => {
    nest = await startNestApp(GuardsModule);
  });
  afterAll(() => nest.close());

  it('a guard returning false: PERMISSION_DENIED, the handler never runs (grpc-js)', async () => {
    const error = await grpcJsRejection(grpcJsUnary(nest.grpcJs, 'unary_unary', { value: 'x' }));
    expect(error.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(seen.types).toEqual(['rpc']);
    expect(seen.calls).toEqual([]);
  });

  it('a guard returning false: PERMISSION_DENIED, the handler never runs (ours)', async () => {
    const error = await rejection(nest.ours.unary_unary({ value: 'x', multiplier: 1 }));
    expect(error.code).toBe(Status.PERMISSION_DENIED);
    expect(seen.types).toEqual(['rpc']);
    expect(seen.calls).toEqual([]);
  });

  it('a guard reading metadata from switchToRpc().getContext() on a server stream (grpc-js)', async () => {
    const denied = await collect(nest.grpcJs.unary_stream({ value: 'no' }, grpcJsMetadata({ authorization: 'Bearer wrong' })));
    expect(denied.status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(seen.calls).toEqual([]);
    const allowed = await collect(nest.grpcJs.unary_stream({ value: 'yes' }, grpcJsMetadata({ authorization: 'Bearer let-me-in' })));
    expect(allowed.status.code).toBe(grpc.status.OK);
    expect(allowed.messages).toEqual([{ message: 'yes', seqno: 1 }]);
    expect(seen.types).toEqual(['rpc', 'rpc']);
    expect(seen.calls).toEqual(['unary_stream']);
  });

  it('a guard reading metadata on a bidi stream (ours)', async () => {
    const denied = await rejection(lastValueFrom(nest.ours.stream_stream([{ value: 'a' }], { metadata: { authorization: 'nope' } })));
    expect(denied.code).toBe(Status.PERMISSION_DENIED);
    const replies = await lastValueFrom(
      nest.ours.stream_stream([{ value: 'a' }, { value: 'b' }], { metadata: { authorization: 'Bearer let-me-in' } }).pipe(toArray()),
    );
    expect(replies).toEqual([
      { message: 'a', seqno: 1 },
      { message: 'b', seqno: 2 },
    ]);
    expect(seen.types).toEqual(['rpc', 'rpc']);
    expect(seen.calls).toEqual(['stream_stream']);
  });

  it('a guard throwing UnauthorizedException: UNAUTHENTICATED with its message (both clients)', async () => {
    const ours = await rejection(lastValueFrom(nest.ours.stream_stream([{ value: 'a' }])));
    expect(ours.code).toBe(Status.UNAUTHENTICATED);
    expect(ours.message).toBe('no token');
    const { status } = await collect(nest.grpcJs.unary_stream({ value: 'x' }));
    expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(status.details).toBe('no token');
    expect(seen.calls).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Interceptors

interface Timing {
  type: string;
  path: string;
  handler: string;
  items: number;
  outcome: 'complete' | 'error' | 'unsubscribed';
  ms: number;
}

const timings: Timing[] = [];
let timingDone: Deferred<Timing> = deferred();

/** Times and logs a whole call with tap/finalize, whatever its pattern. */
@Injectable()
class TimingInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const start = performance.now();
    const entry: Timing = {
      type: context.getType(),
      path: context.switchToRpc().getContext<GrpcContext>().path,
      handler: context.getHandler().name,
      items: 0,
      outcome: 'unsubscribed',
      ms: 0,
    };
    return next.handle().pipe(
      tap({ next: () => entry.items++, complete: () => (entry.outcome = 'complete'), error: () => (entry.outcome = 'error') }),
      finalize(() => {
        entry.ms = performance.now() - start;
        timings.push(entry);
        timingDone.resolve(entry);
      }),
    );
  }
}

/** Maps every item of a streamed response. */
@Injectable()
class ShoutInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler<ExampleReply>): Observable<ExampleReply> {
    seen.types.push(context.getType());
    return next.handle().pipe(map((reply) => ({ ...reply, message: `${reply.message.toUpperCase()}!` })));
  }
}

/** Signals of the endless stream, for the cancellation test. */
let endless: { aborted: Deferred<unknown>; tornDown: Deferred<void> } = { aborted: deferred(), tornDown: deferred() };

@Controller()
@GrpcImplementing(exampleStub)
@UseInterceptors(TimingInterceptor)
class InterceptedController {
  @GrpcMethod()
  async unary_unary(request: ExampleRequest): Promise<ExampleReply> {
    await Promise.resolve();
    if (request.value === 'fail') throw new GrpcError(Status.ABORTED, 'failed on purpose');
    return { message: request.value, seqno: 0 };
  }

  /** `endless`: one message, then nothing until the client cancels; otherwise `multiplier` messages. */
  @GrpcMethod()
  @UseInterceptors(ShoutInterceptor)
  unary_stream(request: ExampleRequest, context: GrpcContext): Observable<ExampleReply> {
    if (request.value !== 'endless') {
      return new Observable((subscriber) => {
        for (let seqno = 1; seqno <= request.multiplier; seqno++) subscriber.next({ message: request.value, seqno });
        subscriber.complete();
      });
    }
    void whenAborted(context.signal).then(endless.aborted.resolve);
    return new Observable((subscriber) => {
      subscriber.next({ message: 'first', seqno: 1 });
      return () => endless.tornDown.resolve();
    });
  }

  @GrpcMethod()
  async stream_unary(requests: MessageStream<ExampleRequest>): Promise<ExampleReply> {
    let count = 0;
    for await (const _ of requests) count++;
    return { message: `got ${count}`, seqno: count };
  }

  @GrpcMethod()
  @UseInterceptors(ShoutInterceptor)
  stream_stream(requests: MessageStream<ExampleRequest>, context: GrpcContext): Observable<ExampleReply> {
    void whenAborted(context.signal).then(endless.aborted.resolve);
    return requests.pipe(map((request, index) => ({ message: request.value, seqno: index + 1 })));
  }
}

@Module({ controllers: [InterceptedController], providers: [TimingInterceptor, ShoutInterceptor] })
class InterceptorsModule {}

describe('interceptors', () => {
  let nest: NestGrpcApp;
  beforeAll(async () => {
    nest = await startNestApp(InterceptorsModule);
  });
  afterAll(() => nest.close());
  beforeEach(() => {
    timings.length = 0;
    timingDone = deferred();
    endless = { aborted: deferred(), tornDown: deferred() };
  });

  it('a timing interceptor sees a unary call, success and failure (grpc-js)', async () => {
    const { response } = await grpcJsUnary(nest.grpcJs, 'unary_unary', { value: 'hi' });
    expect(response).toEqual({ message: 'hi', seqno: 0 });
    const error = await grpcJsRejection(grpcJsUnary(nest.grpcJs, 'unary_unary', { value: 'fail' }));
    expect(error.code).toBe(grpc.status.ABORTED);
    expect(timings.map(({ type, path, handler, items, outcome }) => ({ type, path, handler, items, outcome }))).toEqual([
      { type: 'rpc', path: '/nameko.example/unary_unary', handler: 'unary_unary', items: 1, outcome: 'complete' },
      { type: 'rpc', path: '/nameko.example/unary_unary', handler: 'unary_unary', items: 0, outcome: 'error' },
    ]);
    expect(timings.every((timing) => timing.ms >= 0)).toBe(true);
  });

  it('an interceptor mapping each item of a server stream, under a timing interceptor (grpc-js)', async () => {
    const { messages, status } = await collect(nest.grpcJs.unary_stream({ value: 'abc', multiplier: 3 }));
    expect(status.code).toBe(grpc.status.OK);
    expect(messages).toEqual([1, 2, 3].map((seqno) => ({ message: 'ABC!', seqno })));
    expect(seen.types).toEqual(['rpc']);
    expect(await timingDone.promise).toMatchObject({ type: 'rpc', handler: 'unary_stream', items: 3, outcome: 'complete' });
  });

  it('an interceptor mapping each item of a server stream, under a timing interceptor (ours)', async () => {
    const replies = await lastValueFrom(nest.ours.unary_stream({ value: 'xy', multiplier: 2 }).pipe(toArray()));
    expect(replies).toEqual([
      { message: 'XY!', seqno: 1 },
      { message: 'XY!', seqno: 2 },
    ]);
    expect(await timingDone.promise).toMatchObject({ handler: 'unary_stream', items: 2, outcome: 'complete' });
  });

  it('mapping a bidi stream item by item: each reply comes back before the next request is sent (ours)', async () => {
    const requests = new Observable<ExampleRequest>((subscriber) => {
      subscriber.next({ value: 'one', multiplier: 1 });
      requestNext = () => {
        subscriber.next({ value: 'two', multiplier: 1 });
        subscriber.complete();
      };
    });
    let requestNext = (): void => undefined;
    const replies: ExampleReply[] = [];
    await new Promise<void>((resolve, reject) =>
      nest.ours.stream_stream(requests).subscribe({
        next: (reply: ExampleReply) => {
          replies.push(reply);
          requestNext();
        },
        error: reject,
        complete: resolve,
      }),
    );
    expect(replies).toEqual([
      { message: 'ONE!', seqno: 1 },
      { message: 'TWO!', seqno: 2 },
    ]);
    expect(await timingDone.promise).toMatchObject({ handler: 'stream_stream', items: 2, outcome: 'complete' });
  });

  it('a client-streaming call is timed once, with its one reply (grpc-js)', async () => {
    const reply = await new Promise<ExampleReply>((resolve, reject) => {
      const call = nest.grpcJs.stream_unary((error: grpc.ServiceError | null, value: ExampleReply) => (error ? reject(error) : resolve(value)));
      for (let i = 0; i < 5; i++) call.write({ value: String(i) });
      call.end();
    });
    expect(reply).toEqual({ message: 'got 5', seqno: 5 });
    expect(await timingDone.promise).toMatchObject({ type: 'rpc', handler: 'stream_unary', items: 1, outcome: 'complete' });
    expect(timings).toHaveLength(1);
  });

  it('cancelling a server stream through both interceptors aborts the handler signal and tears down its Observable (grpc-js)', async () => {
    const call = nest.grpcJs.unary_stream({ value: 'endless' });
    const done = collect(call);
    await new Promise((resolve) => call.once('data', resolve));
    call.cancel();
    const reason = await endless.aborted.promise;
    expect(reason).toBeInstanceOf(GrpcError);
    expect((reason as GrpcError).code).toBe(Status.CANCELLED);
    await endless.tornDown.promise;
    expect(await timingDone.promise).toMatchObject({ handler: 'unary_stream', items: 1, outcome: 'unsubscribed' });
    expect((await done).status.code).toBe(grpc.status.CANCELLED);
  });

  it('unsubscribing from a server stream through both interceptors cancels it on the server (ours)', async () => {
    const subscription = nest.ours.unary_stream({ value: 'endless', multiplier: 1 }).subscribe({
      next: (reply: ExampleReply) => {
        expect(reply).toEqual({ message: 'FIRST!', seqno: 1 });
        subscription.unsubscribe();
      },
    });
    expect(((await endless.aborted.promise) as GrpcError).code).toBe(Status.CANCELLED);
    await endless.tornDown.promise;
    expect(await timingDone.promise).toMatchObject({ handler: 'unary_stream', outcome: 'unsubscribed' });
  });

  it('cancelling a bidi stream through both interceptors aborts the handler signal (grpc-js)', async () => {
    const call = nest.grpcJs.stream_stream();
    const done = collect(call);
    call.write({ value: 'once' });
    await new Promise((resolve) => call.once('data', resolve));
    call.cancel();
    expect(((await endless.aborted.promise) as GrpcError).code).toBe(Status.CANCELLED);
    // A cancelled request stream completes its subscribers (by design: the signal says why), so
    // the mapped response completes too; the timing interceptor still sees the call end once.
    expect(await timingDone.promise).toMatchObject({ handler: 'stream_stream', items: 1 });
    expect(timings).toHaveLength(1);
    expect((await done).status.code).toBe(grpc.status.CANCELLED);
  });
});

/** Signals of the generator handlers, for the cancellation test. */
let generator: { finished: Deferred<void> } = { finished: deferred() };

@Catch()
class GeneratorErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    seen.types.push(`filter:${host.getType()}`);
    return throwError(() => new GrpcError(Status.DATA_LOSS, `filtered: ${exception instanceof Error ? exception.message : String(exception)}`));
  }
}

@Controller()
@GrpcImplementing(exampleStub)
@UseInterceptors(TimingInterceptor)
class GeneratorController {
  /** `endless`: yields until the call ends; `fail`: throws after one message; otherwise `multiplier` messages. */
  @GrpcMethod()
  @UseInterceptors(ShoutInterceptor)
  @UseFilters(GeneratorErrorFilter)
  async *unary_stream(request: ExampleRequest): AsyncIterable<ExampleReply> {
    try {
      if (request.value === 'endless') {
        for (let seqno = 1; ; seqno++) {
          yield { message: 'again', seqno };
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      for (let seqno = 1; seqno <= request.multiplier; seqno++) {
        yield { message: request.value, seqno };
        if (request.value === 'fail') throw new Error('the generator broke');
      }
    } finally {
      generator.finished.resolve();
    }
  }
}

@Module({ controllers: [GeneratorController], providers: [TimingInterceptor, ShoutInterceptor] })
class GeneratorModule {}

describe('interceptors and filters around an async-generator handler', () => {
  let nest: NestGrpcApp;
  beforeAll(async () => {
    nest = await startNestApp(GeneratorModule);
  });
  afterAll(() => nest.close());
  beforeEach(() => {
    timings.length = 0;
    timingDone = deferred();
    generator = { finished: deferred() };
  });

  it('a map interceptor applies to each yielded message; the timing interceptor counts them and ends with the stream (grpc-js)', async () => {
    const { messages, status } = await collect(nest.grpcJs.unary_stream({ value: 'gen', multiplier: 3 }));
    expect(status.code).toBe(grpc.status.OK);
    expect(messages).toEqual([1, 2, 3].map((seqno) => ({ message: 'GEN!', seqno })));
    expect(await timingDone.promise).toMatchObject({ type: 'rpc', handler: 'unary_stream', items: 3, outcome: 'complete' });
    await generator.finished.promise;
  });

  it('an error thrown by the generator reaches the method exception filter, after the first message (ours)', async () => {
    const received: ExampleReply[] = [];
    const error = await rejection(
      new Promise((resolve, reject) =>
        nest.ours.unary_stream({ value: 'fail', multiplier: 2 }).subscribe({ next: (reply: ExampleReply) => received.push(reply), error: reject, complete: resolve }),
      ),
    );
    expect(received).toEqual([{ message: 'FAIL!', seqno: 1 }]);
    expect(error.code).toBe(Status.DATA_LOSS);
    expect(error.message).toBe('filtered: the generator broke');
    expect(seen.types).toEqual(['rpc', 'filter:rpc']);
    expect(await timingDone.promise).toMatchObject({ items: 1, outcome: 'error' });
  });

  it('cancelling stops the generator (its finally runs) through both interceptors (ours and grpc-js)', async () => {
    const subscription = nest.ours.unary_stream({ value: 'endless', multiplier: 1 }).subscribe({ next: () => subscription.unsubscribe() });
    await generator.finished.promise;
    expect(await timingDone.promise).toMatchObject({ handler: 'unary_stream', outcome: 'unsubscribed' });

    generator = { finished: deferred() };
    timingDone = deferred();
    const call = nest.grpcJs.unary_stream({ value: 'endless' });
    const done = collect(call);
    await new Promise((resolve) => call.once('data', resolve));
    call.cancel();
    await generator.finished.promise;
    expect(await timingDone.promise).toMatchObject({ outcome: 'unsubscribed' });
    expect((await done).status.code).toBe(grpc.status.CANCELLED);
  });
});

// ---------------------------------------------------------------------------------------------
// Pipes

class GreetingDto {
  @IsString()
  @MinLength(3)
  value!: string;

  @IsInt()
  @Min(1)
  @Max(10)
  multiplier!: number;
}

/** A custom pipe on the payload, recording what Nest tells it. */
@Injectable()
class RecordingPipe implements PipeTransform {
  readonly seen: ArgumentMetadata[] = [];
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    this.seen.push(metadata);
    return value;
  }
}
const recordingPipe = new RecordingPipe();

@Controller()
@GrpcImplementing(exampleStub)
class ValidatedController {
  @GrpcMethod()
  @UsePipes(new ValidationPipe({ transform: true }))
  unary_unary(request: GreetingDto): ExampleReply {
    return { message: `${request instanceof GreetingDto ? 'dto' : 'plain'}:${request.value.repeat(request.multiplier)}`, seqno: 0 };
  }

  /** A ValidationPipe on the payload of a server stream, next to @Ctx(). */
  @GrpcMethod()
  unary_stream(@Payload(new ValidationPipe()) request: GreetingDto, @Ctx() context: GrpcContext): Observable<ExampleReply> {
    return new Observable((subscriber) => {
      subscriber.next({ message: `${request.value}@${context.path}`, seqno: 1 });
      subscriber.complete();
    });
  }

  /** A request stream under a method-wide pipe: the pipe sees the stream as it is. */
  @GrpcMethod()
  @UsePipes(recordingPipe)
  async stream_unary(requests: MessageStream<ExampleRequest>): Promise<ExampleReply> {
    let count = 0;
    for await (const _ of requests) count++;
    return { message: 'counted', seqno: count };
  }
}

@Module({ controllers: [ValidatedController] })
class PipesModule {}

describe('pipes', () => {
  let nest: NestGrpcApp;
  beforeAll(async () => {
    nest = await startNestApp(PipesModule);
  });
  afterAll(() => nest.close());

  it('a failing ValidationPipe: INVALID_ARGUMENT with the validation messages (grpc-js)', async () => {
    const error = await grpcJsRejection(grpcJsUnary(nest.grpcJs, 'unary_unary', { value: 'ab', multiplier: 11 }));
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toContain('value must be longer than or equal to 3 characters');
    expect(error.details).toContain('multiplier must not be greater than 10');
  });

  it('a failing ValidationPipe: INVALID_ARGUMENT with the validation messages (ours)', async () => {
    const error = await rejection(nest.ours.unary_unary({ value: 'abcd', multiplier: 0 }));
    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(error.message).toContain('multiplier must not be less than 1');
    expect(error.message).not.toContain('value must');
  });

  it('a passing ValidationPipe with transform hands the handler a DTO instance', async () => {
    await expect(nest.ours.unary_unary({ value: 'abc', multiplier: 2 })).resolves.toEqual({ message: 'dto:abcabc', seqno: 0 });
    const { response } = await grpcJsUnary(nest.grpcJs, 'unary_unary', { value: 'xyz', multiplier: 1 });
    expect(response.message).toBe('dto:xyz');
  });

  it('a parameter ValidationPipe on a server stream, next to @Ctx()', async () => {
    const denied = await collect(nest.grpcJs.unary_stream({ value: '', multiplier: 1 }));
    expect(denied.status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(denied.status.details).toContain('value must be longer than or equal to 3 characters');
    const replies = await lastValueFrom(nest.ours.unary_stream({ value: 'okay', multiplier: 1 }).pipe(toArray()));
    expect(replies).toEqual([{ message: 'okay@/nameko.example/unary_stream', seqno: 1 }]);
  });

  it('a method-wide pipe on a client stream sees the payload and the context, and the stream still flows', async () => {
    recordingPipe.seen.length = 0;
    await expect(nest.ours.stream_unary([{ value: 'a' }, { value: 'b' }, { value: 'c' }])).resolves.toEqual({ message: 'counted', seqno: 3 });
    expect(recordingPipe.seen.map((metadata) => metadata.type).sort()).toEqual(['body', 'custom']);
  });
});

@Controller()
@GrpcImplementing(exampleStub)
class GloballyValidatedController {
  /** Nest's @Ctx() types the context as a class: a global ValidationPipe must leave it alone. */
  @GrpcMethod()
  unary_unary(@Payload() request: GreetingDto, @Ctx() context: GrpcContext): ExampleReply {
    // The very context of the call, not a copy: trailing metadata set on it is sent.
    context.trailingMetadata.set('x-same-context', String(context === currentCallContext()));
    return { message: `${request.value}@${context.path}`, seqno: request.multiplier };
  }

  /** A request stream typed as an Observable (a class too), undecorated. */
  @GrpcMethod()
  async stream_unary(requests: Observable<ExampleRequest>): Promise<ExampleReply> {
    const all = await lastValueFrom(requests.pipe(toArray()));
    return { message: all.map((request) => request.value).join(','), seqno: all.length };
  }

  /** A request stream typed as an Observable under @Payload(), with @GrpcCtx(). */
  @GrpcMethod()
  stream_stream(@Payload() requests: Observable<ExampleRequest>, @GrpcCtx() context: GrpcContext): Observable<ExampleReply> {
    return requests.pipe(map((request, index) => ({ message: `${request.value}@${context.path}`, seqno: index + 1 })));
  }
}

@Module({ controllers: [GloballyValidatedController] })
class GlobalPipesModule {}

describe('a global ValidationPipe', () => {
  let nest: NestGrpcApp;
  beforeAll(async () => {
    nest = await startNestApp(GlobalPipesModule, { configure: (app) => app.useGlobalPipes(new ValidationPipe({ transform: true })) });
  });
  afterAll(() => nest.close());

  it('validates the payload and leaves @Ctx() GrpcContext alone', async () => {
    const call = nest.ours.call.unary_unary({ value: 'abc', multiplier: 4 });
    await expect(call.response).resolves.toEqual({ message: 'abc@/nameko.example/unary_unary', seqno: 4 });
    expect((await call.trailers).get('x-same-context')).toEqual(['true']);
    const error = await grpcJsRejection(grpcJsUnary(nest.grpcJs, 'unary_unary', { value: 'abc', multiplier: 40 }));
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toBe('multiplier must not be greater than 10');
  });

  it('leaves a request stream typed Observable alone (client streaming, undecorated)', async () => {
    // A short timeout: a stream the pipe swallowed would leave the call waiting.
    await expect(nest.ours.stream_unary([{ value: 'a' }, { value: 'b' }], { timeout: 5000 })).resolves.toEqual({ message: 'a,b', seqno: 2 });
  });

  it('leaves a request stream typed Observable alone (bidi, @Payload() and @GrpcCtx())', async () => {
    const call = nest.grpcJs.stream_stream(new grpc.Metadata(), { deadline: Date.now() + 5000 });
    const done = collect(call);
    call.write({ value: 'z' });
    call.end();
    const { messages, status } = await done;
    expect(status.code).toBe(grpc.status.OK);
    expect(messages).toEqual([{ message: 'z@/nameko.example/stream_stream', seqno: 1 }]);
  });
});

// ---------------------------------------------------------------------------------------------
// Exception filters

class DomainError extends Error {}

@Catch()
class ToGrpcErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    seen.types.push(host.getType());
    const context = host.switchToRpc().getContext<GrpcContext>();
    const text = exception instanceof Error ? exception.message : String(exception);
    return throwError(() => new GrpcError(Status.FAILED_PRECONDITION, `filtered ${text} on ${context.path}`));
  }
}

@Controller()
@GrpcImplementing(exampleStub)
class FilteredController {
  @GrpcMethod()
  @UseFilters(ToGrpcErrorFilter)
  async unary_unary(request: ExampleRequest): Promise<ExampleReply> {
    await Promise.resolve();
    throw new DomainError(`domain trouble with ${request.value}`);
  }

  @GrpcMethod()
  @UseFilters(new ToGrpcErrorFilter())
  unary_stream(request: ExampleRequest): Observable<ExampleReply> {
    return new Observable((subscriber) => {
      subscriber.next({ message: request.value, seqno: 1 });
      subscriber.error(new DomainError('mid-stream trouble'));
    });
  }

  /** No filter of its own: the plain Error stays UNKNOWN with a generic message. */
  @GrpcMethod()
  stream_unary(): ExampleReply {
    throw new DomainError('unfiltered trouble');
  }
}

@Module({ controllers: [FilteredController] })
class FiltersModule {}

describe('exception filters', () => {
  let nest: NestGrpcApp;
  beforeAll(async () => {
    nest = await startNestApp(FiltersModule);
  });
  afterAll(() => nest.close());

  it('a @Catch() filter on a method returning throwError(() => new GrpcError(...)) (grpc-js)', async () => {
    const error = await grpcJsRejection(grpcJsUnary(nest.grpcJs, 'unary_unary', { value: 'X' }));
    expect(error.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(error.details).toBe('filtered domain trouble with X on /nameko.example/unary_unary');
    expect(seen.types).toEqual(['rpc']);
  });

  it('a @Catch() filter on a method returning throwError(() => new GrpcError(...)) (ours)', async () => {
    const error = await rejection(nest.ours.unary_unary({ value: 'Y', multiplier: 1 }));
    expect(error.code).toBe(Status.FAILED_PRECONDITION);
    expect(error.message).toBe('filtered domain trouble with Y on /nameko.example/unary_unary');
    expect(seen.types).toEqual(['rpc']);
  });

  it('a filter instance catches an error raised mid-stream, after a first message', async () => {
    const { messages, status } = await collect(nest.grpcJs.unary_stream({ value: 'm' }));
    expect(messages).toEqual([{ message: 'm', seqno: 1 }]);
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.details).toBe('filtered mid-stream trouble on /nameko.example/unary_stream');
    const received: ExampleReply[] = [];
    const error = await rejection(
      new Promise((resolve, reject) =>
        nest.ours.unary_stream({ value: 'n', multiplier: 1 }).subscribe({ next: (reply: ExampleReply) => received.push(reply), error: reject, complete: resolve }),
      ),
    );
    expect(received).toEqual([{ message: 'n', seqno: 1 }]);
    expect(error.code).toBe(Status.FAILED_PRECONDITION);
    expect(seen.types).toEqual(['rpc', 'rpc']);
  });

  it('a method without a filter is unaffected by the others', async () => {
    const error = await rejection(nest.ours.stream_unary([{ value: 'a' }]));
    expect(error.code).toBe(Status.UNKNOWN);
    expect(error.message).not.toContain('trouble');
    expect(seen.types).toEqual([]);
  });
});

/** The seed's example stub with its message and streaming types spelled out, for client tests that want typed calls. */
import type { MethodDescriptor, ServiceDescriptor } from '../../lib/index.js';
import { type ExampleReply, type ExampleRequest, exampleStub } from './example-service.js';

/** nameko.example's methods as typed descriptors. */
export type TypedExampleMethods = {
  unary_unary: MethodDescriptor<ExampleRequest, ExampleReply, false, false>;
  unary_stream: MethodDescriptor<ExampleRequest, ExampleReply, false, true>;
  stream_unary: MethodDescriptor<ExampleRequest, ExampleReply, true, false>;
  stream_stream: MethodDescriptor<ExampleRequest, ExampleReply, true, true>;
};

/** `exampleStub` (loaded from protos/example.proto), typed. */
export const typedExampleStub = exampleStub as unknown as ServiceDescriptor<TypedExampleMethods>;

/** README, "A Nest client": a provider calling nameko.example through an injected GrpcClient. */
// #region client
import { Injectable, Module } from '@nestjs/common';
import { GrpcClient, GrpcClientModule, InjectGrpcClient } from 'nestjs-grpc-transport';
import { type ExampleReply, exampleStub } from './generated/nameko.js';

@Injectable()
export class Greeter {
  constructor(@InjectGrpcClient(exampleStub) private readonly example: GrpcClient<typeof exampleStub>) {}

  greet(name: string): Promise<ExampleReply> {
    return this.example.unary_unary({ value: name, multiplier: 2 }, { timeout: 5_000 });
  }
}

@Module({
  imports: [
    GrpcClientModule.forRoot({ propagate: { metadata: ['x-request-id', 'authorization'] } }), // shared options, global
    GrpcClientModule.forFeature([{ stub: exampleStub, url: process.env.EXAMPLE_URL ?? 'localhost:50051' }]),
  ],
  providers: [Greeter],
})
export class GreeterModule {}
// #endregion

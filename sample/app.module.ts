/** The sample's server module. */
import { Module } from '@nestjs/common';
import { ExampleController } from './example.controller.js';

/** Serves the example controller. */
@Module({ controllers: [ExampleController] })
export class AppModule {}

/**
 * The README examples import their stubs from `./generated/nameko.js`, where an app's own
 * `nestjs-grpc-transport generate protos/example.proto --out src/generated` puts them; here
 * that is sample/generated (`npm run generate`), re-exported.
 */
export * from '../../generated/nameko.js';

/** The pre-encoded request bytes of a scenario, built once per load-generator process. */
import { gzipSync } from 'node:zlib';
import { type BenchRequest, encodeRequest, frame } from '../common/bench-service.js';
import type { Scenario } from '../scenarios.js';

/** One request message framed as the scenario sends it (gzip-compressed and flagged with `gzip`). */
export function framedRequest(scenario: Scenario, request: BenchRequest = scenario.request()): Buffer {
  const payload = encodeRequest(request);
  return scenario.gzip === true ? frame(gzipSync(payload), true) : frame(payload);
}

/** The whole request body of one call: `messagesPerCall` copies of the framed request. */
export function callBody(scenario: Scenario, request: BenchRequest = scenario.request()): Buffer {
  const one = framedRequest(scenario, request);
  const copies = scenario.messagesPerCall ?? 1;
  return copies === 1 ? one : Buffer.concat(Array.from({ length: copies }, () => one));
}

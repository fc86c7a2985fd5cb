/**
 * Running a call through the client's interceptors.
 */
import type { CallStatus } from '../protocol/headers.js';
import type { CallInfo, Interceptor } from './client-options.js';

/**
 * Calls the interceptors in order around `invoke` (each one's `next` is the rest of the chain)
 * and returns the status the first one settles on. An interceptor that throws, synchronously
 * or not, rejects it with that error.
 */
export function runInterceptors(interceptors: readonly Interceptor[], info: CallInfo, invoke: (info: CallInfo) => Promise<CallStatus>): Promise<CallStatus> {
  const chain = interceptors.reduceRight<(info: CallInfo) => Promise<CallStatus>>((next, interceptor) => (current) => interceptor(current, next), invoke);
  try {
    return Promise.resolve(chain(info));
  } catch (error) {
    return Promise.reject(error);
  }
}

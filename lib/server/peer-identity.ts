/**
 * `peerIdentity`: who is at the other end of a server connection, the address and verified TLS
 * certificate every call on it reports, worked out once per connection.
 */
import type http2 from 'node:http2';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { peerAddress } from './addresses.js';

/** A connection's peer as a call's context shows it. */
export interface PeerIdentity {
  /** `host:port`, IPv6 hosts in brackets; `unknown` when the socket is gone. */
  readonly peer: string;
  /** The client's certificate, only when it chained to the server's `ca`. */
  readonly certificate: PeerCertificate | undefined;
}

const identities = new WeakMap<http2.Http2Session, PeerIdentity>();

function identify(session: http2.Http2Session): PeerIdentity {
  const socket = session.socket;
  // session.socket is a Proxy over the session that forwards property reads to the socket, so
  // `in` does not see the socket's methods: test the property itself. Only a certificate that
  // chained to the configured CA is an identity; an unverified one is not shown.
  const tlsSocket = typeof (socket as Partial<TLSSocket> | undefined)?.getPeerCertificate === 'function' ? (socket as TLSSocket) : undefined;
  const certificate = tlsSocket?.authorized === true ? tlsSocket.getPeerCertificate() : undefined;
  return {
    peer: peerAddress(socket?.remoteAddress, socket?.remotePort),
    certificate: certificate !== undefined && Object.keys(certificate).length > 0 ? certificate : undefined,
  };
}

/**
 * The peer of a server session, read from its socket on the first call and remembered for the
 * session's life (a connection's peer and TLS identity do not change). A session whose socket
 * is already gone is not remembered.
 */
export function peerIdentity(session: http2.Http2Session): PeerIdentity {
  let identity = identities.get(session);
  if (identity === undefined) {
    identity = identify(session);
    if (identity.peer !== 'unknown') identities.set(session, identity);
  }
  return identity;
}

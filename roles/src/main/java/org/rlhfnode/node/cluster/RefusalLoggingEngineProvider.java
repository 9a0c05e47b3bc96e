package org.rlhfnode.node.cluster;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.remote.artery.tcp.SSLEngineProvider;
import org.apache.pekko.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * Pekko's {@link RotatingKeysSSLEngineProvider} (the run's PEM keys, mutual authentication, key rotation:
 * all TLS is Pekko's and the JDK's), plus a log line on the node that refuses a connection. Pekko ends a
 * failed inbound handshake silently (its connection streams log failures at DEBUG at most, and never learn
 * the reason), so a node would never say that something knocked. Here each inbound engine reports its
 * first handshake failure: a peer without a certificate ({@code Empty client certificate chain}), a node
 * of another run (which refuses this run's certificate first: {@code certificate_unknown}), an expired
 * certificate, or bytes that are not TLS at all ({@code Unrecognized SSL message}). Pekko creates server
 * engines with the local address only, so the line names the reason, not the peer. Only failures before the
 * handshake has finished count: a peer of the run that goes away later is not refused.
 *
 * <p>A refused Pekko node retries with back-off on each of its connections, so one reason is logged once
 * per {@link #QUIET} and the refusals in between are counted into the next line. Outbound (client)
 * engines are Pekko's own: a node that is refused logs Pekko's {@code SSLHandshakeException} line.
 */
public final class RefusalLoggingEngineProvider implements SSLEngineProvider {
  /** After logging a reason, further refusals for it are only counted for this long. */
  static final Duration QUIET = Duration.ofMinutes(10);

  private static final Logger LOG = LoggerFactory.getLogger(RefusalLoggingEngineProvider.class);
  /** Per reason: when it was last logged (nanoTime) and how many refusals since. Shared by a JVM's nodes. */
  private static final Map<String, long[]> SEEN = new ConcurrentHashMap<>();

  private final RotatingKeysSSLEngineProvider pekko;

  /** Pekko instantiates the provider reflectively with the actor system. */
  public RefusalLoggingEngineProvider(ActorSystem system) {
    this.pekko = new RotatingKeysSSLEngineProvider(system);
  }

  @Override
  public SSLEngine createServerSSLEngine(String hostname, int port) {
    return new Reporting(pekko.createServerSSLEngine(hostname, port), hostname + ":" + port);
  }

  @Override
  public SSLEngine createClientSSLEngine(String hostname, int port) {
    return pekko.createClientSSLEngine(hostname, port);
  }

  @Override
  public Option<Throwable> verifyClientSession(String hostname, SSLSession session) {
    return pekko.verifyClientSession(hostname, session);
  }

  @Override
  public Option<Throwable> verifyServerSession(String hostname, SSLSession session) {
    return pekko.verifyServerSession(hostname, session);
  }

  /** Logs one refusal for {@code reason}, unless the same reason was logged within {@link #QUIET}. */
  static void refused(String local, String reason) {
    long now = System.nanoTime();
    long[] entry = SEEN.computeIfAbsent(reason, r -> new long[] {now - QUIET.toNanos() - 1, 0});
    long since;
    synchronized (entry) {
      if (now - entry[0] <= QUIET.toNanos()) {
        entry[1]++;
        return;
      }
      since = entry[1];
      entry[0] = now;
      entry[1] = 0;
    }
    LOG.warn("cluster port {}: refused an inbound connection that is not a node of this run ({}){}; the run goes"
        + " on, and this reason is counted, not logged, for the next {} min", local, reason,
        since == 0 ? "" : " - " + since + " more such refusals since the last line", QUIET.toMinutes());
  }

  /** Pekko's server engine, reporting its first handshake failure; every call is forwarded unchanged. */
  private static final class Reporting extends SSLEngine {
    private final SSLEngine engine;
    private final String local;
    private final AtomicBoolean reported = new AtomicBoolean();
    private volatile boolean handshaken; // a failure after the handshake is a connection ending, not a refusal

    Reporting(SSLEngine engine, String local) {
      super(engine.getPeerHost(), engine.getPeerPort());
      this.engine = engine;
      this.local = local;
    }

    private SSLEngineResult seen(SSLEngineResult result) {
      if (result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) {
        handshaken = true;
      }
      return result;
    }

    private SSLException report(SSLException e) {
      if (!handshaken && reported.compareAndSet(false, true)) { // wrap() fails again while sending the alert
        refused(local, e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
      }
      return e;
    }

    @Override
    public SSLEngineResult wrap(ByteBuffer[] srcs, int offset, int length, ByteBuffer dst) throws SSLException {
      try {
        return seen(engine.wrap(srcs, offset, length, dst));
      } catch (SSLException e) {
        throw report(e);
      }
    }

    @Override
    public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts, int offset, int length) throws SSLException {
      try {
        return seen(engine.unwrap(src, dsts, offset, length));
      } catch (SSLException e) {
        throw report(e);
      }
    }

    // the rest only forwards (a peer that hangs up without close_notify is not refused: closeInbound is not watched)

    @Override
    public void closeInbound() throws SSLException {
      engine.closeInbound();
    }

    @Override
    public Runnable getDelegatedTask() {
      return engine.getDelegatedTask();
    }

    @Override
    public boolean isInboundDone() {
      return engine.isInboundDone();
    }

    @Override
    public void closeOutbound() {
      engine.closeOutbound();
    }

    @Override
    public boolean isOutboundDone() {
      return engine.isOutboundDone();
    }

    @Override
    public String[] getSupportedCipherSuites() {
      return engine.getSupportedCipherSuites();
    }

    @Override
    public String[] getEnabledCipherSuites() {
      return engine.getEnabledCipherSuites();
    }

    @Override
    public void setEnabledCipherSuites(String[] suites) {
      engine.setEnabledCipherSuites(suites);
    }

    @Override
    public String[] getSupportedProtocols() {
      return engine.getSupportedProtocols();
    }

    @Override
    public String[] getEnabledProtocols() {
      return engine.getEnabledProtocols();
    }

    @Override
    public void setEnabledProtocols(String[] protocols) {
      engine.setEnabledProtocols(protocols);
    }

    @Override
    public SSLSession getSession() {
      return engine.getSession();
    }

    @Override
    public SSLSession getHandshakeSession() {
      return engine.getHandshakeSession();
    }

    @Override
    public void beginHandshake() throws SSLException {
      engine.beginHandshake();
    }

    @Override
    public SSLEngineResult.HandshakeStatus getHandshakeStatus() {
      return engine.getHandshakeStatus();
    }

    @Override
    public void setUseClientMode(boolean mode) {
      engine.setUseClientMode(mode);
    }

    @Override
    public boolean getUseClientMode() {
      return engine.getUseClientMode();
    }

    @Override
    public void setNeedClientAuth(boolean need) {
      engine.setNeedClientAuth(need);
    }

    @Override
    public boolean getNeedClientAuth() {
      return engine.getNeedClientAuth();
    }

    @Override
    public void setWantClientAuth(boolean want) {
      engine.setWantClientAuth(want);
    }

    @Override
    public boolean getWantClientAuth() {
      return engine.getWantClientAuth();
    }

    @Override
    public void setEnableSessionCreation(boolean flag) {
      engine.setEnableSessionCreation(flag);
    }

    @Override
    public boolean getEnableSessionCreation() {
      return engine.getEnableSessionCreation();
    }

    @Override
    public SSLParameters getSSLParameters() {
      return engine.getSSLParameters();
    }

    @Override
    public void setSSLParameters(SSLParameters params) {
      engine.setSSLParameters(params);
    }

    @Override
    public String getApplicationProtocol() {
      return engine.getApplicationProtocol();
    }

    @Override
    public String getHandshakeApplicationProtocol() {
      return engine.getHandshakeApplicationProtocol();
    }

    @Override
    public void setHandshakeApplicationProtocolSelector(BiFunction<SSLEngine, List<String>, String> selector) {
      engine.setHandshakeApplicationProtocolSelector(selector);
    }

    @Override
    public BiFunction<SSLEngine, List<String>, String> getHandshakeApplicationProtocolSelector() {
      return engine.getHandshakeApplicationProtocolSelector();
    }
  }
}

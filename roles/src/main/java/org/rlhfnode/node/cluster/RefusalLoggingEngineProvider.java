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
 * handshake has finished count: a peer of the run that goes away later is not refused. A node of another
 * run often just hangs up once it has refused this run's certificate; that is reported as such.
 *
 * <p>Outbound engines report too, on the node that is refused, naming the peer that refused it (Pekko
 * only logs a stream failure there). A refused Pekko node retries with back-off on each of its
 * connections, so one reason is logged once per {@link #QUIET} and the failures in between are counted
 * into the next line.
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
    String local = hostname + ":" + port;
    return new Reporting(pekko.createServerSSLEngine(hostname, port), reason -> refused(local, reason));
  }

  @Override
  public SSLEngine createClientSSLEngine(String hostname, int port) {
    String remote = hostname + ":" + port;
    return new Reporting(pekko.createClientSSLEngine(hostname, port), reason -> refusedBy(remote, reason));
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
    long since = firstInQuiet("in " + reason);
    if (since >= 0) {
      LOG.warn("cluster port {}: refused an inbound connection that is not a node of this run ({}){}; the run goes"
          + " on, and this reason is counted, not logged, for the next {} min", local, reason,
          since == 0 ? "" : " - " + since + " more such refusals since the last line", QUIET.toMinutes());
    }
  }

  /** This node's handshake with {@code remote} failed: logged once per peer and reason per {@link #QUIET}. */
  static void refusedBy(String remote, String reason) {
    long since = firstInQuiet("out " + remote + " " + reason);
    if (since >= 0) {
      LOG.error("cluster: the TLS handshake with the node at {} failed ({}){}: one of the two does not hold this"
          + " run's keys (--keys: the same directory from `rlhf-node keys` for every node of a run)", remote,
          reason, since == 0 ? "" : " - " + since + " more failures since the last line");
    }
  }

  /** -1 if {@code key} was logged within {@link #QUIET} (now counted), else how many were counted before. */
  private static long firstInQuiet(String key) {
    long now = System.nanoTime();
    long[] entry = SEEN.computeIfAbsent(key, r -> new long[] {now - QUIET.toNanos() - 1, 0});
    synchronized (entry) {
      if (now - entry[0] <= QUIET.toNanos()) {
        entry[1]++;
        return -1;
      }
      long since = entry[1];
      entry[0] = now;
      entry[1] = 0;
      return since;
    }
  }

  /** Pekko's engine, reporting its first handshake failure; every call is forwarded unchanged. */
  private static final class Reporting extends SSLEngine {
    private final SSLEngine engine;
    private final java.util.function.Consumer<String> reporter;
    private final AtomicBoolean reported = new AtomicBoolean();
    private volatile boolean handshaken; // a failure after the handshake is a connection ending, not a refusal

    Reporting(SSLEngine engine, java.util.function.Consumer<String> reporter) {
      super(engine.getPeerHost(), engine.getPeerPort());
      this.engine = engine;
      this.reporter = reporter;
    }

    private SSLEngineResult seen(SSLEngineResult result) {
      if (result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) {
        handshaken = true;
      }
      return result;
    }

    private SSLException report(SSLException e) {
      if (!handshaken && reported.compareAndSet(false, true)) { // wrap() fails again while sending the alert
        reporter.accept(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
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

    /** A peer that hangs up before the handshake is done (often a node of another run that refused this one). */
    @Override
    public void closeInbound() throws SSLException {
      try {
        engine.closeInbound();
      } catch (SSLException e) {
        if (!handshaken && reported.compareAndSet(false, true)) {
          reporter.accept("the peer hung up during the handshake, e.g. refusing this run's certificate: "
              + e.getMessage());
        }
        throw e;
      }
    }

    // the rest only forwards

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

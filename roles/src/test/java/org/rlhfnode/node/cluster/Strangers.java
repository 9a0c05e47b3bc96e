package org.rlhfnode.node.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.Random;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/** Processes that are not of the run, knocking at a node's ports from the test's JVM. */
final class Strangers {
  private Strangers() {}

  /** Sends 4 KiB of random bytes to 127.0.0.1:{@code port} and hangs up. */
  static void sendGarbage(int port) throws IOException {
    byte[] garbage = new byte[4096];
    new Random(port).nextBytes(garbage);
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.getOutputStream().write(garbage);
      s.getOutputStream().flush();
    }
  }

  /**
   * A TLS client that trusts the run's CA ({@code caCert}) but presents no certificate of its own: returns
   * the error it gets (the node must refuse it), or fails the test if it is let in.
   */
  static String handshakeWithoutCertificate(int port, Path caCert) throws IOException, GeneralSecurityException {
    KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
    trusted.load(null, null);
    try (InputStream in = Files.newInputStream(caCert)) {
      trusted.setCertificateEntry("run-ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trusted);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    try (SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(30_000);
      s.startHandshake(); // TLS 1.3: the server judges the client's (empty) certificate after this returns
      int read = s.getInputStream().read();
      throw new AssertionError("a client without a certificate was let in (read " + read + ")");
    } catch (javax.net.ssl.SSLException e) {
      return e.getMessage();
    }
  }
}

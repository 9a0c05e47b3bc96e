package org.rlhfnode.node.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The credentials of one run's cluster, for Artery's mutual TLS ({@code --secure --keys DIR}): a CA made for
 * this run alone and one node key with its certificate, which every node of the run presents. Files, as
 * Pekko's {@code RotatingKeysSSLEngineProvider} reads them: {@code ca.crt}, {@code tls.crt} (PEM X.509) and
 * {@code tls.key} (PEM PKCS#8), owner-only (0600, the directory 0700). The CA's private key is not kept, so
 * nobody can issue a further certificate of the run. A node of another run has another CA and another
 * subject name, so its handshake fails.
 */
public final class RunKeys {
  public static final String CA_CERT = "ca.crt";
  public static final String CERT = "tls.crt";
  public static final String KEY = "tls.key";
  private static final String SIGNATURE = "SHA256withRSA";

  private RunKeys() {}

  /**
   * Writes a new run's credentials into {@code dir} (created; existing credentials are never overwritten).
   *
   * @param run a name for the run, in the certificates' subject (the nodes' shared SAN)
   * @param validity how long the certificates are valid
   */
  public static void create(Path dir, String run, Duration validity) {
    if (!run.matches("[A-Za-z0-9][A-Za-z0-9.-]*")) {
      throw new IllegalArgumentException("--run '" + run + "': letters, digits, '.' and '-' only");
    }
    for (String f : new String[] {CA_CERT, CERT, KEY}) {
      if (Files.exists(dir.resolve(f))) {
        throw new IllegalArgumentException(dir.resolve(f) + " exists: keys are never overwritten (use a new --output)");
      }
    }
    try {
      SecureRandom random = new SecureRandom();
      KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
      rsa.initialize(3072, random);
      KeyPair ca = rsa.generateKeyPair();
      KeyPair node = rsa.generateKeyPair();
      Instant now = Instant.now();
      Date from = Date.from(now.minus(Duration.ofMinutes(5))); // tolerate clocks a little behind
      Date until = Date.from(now.plus(validity));
      X500Name caName = new X500Name("CN=rlhf-node CA " + run);
      X509Certificate caCert = new JcaX509CertificateConverter().getCertificate(
          new JcaX509v3CertificateBuilder(caName, new BigInteger(128, random), from, until, caName, ca.getPublic())
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
              .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
              .build(new JcaContentSignerBuilder(SIGNATURE).build(ca.getPrivate())));
      String san = "rlhf-node-" + run;
      X509Certificate nodeCert = new JcaX509CertificateConverter().getCertificate(
          new JcaX509v3CertificateBuilder(caName, new BigInteger(128, random), from, until,
              new X500Name("CN=" + san), node.getPublic())
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
              .addExtension(Extension.keyUsage, true,
                  new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
              .addExtension(Extension.extendedKeyUsage, false,
                  new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
              .addExtension(Extension.subjectAlternativeName, false,
                  new GeneralNames(new GeneralName(GeneralName.dNSName, san)))
              .build(new JcaContentSignerBuilder(SIGNATURE).build(ca.getPrivate())));
      Files.createDirectories(dir);
      ownerOnly(dir, "rwx------");
      write(dir.resolve(CA_CERT), "CERTIFICATE", caCert.getEncoded());
      write(dir.resolve(CERT), "CERTIFICATE", nodeCert.getEncoded());
      write(dir.resolve(KEY), "PRIVATE KEY", node.getPrivate().getEncoded()); // PKCS#8
    } catch (GeneralSecurityException | org.bouncycastle.operator.OperatorCreationException e) {
      throw new IllegalStateException("cannot create the run's keys: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the run's keys to " + dir + ": " + e.getMessage(), e);
    }
  }

  private static void write(Path file, String type, byte[] der) throws IOException {
    String pem = "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
        .encodeToString(der) + "\n-----END " + type + "-----\n";
    Files.createFile(file);
    ownerOnly(file, "rw-------");
    Files.writeString(file, pem, StandardCharsets.US_ASCII);
  }

  private static void ownerOnly(Path p, String perms) throws IOException {
    try {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
    } catch (UnsupportedOperationException e) {
      p.toFile().setReadable(false, false); // not POSIX: owner only as far as the file system allows
      p.toFile().setReadable(true, true);
    }
  }

  /**
   * The keys directory a secure node uses, checked: the three files present and readable, the node
   * certificate within its validity and signed by the CA.
   *
   * @param setting how the user named it, for the error ({@code --keys} or {@code rlhf.cluster.keys})
   */
  public static Path check(Path dir, String setting) {
    if (dir == null) {
      throw new IllegalArgumentException("--secure needs --keys DIR (rlhf.cluster.keys): the run's credentials, "
          + "made once per run by `rlhf-node keys --output DIR` and given to every node");
    }
    for (String f : new String[] {CA_CERT, CERT, KEY}) {
      if (!Files.isReadable(dir.resolve(f))) {
        throw new IllegalArgumentException(setting + " " + dir + ": no readable " + f
            + " (make the run's keys with `rlhf-node keys --output DIR`)");
      }
    }
    X509Certificate ca = certificate(dir, CA_CERT, setting);
    X509Certificate cert = certificate(dir, CERT, setting);
    try {
      cert.checkValidity();
    } catch (java.security.cert.CertificateExpiredException e) {
      throw new IllegalArgumentException(setting + " " + dir + ": " + CERT + " expired on " + cert.getNotAfter().toInstant()
          + ", so every node would refuse this one: make new keys (`rlhf-node keys --output DIR`) for every node");
    } catch (java.security.cert.CertificateNotYetValidException e) {
      throw new IllegalArgumentException(setting + " " + dir + ": " + CERT + " is valid only from "
          + cert.getNotBefore().toInstant() + " (is this machine's clock right?)");
    }
    try {
      cert.verify(ca.getPublicKey());
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(setting + " " + dir + ": " + CERT + " is not signed by " + CA_CERT
          + ": the files come from different runs");
    }
    return dir.toAbsolutePath();
  }

  private static X509Certificate certificate(Path dir, String file, String setting) {
    try (java.io.InputStream in = Files.newInputStream(dir.resolve(file))) {
      return (X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
    } catch (IOException | GeneralSecurityException | ClassCastException e) {
      throw new IllegalArgumentException(setting + " " + dir + ": " + file + " is not a PEM X.509 certificate ("
          + e.getMessage() + ")");
    }
  }
}

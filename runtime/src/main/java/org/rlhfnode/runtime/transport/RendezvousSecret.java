package org.rlhfnode.runtime.transport;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.dist.Collectives;

/**
 * The secret of one c10d rendezvous: 256 random bits made by the store's host for each new group, sent to
 * the group's other ranks over the (TLS) cluster connection, never through the store. A {@code TCPStore}
 * has no authentication and lets any client list and rewrite its keys, so a stranger that reaches the store
 * port could take a rank's place in the group. Hence, once the group is formed and before any data moves,
 * every rank {@link #prove proves} it holds the secret: each contributes
 *
 * <pre>
 *   tag_r = HMAC-SHA256(secret, "rlhf-node/rendezvous/v1/" + r + "/" + worldSize)
 * </pre>
 * to an all-gather, and every rank checks every tag. A rank whose tag is wrong is a process that is not of
 * this run; the group is then refused on every rank. The tags are bound to the rank, the group size and a
 * secret used for this group only, so one seen in transit is of no use elsewhere.
 *
 * <p>{@link #toString()} never shows the secret; {@link #hex()} is for the message that carries it.
 */
public final class RendezvousSecret {
  /** Bytes of a challenge and of its answer at a {@link StoreGate}. */
  static final int PROOF_BYTES = 32;
  private static final int BYTES = 32;
  private static final String MAC = "HmacSHA256";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final byte[] key;

  private RendezvousSecret(byte[] key) {
    this.key = key;
  }

  /** A new random secret. */
  public static RendezvousSecret fresh() {
    byte[] key = new byte[BYTES];
    RANDOM.nextBytes(key);
    return new RendezvousSecret(key);
  }

  /** The secret written by {@link #hex()}. */
  public static RendezvousSecret ofHex(String hex) {
    if (hex == null || hex.length() != 2 * BYTES) {
      throw new IllegalArgumentException("a rendezvous secret is " + 2 * BYTES + " hex digits");
    }
    try {
      return new RendezvousSecret(HexFormat.of().parseHex(hex));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("a rendezvous secret is " + 2 * BYTES + " hex digits", e);
    }
  }

  /** The secret as hex, for the cluster message that hands it to a rank; never log it. */
  public String hex() {
    return HexFormat.of().formatHex(key);
  }

  /**
   * Checks, with every rank of {@code group} calling it at once, that every rank holds this secret;
   * throws on every rank if one does not. {@code where} names the group in the message.
   *
   * @throws GlooGroup.GlooException naming the ranks that failed to prove it
   */
  public void prove(Collectives group, String where) {
    int n = group.worldSize();
    byte[] gathered = new byte[BYTES * n];
    try (PointerScope scope = new PointerScope(); PayloadBuffer in = PayloadBuffer.allocate(BYTES);
        PayloadBuffer out = PayloadBuffer.allocate((long) BYTES * n)) {
      in.write(0, ByteBuffer.wrap(tag(group.rank(), n)));
      Tensor send = onDevice(in.tensor(), group);
      Tensor receive = onDevice(out.tensor(), group);
      group.allGather(receive, send); // [n · 32] uint8: rank r's tag at r · 32
      if (receive != out.tensor()) {
        out.tensor().copy_(receive);
      }
      out.read(0, BYTES * n).get(gathered);
    }
    List<Integer> strangers = new ArrayList<>();
    for (int r = 0; r < n; r++) {
      byte[] theirs = java.util.Arrays.copyOfRange(gathered, r * BYTES, (r + 1) * BYTES);
      if (!MessageDigest.isEqual(theirs, tag(r, n))) {
        strangers.add(r);
      }
    }
    if (!strangers.isEmpty()) {
      throw new GlooGroup.GlooException("refused the group at " + where + ": rank(s) " + strangers
          + " did not prove the rendezvous secret (a process that is not of this run joined its store)", null);
    }
  }

  private static Tensor onDevice(Tensor t, Collectives group) {
    return group.device().cuda()
        ? t.to(group.device().torchDevice(), ScalarType.Byte, false, true, new MemoryFormatOptional()) : t;
  }

  /** The answer to a {@link StoreGate}'s {@code challenge}: HMAC(secret, "rlhf-node/store-gate/v1/" ‖ challenge). */
  byte[] answer(byte[] challenge) {
    return mac("rlhf-node/store-gate/v1/", challenge);
  }

  /** Whether {@code answer} is this secret's answer to {@code challenge} (compared in constant time). */
  boolean admits(byte[] challenge, byte[] answer) {
    return MessageDigest.isEqual(answer(challenge), answer);
  }

  private byte[] tag(int rank, int worldSize) {
    return mac("rlhf-node/rendezvous/v1/" + rank + "/" + worldSize, new byte[0]);
  }

  private byte[] mac(String label, byte[] data) {
    try {
      Mac mac = Mac.getInstance(MAC);
      mac.init(new SecretKeySpec(key, MAC));
      mac.update(label.getBytes(StandardCharsets.US_ASCII));
      return mac.doFinal(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM has no " + MAC, e); // every Java SE has it
    }
  }

  @Override
  public String toString() {
    return "RendezvousSecret[hidden]";
  }
}

package org.rlhfnode.messages;

/**
 * Policy trainer → rollout engine: move weight version {@code version} by a libtorch c10d broadcast
 * instead of Artery chunks. The receiver joins process group {@code backend} ({@code "gloo"} on CPU,
 * {@code "nccl"} on GPU) through the TCP store at {@code storeHost}:{@code storePort} as {@code rank} of
 * {@code worldSize} (rank 0 is the trainer), proving there that it holds {@code storeSecret} (the group's
 * rendezvous secret, hex, which travels only in this message: 256 random bits made for this group),
 * receives the payload described by the matching {@link WeightUpdate}, and reports
 * {@link WeightVersionInstalled} as for chunked transfers. {@link #toString()} hides the secret.
 */
public record CollectiveRendezvous(long version, String backend, String storeHost, int storePort, String storeSecret,
    int worldSize, int rank) implements WeightSyncMessage {

  private static final int MAX_PORT = 65_535;

  /** Checks the fields. */
  public CollectiveRendezvous {
    Checks.nonNegative(version, "CollectiveRendezvous", "version");
    if (!"gloo".equals(backend) && !"nccl".equals(backend)) {
      throw new IllegalArgumentException("CollectiveRendezvous.backend must be gloo or nccl, got " + backend);
    }
    Checks.nonBlank(storeHost, "CollectiveRendezvous", "storeHost");
    if (storePort < 1 || storePort > MAX_PORT) {
      throw new IllegalArgumentException("CollectiveRendezvous.storePort " + storePort + " is not a TCP port");
    }
    Checks.rendezvousSecret(storeSecret, "CollectiveRendezvous");
    Checks.positive(worldSize, "CollectiveRendezvous", "worldSize");
    if (rank < 0 || rank >= worldSize) {
      throw new IllegalArgumentException("CollectiveRendezvous.rank " + rank + " is outside [0, " + worldSize + ")");
    }
  }

  @Override
  public String toString() {
    return "CollectiveRendezvous[version=" + version + ", backend=" + backend + ", store=" + storeHost + ":"
        + storePort + ", storeSecret=(hidden), worldSize=" + worldSize + ", rank=" + rank + "]";
  }
}

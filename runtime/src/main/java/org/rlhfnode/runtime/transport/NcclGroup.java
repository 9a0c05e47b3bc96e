package org.rlhfnode.runtime.transport;

import java.time.Duration;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.global.torch_cuda;
import org.bytedeco.pytorch.nccl.ProcessGroupNCCL;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.tensor.DeviceSpec;

/**
 * A c10d group on the NCCL backend: one rank per CUDA device, found through the same {@code TCPStore}
 * rendezvous as {@link GlooGroup}. Collectives take CUDA tensors of the rank's device; NCCL runs them
 * on its own communication streams, ordered after the work queued on the device's current stream, so
 * a collective overlaps the compute that does not depend on it. Needs the {@code gpu} build of the
 * jar ({@code mvn -Pgpu}); on a CPU build constructing one fails with libtorch's message.
 */
public final class NcclGroup implements AutoCloseable {
  private final Store store;
  private final ProcessGroupNCCL group;
  private final int rank;
  private final int worldSize;
  private final int device;

  private NcclGroup(Store store, ProcessGroupNCCL group, int rank, int worldSize, int device) {
    this.store = store;
    this.group = group;
    this.rank = rank;
    this.worldSize = worldSize;
    this.device = device;
  }

  /**
   * Joins as {@code rank} of {@code worldSize} on CUDA device {@code device}; takes ownership of
   * {@code store} (a client from {@link GlooGroup.Host#newClient()} or {@link GlooGroup#storeClient}).
   * Returns only once every rank has proved {@code secret} (see {@link RendezvousSecret}).
   */
  public static NcclGroup connect(Store store, RendezvousSecret secret, int rank, int worldSize, int device,
      Duration timeout) {
    NcclGroup joined;
    try {
      torch_cuda.set_device((byte) device);
      ProcessGroupNCCL.Options options = ProcessGroupNCCL.Options.create();
      options.timeout(new Milliseconds(timeout.toMillis()));
      ProcessGroupNCCL group = new ProcessGroupNCCL(store, rank, worldSize, options);
      group.retainReference();
      joined = new NcclGroup(store, group, rank, worldSize, device);
    } catch (RuntimeException | UnsatisfiedLinkError e) {
      store.releaseReference();
      String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().strip().split("\n")[0];
      throw new GlooGroup.GlooException("NCCL group: rank " + rank + " of " + worldSize + " on cuda:" + device
          + " failed: " + m, e);
    }
    try {
      secret.prove(joined.collectives(), "cuda:" + device + " (rank " + rank + " of " + worldSize + ", NCCL)");
      return joined;
    } catch (RuntimeException e) {
      joined.close();
      throw e;
    }
  }

  /** The collectives over this group, valid until {@link #close()}. */
  public Collectives collectives() {
    return Collectives.over(group, rank, worldSize, DeviceSpec.parse("cuda:" + device));
  }

  @Override
  public void close() {
    group.releaseReference();
    store.releaseReference();
  }
}

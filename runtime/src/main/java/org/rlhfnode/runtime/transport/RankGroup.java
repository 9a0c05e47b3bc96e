package org.rlhfnode.runtime.transport;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.rlhfnode.runtime.dist.Collectives;

/**
 * N ranks in this JVM, one thread each, joined in a Gloo group through a {@code TCPStore} on
 * 127.0.0.1: how a role uses the N devices of one node's group (one thread per device), and how
 * every multi-rank path is tested on CPU. With one rank the body runs on the calling thread over
 * {@link Collectives#single()}.
 */
public final class RankGroup {
  private RankGroup() {}

  /** What each rank runs; it may use the collectives only on its own thread. */
  @FunctionalInterface
  public interface Body<T> {
    T run(Collectives collectives) throws Exception;
  }

  /** A rank's failure, carrying the rank's own exception as the cause. */
  public static final class RankFailedException extends RuntimeException {
    RankFailedException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Runs {@code body} on {@code ranks} threads and returns their results in rank order.
   *
   * @param timeout bound on forming the group and on every collective
   * @throws RankFailedException the first rank's failure that is not merely another rank having gone
   *     (a failed collective), with that rank's message
   */
  public static <T> List<T> run(int ranks, Duration timeout, String name, Body<T> body) {
    return run(ranks, null, timeout, name, body);
  }

  /**
   * Runs {@code body} on one thread per CUDA device of {@code devices} over an NCCL group (rank r on
   * {@code cuda:devices[r]}); results in rank order.
   */
  public static <T> List<T> runNccl(List<Integer> devices, Duration timeout, String name, Body<T> body) {
    return run(devices.size(), devices, timeout, name, body);
  }

  private static <T> List<T> run(int ranks, List<Integer> cudaDevices, Duration timeout, String name, Body<T> body) {
    if (ranks < 1) {
      throw new IllegalArgumentException("--ranks must be >= 1, got " + ranks);
    }
    if (ranks == 1 && cudaDevices == null) {
      try {
        return List.of(body.run(Collectives.single()));
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new RankFailedException(e.getMessage(), e);
      }
    }
    AtomicReferenceArray<Object> results = new AtomicReferenceArray<>(ranks);
    AtomicReferenceArray<Throwable> failures = new AtomicReferenceArray<>(ranks);
    List<Thread> threads = new ArrayList<>();
    try (GlooGroup.Host host = GlooGroup.Host.listen("127.0.0.1", 0, timeout)) {
      for (int r = 0; r < ranks; r++) {
        int rank = r;
        Thread t = new Thread(() -> {
          try {
            if (cudaDevices == null) {
              try (GlooGroup group = rank == 0 ? host.form(ranks)
                  : GlooGroup.join(host.host(), host.port(), ranks, rank, timeout)) {
                results.set(rank, body.run(group.collectives()));
              }
            } else {
              org.bytedeco.pytorch.Store store = rank == 0 ? host.newClient()
                  : GlooGroup.storeClient(host.host(), host.port(), timeout);
              try (NcclGroup group = NcclGroup.connect(store, rank, ranks, cudaDevices.get(rank), timeout)) {
                results.set(rank, body.run(group.collectives()));
              }
            }
          } catch (Throwable e) {
            failures.set(rank, e);
            host.close(); // ranks still joining through the store fail at once instead of at the timeout
          }
        }, name + "-rank-" + r);
        threads.add(t);
        t.start();
      }
      for (Thread t : threads) {
        t.join();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      threads.forEach(Thread::interrupt);
      throw new RankFailedException(name + ": interrupted while waiting for the ranks", e);
    }
    rethrowFirst(failures, name);
    List<T> out = new ArrayList<>();
    for (int r = 0; r < ranks; r++) {
      @SuppressWarnings("unchecked")
      T value = (T) results.get(r);
      out.add(value);
    }
    return out;
  }

  /** Prefers a rank's own error over the collective failures it caused on the others. */
  private static void rethrowFirst(AtomicReferenceArray<Throwable> failures, String name) {
    Throwable first = null;
    int firstRank = -1;
    for (int r = 0; r < failures.length(); r++) {
      Throwable e = failures.get(r);
      if (e != null && (first == null || (isSecondary(first) && !isSecondary(e)))) {
        first = e;
        firstRank = r;
      }
    }
    if (first instanceof RuntimeException re && firstRank == 0) {
      throw re; // rank 0's own error reads as the single-rank run's would
    }
    if (first != null) {
      throw new RankFailedException(name + " rank " + firstRank + ": " + first.getMessage(), first);
    }
  }

  private static boolean isSecondary(Throwable e) {
    return e instanceof Collectives.CollectiveException || e instanceof GlooGroup.GlooException;
  }
}
